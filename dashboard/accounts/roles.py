"""The roles (Django groups) and what each may do; the data migration creates them."""

from __future__ import annotations

import re

OPERATOR = "operator"
SUPPORT = "support"
AUDITOR = "auditor"
ROLES = (OPERATOR, SUPPORT, AUDITOR)

# Permission codenames in the "accounts" app, as "accounts.<codename>" for has_perm().
VIEW_ACTIONS = "accounts.view_actions"
VIEW_FAILED_ROWS = "accounts.view_failed_rows"
EXPORT_FAILURES = "accounts.export_failures"
VIEW_PURGE_AUDIT = "accounts.view_purge_audit"
VIEW_STATUS = "accounts.view_status"
VIEW_EXPORT_LOG = "accounts.view_export_log"
START_SYNC = "accounts.start_sync"

# What each role may do; roles are cumulative. Migration 0002 holds a frozen copy.
ROLE_CODENAMES = {
    OPERATOR: ["view_actions"],
    SUPPORT: ["view_actions", "view_failed_rows", "export_failures", "start_sync"],
    AUDITOR: [
        "view_actions",
        "view_failed_rows",
        "export_failures",
        "start_sync",
        "view_purge_audit",
        "view_status",
        "view_export_log",
    ],
}


# What each role may open, for the 403 page: the lowest role a page needs, by its path.
ROLE_DUTIES = {
    OPERATOR: "the actions list, each action's page and the overview",
    SUPPORT: ("also the failed rows of an action and their CSV export, and reading missing "
              "history from Voucherify from the actions list"),
    AUDITOR: "also the purge audit, the export log and the status page",
}
_PATH_ROLES = (
    (re.compile(r"^/actions/[^/]+/failures"), SUPPORT),
    (re.compile(r"^/(audit|status)/"), AUDITOR),
    (re.compile(r"^/(actions|overview)/"), OPERATOR),
)


def role_for_path(path: str) -> str | None:
    """The lowest role that opens `path`, when a role does (admin pages need a superuser)."""
    return next((role for pattern, role in _PATH_ROLES if pattern.match(path)), None)


def ensure_role(role: str):
    """The role's group with exactly its permissions (after a test flush, groups are gone)."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from dashboard.accounts.models import Access

    content_type = ContentType.objects.get_for_model(Access, for_concrete_model=False)
    names = dict(Access._meta.permissions)
    permissions = [
        Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": names[codename]}
        )[0]
        for codename in ROLE_CODENAMES[role]
    ]
    group, _ = Group.objects.get_or_create(name=role)
    group.permissions.set(permissions)
    return group
