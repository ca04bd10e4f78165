"""The alert worker end to end: the emulator drives actions, real SMTP and HTTP receivers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.backends.signals import connection_created
from django.test.utils import CaptureQueriesContext

from dashboard.accounts.roles import ensure_role
from dashboard.alerts import rules, running, source
from dashboard.alerts.evaluate import evaluate
from dashboard.alerts.models import Delivery, RunningAction, Subscription
from dashboard.alerts.outbox import claim, due_ids
from dashboard.alerts.subscriptions import create
from dashboard.alerts.worker import Worker
from dashboard.polling import budget
from tests.helpers.alerts import (
    PURGER,
    archive_finished,
    bury,
    failed_rows,
    insert,
    stamp,
    subscribe,
    watch_once,
)
from tests.helpers.archive_down import database_down
from tests.helpers.upstream import DETAIL, LIST, finish_action, run_sync

IMPORT = "CUSTOMERS.IMPORT_CSV"


def test_each_rule_delivers_once_with_what_its_role_may_see(alerting, smtp_server,
                                                            http_receiver):
    hook = http_receiver.url
    subscribe("failed", to="ops@example.com")
    subscribe("failed-rows", to=f"{hook}/operator", min_failed=1)
    subscribe("failed-rows", to="support@example.com", audience="support", min_failed=1)
    subscribe("stuck", to=f"{hook}/stuck", stuck_minutes=30)
    subscribe("purge", to="auditor@example.com", audience="auditor")
    failed = insert(alerting, type_="VOUCHERS.IMPORT", status="FAILED",
                    created_ago=timedelta(seconds=20), result={"message": "Import failed."})
    rows = failed_rows(12)
    with_rows = insert(alerting, type_=IMPORT, status="DONE", created_ago=timedelta(seconds=30),
                       result={"done_count": 28, "failed_count": 12, "failed": rows})
    stuck = insert(alerting, type_="PRODUCTS.BULK_UPDATE", status="IN_PROGRESS",
                   created_ago=timedelta(hours=2), finished=False)
    purge = insert(alerting, type_="CUSTOMERS.METADATA_KEY_PURGE", status="DONE",
                   created_ago=timedelta(seconds=5), request_id="w-0c5543f0aa",
                   user=PURGER, result={"message": "Updated 9 customers.", "done_count": 9})

    watch_once()
    watch_once()  # a restarted worker: everything is in the outbox already

    [ops] = smtp_server.to("ops@example.com")
    assert f"VOUCHERS.IMPORT action {failed['id']} failed" in ops.get_payload()
    assert f"https://dash.example.com/actions/{failed['id']}/" in ops.get_payload()
    assert ops["From"] == "alerts@dash.example.com"

    [operator] = http_receiver.at("/operator")
    assert operator["rule"] == "failed-rows"
    assert operator["action"] == {"id": with_rows["id"], "type": IMPORT, "status": "DONE",
                                  "failed_count": 12, "created_at": with_rows["created_at"]}
    assert operator["counts"] == {"failed_count": 12, "total": 40, "percent": 30.0}
    assert "with 12 failed rows of 40 (30 %)" in operator["text"]
    assert "failed_rows" not in operator
    assert not any(row["source_id"] in str(operator) for row in rows)  # counts, never rows

    [support] = smtp_server.to("support@example.com")
    assert rows[0]["source_id"] in support.get_payload()
    assert rows[0]["reason"] in support.get_payload()

    [stuck_alert] = http_receiver.at("/stuck")
    assert stuck_alert["action"]["id"] == stuck["id"]
    assert "has been IN_PROGRESS for 2.0 h, longer than " in stuck_alert["text"]

    [audit] = smtp_server.to("auditor@example.com")
    text = audit.get_payload()
    assert f"purge {purge['id']}" in text and PURGER["email"] in text
    assert "updated 9 records" in text
    # Nobody but the auditor heard of the purge; every alert was sent once.
    assert len(smtp_server.messages) == 3 and len(http_receiver.requests) == 2
    assert Delivery.objects.filter(status=Delivery.SENT).count() == 5


@pytest.mark.parametrize("precision", ["seconds", "milliseconds", "microseconds"])
def test_a_webhook_names_the_actions_creation_as_voucherify_writes_it(alerting, http_receiver,
                                                                       precision):
    subscribe("failed", to=f"{http_receiver.url}/failed")
    moment = datetime.now(UTC) - timedelta(minutes=1, microseconds=random.randrange(10**6))
    moment = moment.replace(microsecond={
        "seconds": 0, "milliseconds": moment.microsecond // 1000 * 1000,
        "microseconds": moment.microsecond // 1000 * 1000 + random.randrange(1, 1000),
    }[precision])
    failed = insert(alerting, type_="VOUCHERS.IMPORT", status="FAILED",
                    created_ago=timedelta(minutes=1), created_at=stamp(moment))

    watch_once()

    [alert] = http_receiver.at("/failed")
    assert alert["action"]["created_at"] == failed["created_at"] == stamp(moment)


def test_a_stuck_limit_follows_the_types_p95(alerting, http_receiver):
    subscribe("stuck", to=f"{http_receiver.url}/stuck", stuck_factor=3, stuck_minutes=30)
    slow = "LOYALTY.POINTS_EXPIRE"  # a type nobody documented: it still counts
    for _ in range(5):
        insert(alerting, type_=slow, status="DONE", created_ago=timedelta(hours=1))
    within = insert(alerting, type_=slow, status="IN_PROGRESS",
                    created_ago=timedelta(hours=2), finished=False)  # limit 3 h
    beyond = insert(alerting, type_=slow, status="ENQUEUED",
                    created_ago=timedelta(hours=4), finished=False)

    watch_once()

    [alert] = http_receiver.at("/stuck")
    assert alert["action"]["id"] == beyond["id"] != within["id"]
    assert "the larger of 3 × its type's p95 of 60 min and 30 min" in alert["text"]


def test_failed_rows_by_percentage_and_narrowed_by_type(alerting, http_receiver):
    subscribe("failed-rows", to=f"{http_receiver.url}/share", min_failed_percent=50,
              action_type=IMPORT)
    insert(alerting, type_=IMPORT, status="DONE", created_ago=timedelta(seconds=9),
           result={"done_count": 90, "failed_count": 10, "failed": failed_rows(10)})
    half = insert(alerting, type_=IMPORT, status="DONE", created_ago=timedelta(seconds=8),
                  result={"done_count": 5, "failed_count": 5, "failed": failed_rows(5)})
    insert(alerting, type_="VOUCHERS.IMPORT_CSV", status="DONE", created_ago=timedelta(seconds=7),
           result={"done_count": 0, "failed_count": 5, "failed": failed_rows(5)})

    watch_once()

    assert [alert["action"]["id"] for alert in http_receiver.at("/share")] == [half["id"]]


def test_failure_share_alerts_once_per_window(alerting, http_receiver):
    kind = "LOYALTY.MEMBERS_BATCH_ENROL"
    subscribe("failure-share", to=f"{http_receiver.url}/share", share_percent=50,
              share_hours=1, action_type=kind)
    for status in ("FAILED", "FAILED", "DONE"):
        insert(alerting, type_=kind, status=status, created_ago=timedelta(minutes=10))

    watch_once()
    insert(alerting, type_=kind, status="FAILED", created_ago=timedelta(minutes=5))
    watch_once()

    [alert] = http_receiver.at("/share")
    assert alert["share"] == {"type": kind, "failed": 2, "finished": 3, "percent": 66.7,
                              "hours": 1.0}
    assert f"2 of 3 {kind} actions (66.7 %) failed in the last 1 h, more than 50 %" \
        in alert["text"]


def test_a_failing_receiver_gets_retries_and_a_history_entry(alerting, http_receiver,
                                                             superuser_client):
    subscribe("failed", to=f"{http_receiver.url}/flaky")
    http_receiver.fail_first = 2
    action = insert(alerting, type_=IMPORT, status="FAILED", created_ago=timedelta(seconds=3))

    watch_once()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.PENDING, 1)
    assert delivery.last_error == "The webhook answered HTTP 500."
    watch_once()
    watch_once()
    watch_once()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.SENT, 3)
    assert [alert["action"]["id"] for alert in http_receiver.at("/flaky")] == [action["id"]]
    page = superuser_client.get("/alerts/history/").content.decode()
    assert "Delivered" in page and "after 3 attempts" in page


def test_a_receiver_that_keeps_failing_is_given_up_with_the_reason(alerting, http_receiver,
                                                                   superuser_client):
    subscribe("failed", to=f"{http_receiver.url}/down")
    http_receiver.fail_first = 100
    insert(alerting, type_=IMPORT, status="FAILED", created_ago=timedelta(seconds=3))

    for _ in range(5):
        watch_once()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.FAILED, 3)
    assert http_receiver.calls == 3
    page = superuser_client.get("/alerts/history/").content.decode()
    assert "Gave up after 3 attempts: The webhook answered HTTP 500." in page


def test_two_workers_never_claim_the_same_alert(alerting):
    subscribe("failed", to="ops@example.com")
    insert(alerting, type_=IMPORT, status="FAILED", created_ago=timedelta(seconds=3))
    assert evaluate() == 1
    assert evaluate() == 0  # a second evaluation (another worker) adds nothing
    [delivery_id] = due_ids(Delivery.objects.get().next_attempt_at)
    moment = Delivery.objects.get().next_attempt_at
    first, second = Worker(), Worker()
    assert claim(delivery_id, first.name, moment) is not None
    assert claim(delivery_id, second.name, moment) is None
    assert Delivery.objects.get().claimed_by == first.name


def test_the_workers_upstream_calls_are_paid_from_the_budget(alerting):
    subscribe("failed", to="ops@example.com")
    subscribe("failed-rows", to="support@example.com", audience="support", min_failed=1)
    for _ in range(3):
        insert(alerting, type_=IMPORT, status="FAILED", created_ago=timedelta(seconds=3))
    alerting.clear_stats()

    watch_once()
    calls = alerting.count()
    watch_once()  # the page is fresh in the cache and the details are archived

    assert calls == 1 + 3  # the newest page, then each failed action's detail once
    assert alerting.count() == calls
    assert budget.spent() == calls


def test_no_subscription_costs_no_upstream_call(alerting):
    insert(alerting, type_=IMPORT, status="FAILED", created_ago=timedelta(seconds=3))
    alerting.clear_stats()

    watch_once()

    assert alerting.count() == 0


def test_an_unreadable_upstream_is_said_and_nothing_is_lost(alerting, smtp_server, capsys):
    subscribe("failed", to="ops@example.com")
    action = insert(alerting, type_=IMPORT, status="FAILED", created_ago=timedelta(seconds=3))
    alerting.set_faults(error_rate=1.0, error_status=503)

    watch_once()
    assert "Actions not read this time" in capsys.readouterr().err
    alerting.clear_faults()
    cache.clear()  # forget the failure backoff instead of waiting for it
    watch_once()

    [mail] = smtp_server.to("ops@example.com")
    assert action["id"] in mail.get_payload()


@pytest.mark.parametrize("rule", ["failed", "failed-rows", "stuck", "failure-share"])
def test_operators_may_not_receive_purges_but_every_other_rule(rule):
    assert rule in rules.rules_for("operator")
    assert "purge" not in rules.rules_for("operator")
    assert "purge" not in rules.rules_for("support")
    assert "purge" in rules.rules_for("auditor")


def test_chat_services_through_apprise_urls(alerting, http_receiver):
    # apprise's json:// posts {title, message, ...} to any HTTP server: here, the receiver.
    target = http_receiver.url.replace("http://", "json://") + "/chat"
    create({"rule": "failed", "audience": "operator"}, channel="apprise", target=target)
    action = insert(alerting, type_=IMPORT, status="FAILED", created_ago=timedelta(seconds=3))

    watch_once()

    [message] = http_receiver.at("/chat")
    assert message["title"] == f"[Voucherify alert] failed: {IMPORT}"
    assert f"{IMPORT} action {action['id']} failed." in message["message"]
    assert Delivery.objects.get().status == Delivery.SENT


def test_a_person_who_lost_a_role_no_longer_gets_what_it_allowed(alerting, smtp_server,
                                                                user_factory):
    person = user_factory("auditor", "former-auditor")
    subscription = subscribe("purge", to="former@example.com", audience="auditor")
    subscription.owner = person
    subscription.save()
    person.groups.clear()
    person.groups.add(ensure_role("operator"))
    insert(alerting, type_="CUSTOMERS.METADATA_KEY_PURGE", status="DONE",
           created_ago=timedelta(seconds=5), user=PURGER, result={"done_count": 3})

    watch_once()

    assert smtp_server.messages == [] and not Delivery.objects.exists()


def test_an_abandoned_claim_is_taken_over_after_its_lease(alerting, settings):
    subscribe("failed", to="ops@example.com")
    insert(alerting, type_=IMPORT, status="FAILED", created_ago=timedelta(seconds=3))
    evaluate()
    delivery = Delivery.objects.get()
    moment = delivery.next_attempt_at
    assert claim(delivery.id, "died-mid-send", moment) is not None
    lease = timedelta(seconds=settings.ALERTS_CLAIM_SECONDS)
    assert claim(delivery.id, "second", moment + lease) is None  # not before it expires
    assert due_ids(moment + lease + timedelta(seconds=1)) == [delivery.id]
    assert claim(delivery.id, "second", moment + lease + timedelta(seconds=1)) is not None


def test_a_hostile_type_cannot_add_mail_headers_nor_outgrow_the_subject(alerting, smtp_server):
    subscribe("failed", to="ops@example.com")
    hostile = IMPORT + "\r\nBcc: thief@example.org\r\n" + "X" * 400
    action = insert(alerting, type_=hostile, status="FAILED", created_ago=timedelta(seconds=3))

    watch_once()

    [mail] = smtp_server.to("ops@example.com")
    assert action["id"] in mail.get_payload()
    assert smtp_server.to("thief@example.org") == [] and mail["Bcc"] is None
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.SENT
    assert "\r" not in delivery.subject and "\n" not in delivery.subject
    assert len(delivery.subject) <= Delivery._meta.get_field("subject").max_length


def test_an_action_that_cannot_be_linked_stops_no_other_alert(alerting, http_receiver):
    subscribe("stuck", to=f"{http_receiver.url}/stuck", stuck_minutes=30)
    odd = insert(alerting, type_=IMPORT, status="IN_PROGRESS", created_ago=timedelta(hours=2),
                 finished=False, id="aa_0c/55")
    fine = insert(alerting, type_=IMPORT, status="IN_PROGRESS", created_ago=timedelta(hours=3),
                  finished=False)

    watch_once()  # the odd id has no page to link to: that alert alone is left out
    watch_once()

    assert [alert["action"]["id"] for alert in http_receiver.at("/stuck")] == [fine["id"]]
    assert not Delivery.objects.filter(action_id=odd["id"]).exists()


def test_a_failure_share_alert_names_the_newest_failed_action(alerting, http_receiver):
    kind = "LOYALTY.MEMBERS_BATCH_ENROL"
    subscribe("failure-share", to=f"{http_receiver.url}/share", share_percent=50,
              share_hours=1, action_type=kind)
    insert(alerting, type_=kind, status="DONE", created_ago=timedelta(minutes=20))
    insert(alerting, type_=kind, status="FAILED", created_ago=timedelta(minutes=15))
    watch_once()  # 1 of 2 failed: not more than 50 %, but both are in the archive now
    newest = insert(alerting, type_=kind, status="FAILED", created_ago=timedelta(minutes=5))
    cache.clear()  # the newest page is read again

    watch_once()

    [alert] = http_receiver.at("/share")
    assert (alert["share"]["failed"], alert["share"]["finished"]) == (2, 3)
    assert alert["action"]["id"] == newest["id"]


def test_html_from_upstream_reaches_a_chat_service_as_text(alerting, smtp_server, settings):
    # apprise's mailto:// sends HTML mail, as Slack, Teams or Discord render markup.
    target = (f"mailto://127.0.0.1:{settings.EMAIL_PORT}?from=alerts@example.com"
              "&to=chat@example.com")
    create({"rule": "failed", "audience": "operator"}, channel="apprise", target=target)
    hostile = IMPORT + '<a href="https://phish.example.org">Sign in again</a>'
    insert(alerting, type_=hostile, status="FAILED", created_ago=timedelta(seconds=3))

    watch_once()

    [mail] = smtp_server.to("chat@example.com")
    parts = {part.get_content_type(): part.get_payload(decode=True).decode()
             for part in mail.walk() if not part.is_multipart()}
    assert "Sign in again" in parts["text/plain"]  # told as text
    assert '<a href="https://phish' not in parts.get("text/html", "")  # never as a link


# What each per-action rule alerts on: (its options, the action).
BEYOND_THE_PAGE = {
    "failed": ({}, {"type_": IMPORT, "status": "FAILED", "result": {"message": "Import failed."}}),
    "failed-rows": ({"min_failed": 1}, {"type_": IMPORT, "status": "DONE", "result": {
        "done_count": 28, "failed_count": 12, "failed": failed_rows(12)}}),
    "purge": ({"audience": "auditor"}, {
        "type_": "CUSTOMERS.METADATA_KEY_PURGE", "status": "DONE", "request_id": "w-0c5543f0aa",
        "user": PURGER, "result": {"message": "Updated 9 customers.", "done_count": 9}}),
}


@pytest.mark.parametrize("rule", list(BEYOND_THE_PAGE))
def test_a_finished_action_beyond_the_newest_page_is_alerted(alerting, http_receiver, rule):
    options, action = BEYOND_THE_PAGE[rule]
    before = datetime.now(UTC) - timedelta(minutes=9)
    insert(alerting, created_ago=timedelta(minutes=10), updated_at=stamp(before), **action)
    subscribe(rule, to=f"{http_receiver.url}/{rule}", **options)
    wanted = insert(alerting, created_ago=timedelta(minutes=3), **action)
    bury(alerting)  # the worker was away while 150 newer actions came
    run_sync()  # the sync_actions cron archived them all

    watch_once()
    watch_once()

    # Once, and only what finished since the subscription began (the seeded history and the
    # action finished before it are older news).
    assert [alert["action"]["id"] for alert in http_receiver.at(f"/{rule}")] == [wanted["id"]]


def test_the_archive_beyond_the_newest_page_is_judged_a_batch_a_round(alerting):
    subscribe("failed", to="ops@example.com")
    bury(alerting)
    archived = archive_finished(250, created_ago=timedelta(minutes=2))
    first = evaluate()  # the newest page read and archived; the first batch judged

    with CaptureQueriesContext(connection) as smaller:
        evaluate()
    archived += archive_finished(600, created_ago=timedelta(minutes=3))
    with CaptureQueriesContext(connection) as bigger:
        evaluate()
    while evaluate():
        pass

    assert first == source.ARCHIVE_BATCH
    assert set(Delivery.objects.values_list("action_id", flat=True)) == set(archived)
    assert len(bigger) == len(smaller)  # a round costs the same queries however big the archive


def test_actions_that_stay_unalerted_never_hold_older_ones_back(alerting, http_receiver):
    subscribe("failed-rows", to=f"{http_receiver.url}/rows", min_failed_percent=50)
    bury(alerting)
    wanted = archive_finished(1, created_ago=timedelta(minutes=3), status="DONE",
                              result={"done_count": 40, "failed_count": 60})
    archive_finished(source.ARCHIVE_BATCH + 50, created_ago=timedelta(minutes=2), status="DONE",
                     result={"done_count": 99, "failed_count": 1})  # 1 %: no alert, ever

    watch_once()  # the newest batch beyond the page: none alerted
    watch_once()  # the batch after it

    assert [alert["action"]["id"] for alert in http_receiver.at("/rows")] == wanted


def test_a_database_fault_costs_one_round_not_the_worker(transactional_db, alerting, smtp_server):
    subscribe("failed", to="ops@example.com")
    action = insert(alerting, type_=IMPORT, status="FAILED", created_ago=timedelta(seconds=3))
    worker = Worker()
    connected = []
    connection_created.connect(lambda **kwargs: connected.append(1), weak=False,
                               dispatch_uid="alerts-test-connected")

    try:
        with database_down():  # PostgreSQL restarting
            failed = worker.run_once()
        later = worker.run_once()
    finally:
        connection_created.disconnect(dispatch_uid="alerts-test-connected")

    assert "database" in failed.problem and failed.added == failed.sent == 0
    assert connected  # the broken connection was dropped: the next round connected anew
    assert (later.added, later.sent, later.problem) == (1, 1, None)
    [mail] = smtp_server.to("ops@example.com")
    assert action["id"] in mail.get_payload()


# --- stuck beyond the newest page ---------------------------------------------------------
SLOW = "LOYALTY.POINTS_EXPIRE"  # no finished one anywhere: its stuck limit is stuck_minutes


def running_for(emulator, minutes: float) -> dict:
    return insert(emulator, type_=SLOW, status="IN_PROGRESS",
                  created_ago=timedelta(minutes=minutes), finished=False)


def next_interval(clock, settings) -> None:
    """One poll interval later: the newest page is read again."""
    clock.advance(settings.ACTIONS_POLL_INTERVAL + 1)


def limit_lowered_to(minutes: float) -> None:
    """The stuck limit falls below the actions' running time, as if time had passed."""
    Subscription.objects.filter(rule=rules.STUCK).update(stuck_minutes=minutes)


