"""Saved views: a person's named list filters, saved from the list, opened and shared as the
list's own address, deleted only by their owner. Driven over HTTP against the emulator."""

from __future__ import annotations

import pytest
from django.test import Client

from dashboard.accounts.models import SavedView
from dashboard.actions import saved_views
from tests.helpers.html import soup, text_of

FILTERS = "?context=VOUCHERS&status=FAILED&limit=50"


def saved_list(response) -> list[tuple[str, str]]:
    return [(a.get_text(strip=True), a["href"])
            for a in soup(response).select(".saved-view-list .saved-view > a")]


def messages_of(response) -> str:
    return text_of(soup(response).select_one("ul.messages"))


def save(client, name: str, query: str = FILTERS):
    return client.post("/actions/saved-views/", {"name": name, "query": query}, follow=True)


def test_a_saved_view_is_listed_opened_and_shared_as_the_list_address(emulator, operator_client):
    response = save(operator_client, "  Failed   voucher imports ")
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/actions/" + FILTERS
    assert "Saved the view “Failed voucher imports”" in messages_of(response)
    assert saved_list(response) == [("Failed voucher imports", "/actions/" + FILTERS)]
    current = soup(response).select_one(".saved-view-list a[aria-current=page]")
    assert current is not None and current.get_text(strip=True) == "Failed voucher imports"
    copy = soup(response).select_one(".saved-view button[data-copy]")
    assert copy["data-copy"] == "http://testserver/actions/" + FILTERS

    opened = operator_client.get("/actions/" + FILTERS)  # opening a view is opening its link
    assert opened.status_code == 200
    assert soup(opened).select_one("#filter-status option[selected]")["value"] == "FAILED"
    elsewhere = operator_client.get("/actions/")
    assert saved_list(elsewhere) == saved_list(response)
    assert soup(elsewhere).select_one(".saved-view-list a[aria-current]") is None


def test_a_view_keeps_the_filters_but_not_the_page_position(emulator, operator_client):
    save(operator_client, "Older", "?status=DONE&end_date=2026-11-01T00:00:00Z&sort=type")
    assert SavedView.objects.get().query == "?status=DONE&sort=type"


def test_another_persons_views_are_neither_shown_nor_deletable(emulator, client, user_factory):
    owner, other = user_factory("operator", "owner"), user_factory("support", "other")
    client.force_login(owner)
    save(client, "Mine")
    view = SavedView.objects.get()
    client.force_login(other)
    assert saved_list(client.get("/actions/")) == []
    assert client.post(f"/actions/saved-views/{view.id}/delete/").status_code == 404
    assert client.post("/actions/saved-views/999999/delete/").status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()
    same_name = save(client, "Mine")  # names are per person: another person may reuse one
    assert "Saved the view “Mine”" in messages_of(same_name)


def test_the_owner_deletes_a_view(emulator, operator_client):
    save(operator_client, "Gone soon")
    view = SavedView.objects.get()
    response = operator_client.post(f"/actions/saved-views/{view.id}/delete/",
                                    {"query": FILTERS}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/actions/" + FILTERS
    assert "Deleted the view “Gone soon”" in messages_of(response)
    assert saved_list(response) == []
    assert operator_client.get(f"/actions/saved-views/{view.id}/delete/").status_code == 405


@pytest.mark.parametrize(
    ("name", "query", "said"),
    [
        ("", FILTERS, "Give the view a name"),
        ("   \t ", FILTERS, "Give the view a name"),
        ("x" * 81, FILTERS, "The name is 81 characters long; use at most 80."),
        ("bell\x07", FILTERS, "invisible control characters"),
        ("Fine name", "?status=NOPE", "The current filters cannot be saved: There is no status"),
        ("Fine name", "?limit=" + "9" * 7000, "The current filters cannot be saved"),
    ],
)
def test_bad_names_and_filters_get_a_sentence_and_save_nothing(
    emulator, operator_client, name, query, said
):
    response = save(operator_client, name, query)
    assert response.status_code == 200
    assert said in messages_of(response)
    assert not SavedView.objects.exists()


def test_a_duplicate_name_is_refused_with_a_sentence(emulator, operator_client):
    save(operator_client, "Failures")
    response = save(operator_client, " Failures ", "?status=DONE")
    assert "You already have a view named “Failures”" in messages_of(response)
    assert SavedView.objects.get().query == FILTERS


def test_one_person_keeps_a_bounded_number_of_views(emulator, operator_client, django_user_model):
    user = django_user_model.objects.get(username="operator-user")
    SavedView.objects.bulk_create(SavedView(user=user, name=f"v{i}", query="")
                                  for i in range(saved_views.MAX_PER_PERSON))
    response = save(operator_client, "one more")
    assert "delete one you no longer use first" in messages_of(response)
    assert SavedView.objects.count() == saved_views.MAX_PER_PERSON


def test_saving_and_deleting_need_the_csrf_token(emulator, user_factory):
    user = user_factory("operator")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post("/actions/saved-views/", {"name": "x", "query": ""}).status_code == 403
    view = SavedView.objects.create(user=user, name="kept", query="")
    assert strict.post(f"/actions/saved-views/{view.id}/delete/").status_code == 403
    assert SavedView.objects.filter(pk=view.pk).exists()
    page = strict.get("/actions/")
    token = soup(page).select_one("form.save-view input[name=csrfmiddlewaretoken]")["value"]
    saved = strict.post("/actions/saved-views/", {"name": "with token", "query": "",
                                                  "csrfmiddlewaretoken": token})
    assert saved.status_code == 302
    assert SavedView.objects.filter(name="with token").exists()


def test_people_without_the_list_cannot_save(emulator, client_for):
    assert client_for(None).post("/actions/saved-views/", {"name": "x"}).status_code == 403


def test_a_name_is_shown_as_text_never_as_markup(emulator, operator_client):
    hostile = '<img src=x onerror="alert(1)"> & “quotes”'
    response = save(operator_client, hostile)
    assert saved_list(response) == [(hostile, "/actions/" + FILTERS)]
    assert b"<img src=x" not in response.content
