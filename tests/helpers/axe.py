"""axe-core on a Playwright page (axe-playwright-python bundles it: nothing is downloaded)."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

BLOCKING = ("serious", "critical")


def violations(page) -> list[str]:
    """The serious and critical violations on the page, one line each."""
    results = Axe().run(page)
    return [
        f"{rule['id']} ({rule['impact']}): {node['target']} {node.get('failureSummary', '')}"
        for rule in results.response["violations"]
        if rule.get("impact") in BLOCKING
        for node in rule["nodes"]
    ]
