"""The status page: budget, calls in the last minute, upstream limits, cache hits; auditors only."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from dashboard.polling import reads as upstream


def _figures(response) -> dict[str, str]:
    soup = BeautifulSoup(response.content, "html.parser")
    return {
        dt.get_text(strip=True): dt.find_next_sibling("dd").get_text(" ", strip=True)
        for dt in soup.select("dl.status-figures dt")
    }


def test_status_page_shows_budget_calls_limits_and_cache_hits(layer, auditor_client):
    upstream.fetch_page(limit=25)
    upstream.fetch_page(limit=10)  # served from the cache

    response = auditor_client.get("/status/")

    assert response.status_code == 200
    figures = _figures(response)
    assert figures["Calls allowed per minute"].startswith("40")
    assert figures["Spent in the last minute"] == "1"
    assert figures["Tokens left"] == "39"
    assert figures["X-Rate-Limit-Limit"] == "6000"
    assert figures["X-Rate-Limit-Remaining"].startswith("5999")
    assert figures["Served from the cache"] == "1"
    assert figures["Needed an upstream call"] == "1"
    rows = [
        [cell.get_text(strip=True) for cell in row.select("td")]
        for row in BeautifulSoup(response.content, "html.parser").select("tbody tr")
    ]
    assert rows == [["GET", "/v1/async-actions", "200", "1"]]


def test_status_page_says_when_a_retry_after_holds_calls_back(layer, auditor_client, clock):
    upstream.fetch_page()
    layer.set_faults(force_429=True, retry_after=30)
    clock.advance(2.5)
    upstream.fetch_page(background=True)

    soup = BeautifulSoup(auditor_client.get("/status/").content, "html.parser")

    assert "Holding back" in soup.get_text()
    assert "429" in [cell.get_text(strip=True) for cell in soup.select("tbody td")]


def test_status_page_with_nobody_watching_shows_no_calls(layer, auditor_client):
    soup = BeautifulSoup(auditor_client.get("/status/").content, "html.parser")
    assert "nobody is watching" in soup.get_text()
    assert layer.count() == 0


@pytest.mark.parametrize("role", ["operator", "support", None])
def test_status_page_is_refused_to_other_roles(layer, client_for, role):
    assert client_for(role).get("/status/").status_code == 403


def test_status_page_asks_anonymous_visitors_to_log_in(layer, client):
    response = client.get("/status/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
