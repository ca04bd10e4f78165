"""Reading responses the way a person does: rows, links, notices, words (BeautifulSoup), CSV."""

from __future__ import annotations

import csv
import io
import re
import time

from bs4 import BeautifulSoup


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def text_of(node) -> str:
    """The words of an element, spaces collapsed ("" for a missing element)."""
    return " ".join(node.get_text(" ").split()) if node else ""


def row_ids(response) -> list[str]:
    """Action ids of the table rows, in page order (grouped by context)."""
    return [tr["id"].removeprefix("row-") for tr in soup(response).select("tbody tr[id^=row-]")]


def href(response, css: str) -> str | None:
    found = soup(response).select_one(css)
    return found["href"] if found is not None and found.has_attr("href") else None


def text(response, css: str) -> str:
    found = soup(response).select_one(css)
    return " ".join(found.get_text().split()) if found is not None else ""


def walk(client, url: str, *, max_pages: int = 100) -> list[list[str]]:
    """Follow "Older" from `url` to the end; the row ids of every page, in order."""
    pages = []
    while url and len(pages) < max_pages:
        response = client.get(url, follow=True)
        assert response.status_code == 200, response.content[:2000]
        pages.append(row_ids(response))
        url = href(response, ".pager-top .pager-older")
    return pages


def store_items(emulator_server) -> list[dict]:
    """Every action the emulator holds, newest first, as its list endpoint renders them."""
    items, _ = emulator_server.emulator.store.list_actions(limit=100_000)
    return items


def oob_rows(response) -> list:
    """The <tr> elements a live poll swaps in (wrapped in <template>, as htmx 2 wants for rows)."""
    rows = []
    for template in soup(response).find_all("template"):
        rows += BeautifulSoup(template.decode_contents(), "html.parser").select("tr[hx-swap-oob]")
    return rows


def poll_until_stopped(client, url: str, *, tries: int = 160, pause: float = 0.25):
    """Poll a live URL as htmx would until it stops answering 200 (286 ends polling). Bounded
    by a count that a busy machine's slower seconds still fit in (40 did not: a 3 s action
    read through a loaded test suite)."""
    for _ in range(tries):
        time.sleep(pause)
        response = client.get(url)
        if response.status_code != 200:
            break
    return response


def csv_rows(response) -> list[list[str]]:
    """The rows of a streamed CSV download, header first."""
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body)))


# The early poll's delay in an answer (polling/align.py): five digits, timed as it is sent.
EARLY_POLL_DELAY = re.compile(rb"load delay:(\d{5})ms")


def untimed(response) -> bytes:
    """The body without the moment of its early poll (polling/align.py), which each answer
    times from when it is sent: two answers of one shared render compare equal."""
    return EARLY_POLL_DELAY.sub(b"load delay:00000ms", response.content)
