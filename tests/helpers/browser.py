"""Driving a Chromium page the way htmx expects: waiting until its swaps have settled."""

from __future__ import annotations


def settled(page) -> None:
    """htmx wires up swapped-in links when the swap settles; a faster Enter follows the href."""
    # Polled from here: wait_for_function's string predicates need eval, which the CSP forbids.
    for _ in range(250):
        if not page.evaluate("!!document.querySelector('.htmx-request, .htmx-settling')"):
            return
        page.wait_for_timeout(20)
    raise AssertionError("htmx never settled")