@pytest.fixture
def remembered(alerting, http_receiver) -> dict:
    """A running action, 20 minutes in, that a stuck subscription (30 minutes, alerts to
    /stuck) saw on the newest page."""
    subscribe("stuck", to=f"{http_receiver.url}/stuck", stuck_minutes=30)
    slow = running_for(alerting, 20)
    watch_once()  # on the newest page, within its limit
    return slow


def pushed_off_past_its_limit(emulator, clock, settings) -> None:
    """150 newer actions push it off the newest page, and the limit falls below its time."""
    bury(emulator)
    next_interval(clock, settings)
    limit_lowered_to(10)


def test_a_running_action_pushed_off_the_newest_page_is_still_alerted_stuck(
        alerting, http_receiver, clock, settings, remembered):
    pushed_off_past_its_limit(alerting, clock, settings)

    watch_once()
    next_interval(clock, settings)
    watch_once()  # another round, or another worker: the same alert

    [alert] = http_receiver.at("/stuck")
    assert alert["action"]["id"] == remembered["id"]
    assert "has been IN_PROGRESS for 20 min, longer than " in alert["text"]


def test_an_action_that_finishes_off_the_page_is_forgotten_and_never_alerted_stuck(
        alerting, http_receiver, clock, settings, remembered):
    finish_action(alerting, remembered["id"])
    pushed_off_past_its_limit(alerting, clock, settings)

    watch_once()  # its refresh shows it finished
    assert not RunningAction.objects.exists()
    next_interval(clock, settings)
    alerting.clear_stats()
    watch_once()

    assert http_receiver.at("/stuck") == []
    assert alerting.count() == 1  # the newest page only: nothing is left to refresh


