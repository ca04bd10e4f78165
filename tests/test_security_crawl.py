"""Every URL pattern, walked from the resolver: login wall, role matrix, security headers.

A new URL pattern fails `test_every_url_is_in_the_role_matrix` until it is added to MATRIX,
so no view ships without a decision on who may see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter

ACTION = "aa_0c0000000000005ec1"  # inserted by the `action` fixture, with one failed row
LOGIN = "/accounts/login/"
ROLES = ["operator", "support", "auditor", "admin", None]
# Views anyone may reach: the login form, probes and the token-protected metrics scrape.
OPEN = {"login", "healthz", "readyz", "metrics"}


@dataclass(frozen=True)
class Rule:
    permission: str | None  # None: any logged-in user
    ok: int = 200
    headers: dict = field(default_factory=dict)
    query: str = ""
    method: str = "get"


HTMX = {"HTTP_HX_REQUEST": "true"}
MATRIX = {
    "home": Rule(None, ok=302),
    "logout": Rule(None, ok=302, method="post"),
    "password_change": Rule(None),
    "password_change_done": Rule(None),
    "actions:list": Rule("view_actions"),
    "actions:live": Rule("view_actions", ok=286, query=f"ids={ACTION}"),
    "actions:new": Rule("view_actions", query=f"after={ACTION}"),
    "actions:detail": Rule("view_actions"),
    "actions:failures": Rule("view_failed_rows", headers=HTMX),
    "actions:failures_csv": Rule("export_failures"),
    "actions:save_view": Rule("view_actions", ok=302, method="post"),  # no name: back, told why
    "actions:delete_view": Rule("view_actions", ok=404, method="post"),  # nobody's view 1
    "status": Rule("view_status"),
    "audit:exports": Rule("view_export_log"),
    "history:overview": Rule("view_actions"),
    "history:purges": Rule("view_purge_audit"),
    "history:purges_csv": Rule("view_purge_audit"),
    "alerts:index": Rule("view_actions"),
    "alerts:history": Rule("view_actions"),
    "alerts:subscribe": Rule("view_actions", ok=400, method="post"),  # empty form: errors
    "alerts:remove": Rule("view_actions", ok=404, method="post"),  # no subscription 1
    "history:purge_keys": Rule("view_purge_audit"),
    "history:purge_backfill": Rule("view_purge_audit", ok=286),  # none running: stop polling
    "history:purge_backfill_start": Rule("view_purge_audit", ok=405),  # POST only
    "actions:history_sync": Rule("view_actions", ok=286),  # none running: stop polling
    "actions:history_sync_start": Rule("start_sync", ok=405),  # POST only
    "history:purge_note": Rule("view_purge_audit", ok=404),  # ACTION is no purge
}
ROLE_PERMISSIONS = {
    "operator": {"view_actions"},
    "support": {"view_actions", "view_failed_rows", "export_failures", "start_sync"},
    "auditor": {"view_actions", "view_failed_rows", "export_failures", "view_purge_audit",
                "view_status", "view_export_log", "start_sync"},
    None: set(),
}


def walk(patterns=None, namespace: str | None = None):
    """(qualified name, pattern) for every URL pattern, depth first."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace])) or None
            yield from walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            assert entry.name, f"{entry.pattern} has no name: name it so it can be tested"
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


def sample_url(name: str, pattern: URLPattern) -> str:
    """The pattern's URL with a valid-looking value for each path parameter."""
    converters = getattr(pattern.pattern, "converters", {})
    params = {key: 1 if isinstance(converters.get(key), IntConverter) else ACTION
              for key in pattern.pattern.regex.groupindex}
    return reverse(name, kwargs=params)


PATTERNS = dict(walk())
URLS = {name: sample_url(name, pattern) for name, pattern in PATTERNS.items()}
GUARDED = sorted(name for name in URLS if name not in OPEN)


def is_open(pattern: URLPattern) -> bool:
    return getattr(pattern.callback, "login_required", True) is False


@pytest.fixture
def action(emulator):
    emulator.insert_action({
        "id": ACTION, "type": "CUSTOMERS.IMPORT_CSV", "status": "DONE", "progress": 100,
        "created_at": "2024-05-01T10:00:00Z",
        "result": {"failed": [{"source_id": "a@example.com", "row": 1, "reason": "Bad email"}],
                   "failed_count": 1, "done_count": 3},
    })
    return ACTION


def request(client, name: str):
    rule = MATRIX.get(name, Rule(None))
    url = URLS[name] + (f"?{rule.query}" if rule.query else "")
    return getattr(client, rule.method)(url, **rule.headers)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_only_the_expected_views_are_open():
    assert {name for name, pattern in PATTERNS.items() if is_open(pattern)} == OPEN


def test_every_url_is_in_the_role_matrix():
    assert set(GUARDED) == set(MATRIX), "add new URLs to MATRIX with the permission they need"


@pytest.mark.django_db
@pytest.mark.parametrize("name", GUARDED)
def test_unauthenticated_requests_are_sent_to_login(client, name):
    url = URLS[name]
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith(f"{LOGIN}?next="), (method, url)


@pytest.mark.django_db
@pytest.mark.parametrize("name", GUARDED)
def test_unauthenticated_htmx_requests_get_401_and_a_redirect(client, name):
    response = client.get(URLS[name], HTTP_HX_REQUEST="true")
    assert response.status_code == 401
    assert response["HX-Redirect"].startswith(f"{LOGIN}?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(OPEN))
def test_open_views_answer_without_a_login(client, name):
    assert client.get(URLS[name]).status_code in {200, 404, 401, 503}


def expected_status(name: str, role: str | None) -> int:
    rule = MATRIX[name]
    allowed = (
        rule.permission is None
        or role == "admin"
        or rule.permission in ROLE_PERMISSIONS[role]
    )
    return rule.ok if allowed else 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "no-role")
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_role_matrix(client_for, action, name, role):
    response = request(client_for(role), name)
    assert response.status_code == expected_status(name, role)
    if response.status_code == 403:
        assert b"does not have access" in response.content


@pytest.mark.django_db
def test_every_page_carries_the_security_headers(superuser_client, action, settings):
    for name in sorted(URLS):
        response = request(superuser_client, name)
        policy = response.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy and "unsafe" not in policy, name
        assert "frame-ancestors 'none'" in policy, name
        assert response["X-Frame-Options"] == "DENY", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] == "same-origin", name


@pytest.mark.django_db
def test_no_page_or_log_line_shows_a_secret(superuser_client, action, settings, emulator,
                                            caplog):
    secrets = [settings.SECRET_KEY, emulator.app_token]
    caplog.set_level("DEBUG")
    for name in sorted(URLS):
        content = body(request(superuser_client, name)).decode("utf-8", "replace")
        for secret in secrets:
            assert secret not in content, name
    assert caplog.records, "nothing was logged: the check below would prove nothing"
    for secret in secrets:
        assert secret not in caplog.text
