"""/alerts/ and /alerts/history/: who may subscribe to what, forms, and what the history shows."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from dashboard.alerts.models import Delivery, Subscription
from tests.helpers.alerts import subscribe

INDEX, SUBSCRIBE, HISTORY = "/alerts/", "/alerts/subscribe/", "/alerts/history/"


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def rule_choices(response) -> list[str]:
    return [option["value"] for option in html(response).select("select[name=rule] option")]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "purge_offered"), [
    ("operator", False), ("support", False), ("auditor", True), ("admin", True),
])
def test_each_role_is_offered_the_rules_it_may_receive(client_for, role, purge_offered):
    client = client_for(role)
    response = client.get(INDEX)
    assert response.status_code == 200
    own = rule_choices(response)[:5] if role != "admin" else rule_choices(response)
    assert ("purge" in own) is purge_offered
    assert "failed" in own and "stuck" in own
    assert bool(html(response).select("input[name=form][value=managed]")) is (role == "admin")


@pytest.mark.django_db
def test_a_person_subscribes_themselves_by_email(operator_client):
    response = operator_client.post(SUBSCRIBE, {
        "form": "own", "rule": "failed-rows", "min_failed": "3", "email": "me@example.com",
        "context": "CUSTOMERS",
    })
    assert response.status_code == 302
    subscription = Subscription.objects.get()
    assert (subscription.rule, subscription.min_failed, subscription.context) == (
        "failed-rows", 3, "CUSTOMERS")
    assert (subscription.channel, subscription.target) == ("email", "me@example.com")
    assert subscription.audience == "operator"
    assert subscription.owner.username == "operator-user"
    page = html(operator_client.get(INDEX))
    assert "me@example.com" in page.select_one("table.alert-subscriptions").text


@pytest.mark.django_db
@pytest.mark.parametrize(("form", "sentence"), [
    ({"rule": "purge", "email": "me@example.com"}, "Select a valid choice"),
    ({"rule": "failed-rows", "email": "me@example.com"}, "needs a number of rows or a percentage"),
    ({"rule": "failed", "email": "not-an-address"}, "Enter a valid email address"),
    ({"rule": "stuck", "email": "me@example.com", "min_failed": "2"},
     "does not apply to stuck alerts"),
    ({"rule": "failed", "email": "me@example.com", "context": "NOPE"}, "Select a valid choice"),
])
def test_a_bad_subscription_is_summarised_and_nothing_stored(operator_client, form, sentence):
    response = operator_client.post(SUBSCRIBE, {"form": "own", **form})
    assert response.status_code == 400
    summary = html(response).select_one(".form-errors")
    assert summary is not None and sentence in summary.text
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_only_admins_manage_webhooks_and_everyones_rules(client_for, user_factory):
    operator = client_for("operator")
    mine = subscribe("failed", to="op@example.com")
    mine.owner = user_factory("operator", "someone-else")
    mine.save()
    # An operator posting the admin form gets their own e-mail form, not a webhook.
    response = operator.post(SUBSCRIBE, {"form": "managed", "rule": "failed",
                                         "channel": "webhook", "target": "https://h.example/x"})
    assert response.status_code == 400
    assert Subscription.objects.count() == 1
    assert operator.post(f"/alerts/{mine.id}/remove/").status_code == 404

    admin = client_for("admin")
    response = admin.post(SUBSCRIBE, {
        "form": "managed", "rule": "purge", "channel": "webhook", "audience": "auditor",
        "target": "https://hooks.example.com/services/T000/SECRET",
    })
    assert response.status_code == 302
    page = admin.get(INDEX).content.decode()
    assert "https://hooks.example.com/…" in page and "SECRET" not in page
    assert admin.post(f"/alerts/{mine.id}/remove/").status_code == 302
    assert list(Subscription.objects.values_list("rule", flat=True)) == ["purge"]


@pytest.mark.django_db
def test_the_admin_form_refuses_purges_for_operators(superuser_client):
    response = superuser_client.post(SUBSCRIBE, {
        "form": "managed", "rule": "purge", "channel": "email", "audience": "operator",
        "target": "ops@example.com",
    })
    assert response.status_code == 400
    assert "go to auditors and admins only" in html(response).select_one(".form-errors").text


@pytest.mark.django_db
def test_history_shows_each_person_their_own_and_admins_everything(client_for, user_factory):
    operator = client_for("operator")
    me = user_factory("support", "support-person")
    for owner, text in ((None, "webhook alert"), (me, "my alert")):
        subscription = subscribe("failed", to="a@example.com")
        subscription.owner = owner
        subscription.save()
        Delivery.objects.create(
            subscription=subscription, owner=owner, event_key="aa_1", rule="failed",
            channel="email", recipient="a@example.com", subject="s", text=text,
            next_attempt_at=subscription.created_at, status=Delivery.FAILED, attempts=8,
            last_error="The mail server refused or could not be reached: boom",
        )
    assert "my alert" not in operator.get(HISTORY).content.decode()
    operator.force_login(me)
    page = operator.get(HISTORY).content.decode()
    assert "my alert" in page and "webhook alert" not in page
    assert "Gave up after 8 attempts: The mail server refused" in page
    operator.force_login(user_factory("admin", "the-admin"))
    page = operator.get(HISTORY).content.decode()
    assert "my alert" in page and "webhook alert" in page


@pytest.mark.django_db
@pytest.mark.parametrize("path", [INDEX, HISTORY])
def test_read_only_pages_answer_get_and_head_only(operator_client, path):
    assert operator_client.get(path).status_code == 200
    assert operator_client.head(path).status_code == 200
    assert operator_client.post(path).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("path", [INDEX, HISTORY])
def test_pages_need_a_login_and_a_role(client, client_for, path):
    assert client.get(path).status_code == 302
    assert client_for(None).get(path).status_code == 403


@pytest.mark.django_db
def test_subscribing_needs_the_csrf_token(user_factory):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user_factory("operator"))
    response = client.post(SUBSCRIBE, {"form": "own", "rule": "failed", "email": "a@example.com"})
    assert response.status_code == 403
    assert not Subscription.objects.exists()
