"""The logged-in user and their permissions from Django's cache, so a poll reads no database.

ModelBackend reads the user (one query) on every request and their permissions (two more) on
the first has_perm(). CachedModelBackend keeps the user, permissions included, in the cache for
USER_CACHE_SECONDS, and reads both sets of permissions in one query when the cache has not.
Logout, a save or deletion of the user, and a change of their groups or permissions drop their
entry at once; a change of a group's permissions (or of a permission) bumps a generation that
every entry carries, dropping them all. The TTL only bounds how long a change made around the
ORM (raw SQL) goes unseen. When the cache fails, or while Redis is away
(each process's stand-in memory would not see another's changes), the database answers.

In front of the cache, each process keeps the user a moment in its poll memory
(dashboard/hot.py, POLL_MEMORY_SECONDS at most; each request gets its own copy), so a
poll makes no round trip for it: a change made in this process drops it at once, one made in
another process counts here when the memory ends (half a second by default).
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model, user_logged_out
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connections, router
from django.db.models.signals import m2m_changed, post_delete, post_save

from dashboard import hot, sharedcache
from dashboard.counters import bump

logger = logging.getLogger(__name__)

GENERATION_KEY = "accounts:users-generation"


def user_key(user_id: object) -> str:
    return f"accounts:user:{user_id}"


class CachedModelBackend(ModelBackend):
    """ModelBackend whose get_user() is served from the cache, permissions included."""

    def get_user(self, user_id):
        key = user_key(user_id)
        remembered = hot.get(key)
        if remembered is not None:
            return copy.copy(remembered)  # its own copy: requests may set attributes on it
        user = self._shared_user(user_id, key)
        if user is not None:
            hot.put(key, copy.copy(user))
        return user

    def _shared_user(self, user_id, key: str):
        if sharedcache.degraded():
            return super().get_user(user_id)
        try:
            found = cache.get_many([GENERATION_KEY, key])
        except Exception:  # the cache being down must not log anybody out
            logger.warning("Reading the user from the cache failed.", exc_info=True)
            return super().get_user(user_id)
        generation = found.get(GENERATION_KEY, 0)
        entry = found.get(key)
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == generation:
            return entry[1]
        user = super().get_user(user_id)
        if user is not None:
            self._read_permissions(user)  # pickled along
            try:
                cache.set(key, (generation, user), settings.USER_CACHE_SECONDS)
            except Exception:
                logger.warning("Keeping the user in the cache failed.", exc_info=True)
        return user

    def _read_permissions(self, user) -> None:
        """The user's own and their groups' permissions in one query, not ModelBackend's two,
        kept where ModelBackend keeps them, so that has_perm() asks nothing more."""
        if user.is_superuser or not user.is_active or user.is_anonymous:
            self.get_all_permissions(user)  # every permission, or none: ModelBackend's answer
            return
        database = router.db_for_read(Permission)
        with connections[database].cursor() as cursor:
            cursor.execute(_permissions_sql(database), [user.pk, user.pk])
            rows = cursor.fetchall()
        # ModelBackend's own cache attributes (django/contrib/auth/backends.py): with them set
        # it reads nothing (test_accounts_cached_user.py counts the queries).
        user._user_perm_cache = {f"{app}.{codename}" for own, app, codename in rows if own}
        user._group_perm_cache = {f"{app}.{codename}" for own, app, codename in rows if not own}
        self.get_all_permissions(user)


@functools.cache
def _permissions_sql(database: str) -> str:
    """(own, app label, codename) of a user's permissions: given them (own = 1) and their
    groups' (own = 0), the rows of ModelBackend's two queries, in one."""
    quote = connections[database].ops.quote_name

    def column(model, field: str) -> str:
        return f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(field).column)}"

    def m2m(field) -> tuple[str, str, str]:  # the table, its column of this side, of the other
        table = quote(field.m2m_db_table())
        return (table, f"{table}.{quote(field.m2m_column_name())}",
                f"{table}.{quote(field.m2m_reverse_name())}")

    content_type = Permission._meta.get_field("content_type").related_model
    user_model = get_user_model()
    own, own_user, own_permission = m2m(user_model._meta.get_field("user_permissions"))
    granted, granted_group, granted_permission = m2m(Group._meta.get_field("permissions"))
    member, member_user, member_group = m2m(user_model._meta.get_field("groups"))
    names = (f"{column(content_type, 'app_label')}, {column(Permission, 'codename')}"
             f" FROM {quote(Permission._meta.db_table)} JOIN {quote(content_type._meta.db_table)}"
             f" ON {column(content_type, 'id')} = {column(Permission, 'content_type')}")
    return (f"SELECT 1, {names} JOIN {own} ON {own_permission} = {column(Permission, 'id')}"
            f" WHERE {own_user} = %s"
            f" UNION ALL SELECT 0, {names}"
            f" JOIN {granted} ON {granted_permission} = {column(Permission, 'id')}"
            f" JOIN {member} ON {member_group} = {granted_group} WHERE {member_user} = %s")


# Called whenever a user's sign-in or permissions change in this process: what a layer above
# remembers about sessions (dashboard/quick_polls.py) is forgotten with the user.
_forget_observers: list[Callable[[], None]] = []


def add_forget_observer(observer: Callable[[], None]) -> None:
    if observer not in _forget_observers:
        _forget_observers.append(observer)


def forget_sessions() -> None:
    for observer in _forget_observers:
        observer()


def forget_user(user_id: object) -> None:
    forget_sessions()  # which sessions are that user's, the observers do not know
    hot.forget([user_key(user_id)])
    try:
        cache.delete(user_key(user_id))
    except Exception:  # the entry then ends with its TTL
        logger.warning("Dropping the cached user failed.", exc_info=True)


def forget_all_users() -> None:
    forget_sessions()
    hot.forget_prefix(user_key(""))
    try:
        bump(GENERATION_KEY, None)
    except Exception:
        logger.warning("Dropping the cached users failed.", exc_info=True)


def _user_changed(sender, instance, **kwargs) -> None:
    forget_user(instance.pk)


def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        forget_user(user.pk)


def _memberships_changed(sender, instance, reverse, pk_set, **kwargs) -> None:
    """A user's groups or own permissions: drop that user (or, from the other side, all)."""
    if not reverse:
        forget_user(instance.pk)
    else:
        forget_all_users()


def _everyone_changed(sender, **kwargs) -> None:
    forget_all_users()


def connect_invalidation() -> None:
    """Called from AccountsConfig.ready()."""
    user_model = get_user_model()
    post_save.connect(_user_changed, sender=user_model, dispatch_uid="accounts-user-saved")
    post_delete.connect(_user_changed, sender=user_model, dispatch_uid="accounts-user-deleted")
    user_logged_out.connect(_logged_out, dispatch_uid="accounts-user-logged-out")
    for through in (user_model.groups.through, user_model.user_permissions.through):
        m2m_changed.connect(_memberships_changed, sender=through,
                            dispatch_uid=f"accounts-{through.__name__}")
    m2m_changed.connect(_everyone_changed, sender=Group.permissions.through,
                        dispatch_uid="accounts-group-permissions")
    for model in (Group, Permission):
        for signal in (post_save, post_delete):
            signal.connect(_everyone_changed, sender=model,
                           dispatch_uid=f"accounts-{model.__name__}-{signal is post_save}")
