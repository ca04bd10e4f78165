"""The pages around logging in and out, and the 500 page's request id."""

import pytest
from bs4 import BeautifulSoup
from django.test import Client


def test_a_logged_in_person_is_not_shown_the_login_form(operator_client):
    response = operator_client.get("/accounts/login/")
    assert response.status_code == 302
    assert response["Location"] == "/actions/"


def test_logging_out_says_so_on_the_login_page(operator_client):
    response = operator_client.post("/accounts/logout/", follow=True)
    page = BeautifulSoup(response.content, "html.parser")
    assert page.select_one("#id_username") is not None
    assert "You have been logged out." in page.select_one(".messages").get_text()


@pytest.mark.django_db
def test_the_500_page_names_the_request_id_to_quote(settings, user_factory):
    settings.ROOT_URLCONF = "tests.helpers.broken_urls"
    client = Client(raise_request_exception=False)
    client.force_login(user_factory("operator"))
    response = client.get("/broken/", HTTP_X_REQUEST_ID="req-500-check")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "req-500-check" in BeautifulSoup(response.content, "html.parser").select_one(
        "code").get_text()
    assert "this page is broken" not in response.content.decode()
