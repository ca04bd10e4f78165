"""Roles are groups with permissions from the data migration; demo users for each role."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from dashboard.accounts.management.commands.demo_users import DEMO_USERS
from dashboard.accounts.roles import ROLE_CODENAMES, ensure_role

ALL_PERMISSIONS = {
    "accounts.view_actions",
    "accounts.view_failed_rows",
    "accounts.export_failures",
    "accounts.view_purge_audit",
    "accounts.view_status",
    "accounts.view_export_log",
    "accounts.start_sync",
}
EXPECTED = {
    "operator": {"accounts.view_actions"},
    "support": {
        "accounts.view_actions",
        "accounts.view_failed_rows",
        "accounts.export_failures",
        "accounts.start_sync",
    },
    "auditor": ALL_PERMISSIONS,
    None: set(),
    "admin": ALL_PERMISSIONS,
}

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["operator", "support", "auditor"])
def test_migration_creates_each_role_with_its_permissions(role):
    group = Group.objects.get(name=role)
    codenames = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
    assert codenames == EXPECTED[role]
    assert codenames == {f"accounts.{c}" for c in ROLE_CODENAMES[role]}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_users_have_exactly_their_roles_permissions(user_factory, role):
    user = user_factory(role)
    granted = {perm for perm in ALL_PERMISSIONS if user.has_perm(perm)}
    assert granted == EXPECTED[role]


def test_ensure_role_restores_a_deleted_group():
    Group.objects.filter(name="support").delete()
    group = ensure_role("support")
    assert {p.codename for p in group.permissions.all()} == set(ROLE_CODENAMES["support"])


def test_demo_users_refuses_to_run_with_debug_off(settings, django_user_model):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("demo_users")
    assert not django_user_model.objects.exists()


def test_demo_users_creates_one_user_per_role_and_an_admin(settings, django_user_model, capsys):
    settings.DEBUG = True
    call_command("demo_users")
    printed = capsys.readouterr().out
    for username, password in DEMO_USERS.items():
        user = django_user_model.objects.get(username=username)
        assert user.check_password(password)
        assert username in printed and password in printed
    assert django_user_model.objects.get(username="admin").is_superuser
    support = django_user_model.objects.get(username="support")
    assert support.has_perm("accounts.export_failures")
    assert not support.has_perm("accounts.view_export_log")


def test_demo_users_is_idempotent_and_keeps_changed_passwords(django_user_model, capsys):
    call_command("demo_users", "--force")
    operator = django_user_model.objects.get(username="operator")
    operator.set_password("changed-by-the-operator-123")
    operator.save()
    call_command("demo_users", "--force")
    assert django_user_model.objects.count() == len(DEMO_USERS)
    operator.refresh_from_db()
    assert operator.check_password("changed-by-the-operator-123")
    lines = capsys.readouterr().out.splitlines()
    operator_line = [line for line in lines if line.startswith("operator")][-1]
    support_line = [line for line in lines if line.startswith("support")][-1]
    # The printed demo password no longer works for operator: say so rather than mislead.
    assert "no longer works" in operator_line
    assert "no longer works" not in support_line
