"""Take the README's screenshots: start `manage.py demo`, then PNGs of the list and a detail page.

    .venv/bin/python docs/screenshots.py          # writes docs/list.png and docs/detail.png

Uses Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH) through Playwright; a scratch
database; both servers stop at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.emulator.ports import free_port  # noqa: E402

DOCS = ROOT / "docs"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
USERNAME, PASSWORD = "support", "support-demo-password"  # the demo's public login
SIZE = {"width": 1440, "height": 900}


def start_demo(database: Path) -> tuple[subprocess.Popen, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("VOUCHERIFY_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DJANGO_DEBUG="1", DASHBOARD_EMULATOR="1", DJANGO_SQLITE_PATH=str(database),
               ACTIONS_POLL_INTERVAL="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(port),
         "--emulator-port", str(free_port())],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline, output = time.monotonic() + 180, []
    while time.monotonic() < deadline:
        line = demo.stdout.readline()
        output.append(line)
        if "Press Ctrl-C" in line:
            return demo, f"http://127.0.0.1:{port}"
        if not line and demo.poll() is not None:
            break
    demo.terminate()
    raise SystemExit("The demo did not start:\n" + "".join(output))


def shoot(url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport=SIZE)
        page.goto(f"{url}/accounts/login/")
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{url}/actions/?limit=10")
        failing = page.locator(".status-DONE-failures:visible").first
        failing.wait_for(timeout=60_000)  # the background reads fill the counts in
        page.wait_for_timeout(3000)
        page.screenshot(path=str(DOCS / "list.png"))
        failing.locator("xpath=ancestor::tr//a[starts-with(@href, '/actions/aa_')]").click()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(DOCS / "detail.png"))
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        demo, url = start_demo(Path(scratch) / "screenshots.sqlite3")
        try:
            shoot(url)
        finally:
            demo.terminate()
            demo.wait(timeout=20)
    print(f"Wrote {DOCS / 'list.png'} and {DOCS / 'detail.png'}")


if __name__ == "__main__":
    main()
