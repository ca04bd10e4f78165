"""ARCHIVE_RETENTION_DAYS: a batched prune that keeps the rollups and the covered range true,
so the archive-served list never claims a range it no longer holds."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command

from dashboard import hot
from dashboard.history import prune as prune_module
from dashboard.history import rollups
from dashboard.history.archive import archive_action, archive_actions
from dashboard.history.management.commands import prune_archive as prune_archive_command
from dashboard.history.models import ArchivedAction, SyncState
from dashboard.history.prune import prune, retention_cutoff
from dashboard.history.query import archived_matches
from dashboard.history.state import acquire_lock, release_lock
from dashboard.polling import economy, store
from dashboard.voucherify.cursor import Cursor
from dashboard.voucherify.models import Action
from tests.helpers.upstream import finish_action, run_sync
from tests.test_history_rollups import generated, list_item, recounted, snapshot

pytestmark = pytest.mark.django_db


def fill(count: int = 300, days: int = 40) -> list[Action]:
    bodies = generated(count, seed=21, days=days)
    for body in bodies[: count // 3]:
        archive_action(Action.from_json(body))
    archive_actions([Action.from_json(list_item(b)) for b in bodies[count // 3:]])
    return [Action.from_json(b) for b in bodies]


def covered_to_the_bottom(actions: list[Action]) -> None:
    SyncState.objects.update_or_create(pk=SyncState.SINGLETON, defaults={
        "covered_to": max(a.created_at for a in actions), "bottom_reached": True,
        "covered_from": min(a.created_at for a in actions)})


def test_without_a_retention_setting_nothing_is_pruned(settings):
    settings.ARCHIVE_RETENTION_DAYS = 0
    fill(60)
    assert retention_cutoff() is None
    assert prune().deleted == 0 and ArchivedAction.objects.count() == 60


def test_prune_deletes_what_is_older_in_batches_and_the_rollups_follow(settings):
    settings.ARCHIVE_RETENTION_DAYS = 20
    today = datetime.now(UTC).date()
    rollups.roll_window(today)
    actions = fill()
    now = datetime.now(UTC)
    cutoff = now - timedelta(days=20)
    older = {a.id for a in actions if a.created_at <= cutoff}
    assert 20 < len(older) < len(actions)  # the generated history straddles the cutoff

    pruned = prune(now, batch=7)

    assert pruned.deleted == len(older) and pruned.cutoff == cutoff
    kept = set(ArchivedAction.objects.values_list("pk", flat=True))
    assert kept == {a.id for a in actions} - older
    after = snapshot()
    assert sum(row[-1] for row in after[0]) == len(kept)
    assert after == recounted(today)


def test_prune_moves_the_covered_range_so_the_list_never_claims_a_pruned_range(settings):
    settings.ARCHIVE_RETENTION_DAYS = 20
    actions = fill()
    covered_to_the_bottom(actions)
    now = datetime.now(UTC)
    below = Cursor(before=now - timedelta(days=25))
    assert archived_matches(context=None, type=None, status=None, before=below, limit=5)

    prune(now)

    state = SyncState.load()
    cutoff = now - timedelta(days=20)
    assert state.covered_from == cutoff and not state.bottom_reached
    assert state.resume_cursor == ""
    assert archived_matches(context=None, type=None, status=None, before=below, limit=5) is None
    # Above the cutoff the archive still answers, and only with what it holds.
    above = Cursor(before=now - timedelta(days=2))
    answer = archived_matches(context=None, type=None, status=None, before=above, limit=10)
    assert answer is not None and len(answer.rows) == 10
    assert all(row.created_at > cutoff for row in answer.rows)
    # A filter with fewer matches than asked above the cutoff no longer claims the bottom.
    rare = archived_matches(context="METADATA_KEY_PURGE", type=None, status="FAILED",
                            before=above, limit=100)
    assert rare is None


def test_a_covered_range_entirely_below_the_cutoff_is_forgotten(settings):
    settings.ARCHIVE_RETENTION_DAYS = 5
    actions = [a for a in fill() if a.created_at < datetime.now(UTC) - timedelta(days=6)]
    covered_to_the_bottom(actions)
    prune()
    state = SyncState.load()
    assert state.covered_to is None and state.covered_from is None
    assert not state.bottom_reached


def test_the_sync_walks_no_further_back_than_retention_and_the_command_prunes(archive, settings):
    settings.ARCHIVE_RETENTION_DAYS = 20
    run_sync()
    cutoff = retention_cutoff()
    assert not SyncState.load().bottom_reached  # it stopped at the cutoff, not at the bottom
    # The last page read may reach below the cutoff; never a whole page more.
    assert ArchivedAction.objects.filter(created_at__lte=cutoff).count() < 100

    out = io.StringIO()
    call_command("prune_archive", stdout=out)
    assert "pruned" in out.getvalue()
    assert not ArchivedAction.objects.filter(created_at__lte=retention_cutoff()).exists()
    assert SyncState.load().covered_from >= cutoff


def test_a_prune_below_a_stuck_runner_keeps_the_range_from_reaching_past_the_cutoff(
        archive, stuck_deep, settings):
    run_sync(max_calls=1)
    run_sync()  # the older walk reads on past the runner down to the bottom
    settings.ARCHIVE_RETENTION_DAYS = 40
    now = datetime.now(UTC)
    prune(now)
    finish_action(archive, stuck_deep)
    run_sync()  # reads the runner again, finished: the range closes over it, to the cutoff
    state = SyncState.load()
    assert ArchivedAction.objects.filter(pk=stuck_deep).exists()
    assert not state.bottom_reached and state.covered_from >= now - timedelta(days=40)
    below = Cursor(before=now - timedelta(days=45))
    assert archived_matches(context=None, type=None, status=None, before=below, limit=5) is None


def test_prune_archive_waits_for_a_running_sync(settings):
    settings.ARCHIVE_RETENTION_DAYS = 20
    fill(60)
    assert acquire_lock("a sync")
    try:
        with pytest.raises(Exception, match="holds the archive's lock"):
            call_command("prune_archive", stdout=io.StringIO())
        assert ArchivedAction.objects.count() == 60
    finally:
        release_lock("a sync")


def test_prune_archive_says_when_retention_is_off(settings):
    settings.ARCHIVE_RETENTION_DAYS = 0
    out = io.StringIO()
    call_command("prune_archive", stdout=out)
    assert "keeps everything" in out.getvalue()


def test_prune_archive_says_it_stopped_while_the_shared_cache_is_away(settings, monkeypatch):
    settings.ARCHIVE_RETENTION_DAYS = 20
    fill(60)
    monkeypatch.setattr(prune_module.sharedcache, "degraded", lambda: True)
    out = io.StringIO()
    call_command("prune_archive", stdout=out)
    assert "0 action(s)" in out.getvalue()
    assert "Stopped early: the shared cache does not answer" in out.getvalue()
    assert ArchivedAction.objects.count() == 60


def test_prune_drops_the_cached_copies_of_what_it_deletes_and_keeps_the_others(settings):
    settings.ARCHIVE_RETENTION_DAYS = 20
    actions = fill(90)
    now = datetime.now(UTC)
    cutoff = now - timedelta(days=20)
    older = [a for a in actions if a.created_at <= cutoff]
    newer = [a for a in actions if a.created_at > cutoff]
    assert older and newer
    for action in actions:
        store.save(economy.final_key(action.id), action, forever=True)
    hot.clear()  # the shared cache is what other processes read

    prune(now, batch=7)

    assert not cache.get_many([economy.final_key(a.id) for a in older])
    assert len(cache.get_many([economy.final_key(a.id) for a in newer])) == len(newer)


def test_a_cache_that_fails_while_pruning_does_not_undo_the_prune(settings, monkeypatch,
                                                                   caplog):
    settings.ARCHIVE_RETENTION_DAYS = 20
    actions = fill(60)
    now = datetime.now(UTC)
    cutoff = now - timedelta(days=20)

    def cache_away(action_ids):
        raise ConnectionError("the cache is away")

    monkeypatch.setattr(economy, "forget_actions", cache_away)
    pruned = prune(now)
    assert pruned.deleted == sum(a.created_at <= cutoff for a in actions) > 0
    assert not ArchivedAction.objects.filter(created_at__lte=cutoff).exists()
    assert "Dropping the cached copies of" in caplog.text


def test_a_long_prune_renews_the_archive_lock_after_every_batch_and_stops_if_it_lost_it(
        settings):
    settings.ARCHIVE_RETENTION_DAYS = 20
    actions = fill(90)
    now = datetime.now(UTC)
    older = sum(a.created_at <= now - timedelta(days=20) for a in actions)
    assert older > 14
    renewals = []
    assert prune(now, batch=7, keep_lock=lambda: renewals.append(1) or True).deleted == older
    assert len(renewals) == -(-older // 7)

    fill(90)  # the same actions again
    lost = prune(now, batch=7, keep_lock=lambda: False)
    assert lost.deleted == 7  # the batch in hand is done, then it stops
    assert ArchivedAction.objects.filter(created_at__lte=now - timedelta(days=20)).count() \
        == older - 7


def test_the_commands_renew_the_lock_while_they_prune(settings, monkeypatch):
    settings.ARCHIVE_RETENTION_DAYS = 20
    fill(90)
    monkeypatch.setattr(prune_module, "BATCH", 5)
    owners = []
    real_acquire = prune_archive_command.acquire_lock

    def acquire(owner, *args, **kwargs):
        owners.append(owner)
        return real_acquire(owner, *args, **kwargs)

    monkeypatch.setattr(prune_archive_command, "acquire_lock", acquire)
    call_command("prune_archive", stdout=io.StringIO())
    assert len(owners) > 2 and len(set(owners)) == 1  # taken once, then renewed per batch