def test_remembered_actions_cost_no_call_within_their_limit_and_a_bounded_few_past_it(
        alerting, clock, settings):
    subscribe("stuck", to="ops@example.com", stuck_minutes=30)
    for _ in range(11):  # newest pages of 5 running actions, each among 19 finished ones
        for _ in range(5):
            running_for(alerting, 20)
            for _ in range(19):
                insert(alerting, type_=IMPORT, status="DONE", created_ago=timedelta(minutes=20))
        next_interval(clock, settings)
        watch_once()
    bury(alerting)

    def rounds(count: int) -> list[tuple[int, int]]:
        calls = []
        for _ in range(count):
            next_interval(clock, settings)
            alerting.clear_stats()
            watch_once()
            calls.append((alerting.count(endpoint=LIST), alerting.count(endpoint=DETAIL)))
        return calls

    within = rounds(2)  # 20 minutes in, a limit of 30: none of them can be stuck yet
    limit_lowered_to(10)
    past = rounds(running.REMEMBERED // running.REFRESHED_PER_ROUND)
    alerted = rounds(2)

    assert within == [(1, 0), (1, 0)]  # the newest page only
    # Past it, each round: the newest page, one shared window of older live actions, and a
    # detail call each for a few outside it, never more than REFRESHED_PER_ROUND.
    assert all(lists == 2 and details <= running.REFRESHED_PER_ROUND for lists, details in past)
    assert Delivery.objects.filter(rule=rules.STUCK).count() == running.REMEMBERED  # of 55 seen
    assert alerted == [(1, 0), (1, 0)]  # each alerted once, then forgotten
    assert not RunningAction.objects.exists()


def test_without_a_stuck_subscription_nothing_is_remembered_nor_refreshed(alerting, clock,
                                                                         settings):
    subscribe("failed", to="ops@example.com")
    running_for(alerting, 20)
    watch_once()
    bury(alerting)
    next_interval(clock, settings)
    alerting.clear_stats()

    watch_once()

    assert alerting.count() == 1  # the newest page
    assert not RunningAction.objects.exists()


def test_an_upstream_fault_keeps_a_remembered_action_for_the_next_round(
        alerting, http_receiver, clock, settings, remembered):
    pushed_off_past_its_limit(alerting, clock, settings)
    alerting.set_faults(error_rate=1.0, error_status=503, endpoints=[DETAIL])

    assert Worker().run_once().problem is None  # the page was read; its refresh failed
    assert http_receiver.at("/stuck") == []  # not judged on what could not be read
    alerting.clear_faults()
    clock.advance(3 * settings.ACTIONS_POLL_INTERVAL)  # past the failure's backoff
    watch_once()

    [alert] = http_receiver.at("/stuck")
    assert alert["action"]["id"] == remembered["id"]


def test_an_action_voucherify_no_longer_knows_is_forgotten(alerting, http_receiver, clock,
                                                           settings, remembered):
    alerting.reset()  # the emulator's seeded state again: the action is gone (404)
    pushed_off_past_its_limit(alerting, clock, settings)

    watch_once()

    assert not RunningAction.objects.exists()
    assert http_receiver.at("/stuck") == []
