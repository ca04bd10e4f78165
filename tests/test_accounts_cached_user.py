"""The user and their permissions come from the cache, and every change reaches it at once:
a role taken away, a group's permissions changed, a deactivated account, a logout."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from dashboard.accounts.roles import OPERATOR, SUPPORT, ensure_role


@pytest.fixture
def operator(user_factory):
    return user_factory(OPERATOR)


@pytest.fixture
def logged_in(client, operator):
    client.force_login(operator)
    assert client.get("/status/").status_code == 403  # loads and caches the user
    return client


def test_a_known_user_costs_no_query(logged_in, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = logged_in.get("/actions/live/?ids=junk")
    assert response.status_code == 400  # past the session, the user and the permission check


def test_a_role_taken_away_counts_at_once(logged_in, operator):
    assert logged_in.get("/actions/live/?ids=junk").status_code == 400  # may view actions
    operator.groups.clear()
    assert logged_in.get("/actions/live/?ids=junk").status_code == 403


def test_a_role_given_counts_at_once(logged_in, operator):
    operator.groups.add(ensure_role(SUPPORT))
    operator.groups.remove(Group.objects.get(name=OPERATOR))
    operator.groups.add(ensure_role("auditor"))
    assert logged_in.get("/status/").status_code == 200


def test_a_groups_permissions_changed_count_at_once(logged_in):
    view_actions = Permission.objects.get(codename="view_actions")
    Group.objects.get(name=OPERATOR).permissions.remove(view_actions)
    assert logged_in.get("/actions/live/?ids=junk").status_code == 403


def test_a_deactivated_account_is_logged_out(logged_in, operator):
    operator.is_active = False
    operator.save()
    response = logged_in.get("/actions/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_logout_drops_the_cached_user(logged_in, operator):
    from django.core.cache import cache

    from dashboard.accounts.backends import user_key

    assert cache.get(user_key(operator.pk)) is not None
    logged_in.post("/accounts/logout/")
    assert cache.get(user_key(operator.pk)) is None


@pytest.fixture
def cold_cache():
    from django.core.cache import cache

    from dashboard import hot

    def clear() -> None:
        cache.clear()
        hot.clear()

    return clear


def test_a_user_the_cache_does_not_know_costs_one_query_for_all_their_permissions(
    logged_in, cold_cache, django_assert_num_queries
):
    cold_cache()
    # The session, the user, and their own and their groups' permissions at once.
    with django_assert_num_queries(3):
        response = logged_in.get("/actions/live/?ids=junk")
    assert response.status_code == 400


def permission_sets(backend, user) -> tuple[set[str], set[str], set[str]]:
    return (backend.get_user_permissions(user), backend.get_group_permissions(user),
            backend.get_all_permissions(user))


@pytest.mark.parametrize("kind", ["grouped", "own and grouped", "none", "superuser"])
def test_permissions_read_at_once_are_those_django_reads(
    kind, user_factory, cold_cache, django_user_model
):
    from django.contrib.auth.backends import ModelBackend

    from dashboard.accounts.backends import CachedModelBackend

    user = user_factory(None if kind == "none" else SUPPORT, f"perm-{kind.replace(' ', '-')}")
    if kind == "own and grouped":
        user.user_permissions.add(*Permission.objects.filter(codename__startswith="view_")[:3])
    user.is_superuser = kind == "superuser"
    user.save()
    cold_cache()
    cached = CachedModelBackend().get_user(user.pk)
    expected = permission_sets(ModelBackend(), django_user_model.objects.get(pk=user.pk))
    assert permission_sets(CachedModelBackend(), cached) == expected
    assert kind == "none" or expected[2]
