"""The purge audit at scale: fill N archived actions, then time its pages and its CSV.

    .venv/bin/python bench/purges.py --actions 1000000 [--database-url URL]

Fills a fresh SQLite database in a temporary folder (or the given PostgreSQL database, whose
archive tables are emptied first) through the project's own models: every type, ~10% FAILED,
~2% metadata key purges with details, schema snapshots and notes. Then, in-process (Django's
test client, no network; CPU time of the process): the first, a second (keyset), the last
and a filtered page of /audit/purges/, and the whole /audit/purges.csv. Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 5_000
REPEAT = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=100_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-purges-"))
    try:
        _setup_django(workdir, args.database_url)
        print(json.dumps(run(args.actions)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _setup_django(workdir: Path, database_url: str | None) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings_test")
    os.environ["DJANGO_SQLITE_PATH"] = str(workdir / "bench.sqlite3")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(total: int) -> int:
    """Archived actions through the models; returns how many are purges."""
    from django.contrib.auth import get_user_model

    from dashboard.history.models import ArchivedAction, PurgeNote, SchemaSnapshot
    from dashboard.history.purges import records_text, user_text
    from dashboard.voucherify import catalog

    ArchivedAction.objects.all().delete()
    SchemaSnapshot.objects.all().delete()
    PurgeNote.objects.filter(author_name="bench").delete()
    rng = random.Random(14)
    others = [t for t in catalog.KNOWN_TYPES if not t.endswith(catalog.PURGE_SUFFIX)]
    purge_types = list(catalog.PURGE_OBJECT_TYPES)
    now = datetime.now(UTC)
    span = timedelta(days=365).total_seconds()
    purges = 0
    for start in range(0, total, BATCH):
        rows = []
        for n in range(start, min(total, start + BATCH)):
            created = now - timedelta(seconds=rng.random() * span)
            purge = rng.random() < 0.02
            action_type = rng.choice(purge_types if purge else others)
            status = "FAILED" if rng.random() < 0.1 else "DONE"
            result = ({"message": f"Updated {rng.randrange(1, 90_000)} customers.",
                       "done_count": rng.randrange(1, 90_000)} if purge else None)
            user = {"id": "user_1", "email": f"user{rng.randrange(20)}@example.com"}
            raw = {"id": f"aa_{n:018x}", "type": action_type, "status": status}
            purges += purge
            rows.append(ArchivedAction(
                id=f"aa_{n:018x}", type=action_type, context=catalog.context_of(action_type),
                status=status, created_at=created, updated_at=created + timedelta(seconds=3),
                duration_ms=3000, request_id=f"w-{n:018x}", user=user if purge else None,
                log_id=f"log_{n}" if purge else "", result=result, raw=raw,
                started_by=user_text(user) if purge else "",
                records_updated=records_text(result) if purge else "",
                has_detail=purge or status == "FAILED", first_seen=now, last_synced=now,
            ))
        ArchivedAction.objects.bulk_create(rows, batch_size=1000)
    for day in range(0, 365, 7):  # a schema read a week, each one a change
        taken = now - timedelta(days=365 - day)
        for related in ("customer", "voucher", "order", "product", "campaign"):
            keys = {f"key_{k}": False for k in range(day // 7, day // 7 + 20)}
            SchemaSnapshot.objects.create(related_object=related, keys=keys, digest=str(day),
                                          taken_at=taken, confirmed_at=taken)
    author = get_user_model().objects.filter(is_superuser=True).first()
    for action_id in (ArchivedAction.objects.filter(context="METADATA_KEY_PURGE")
                      .values_list("pk", flat=True)[:200]):
        PurgeNote.objects.create(action_id=action_id, author=author, author_name="bench",
                                 ticket="SEC-1", text="bench note")
    return purges


def _ms(client, url: str) -> float:
    """Median CPU milliseconds of this process (the database is in-process for SQLite), which
    a shared, busy machine disturbs far less than wall-clock time."""
    times = []
    for _ in range(REPEAT):
        started = time.process_time()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        times.append((time.process_time() - started) * 1000)
    return round(statistics.median(times), 1)


def run(total: int) -> dict:
    from bs4 import BeautifulSoup
    from django.contrib.auth import get_user_model
    from django.test import Client

    started = time.perf_counter()
    purges = fill(total)
    fill_s = time.perf_counter() - started
    user = get_user_model().objects.create_superuser("bench-admin", password="unused-1234")
    client = Client()
    client.force_login(user)
    page = "/audit/purges/"
    first = client.get(page)
    older = BeautifulSoup(first.content, "html.parser").select_one('nav.pager a[rel="next"]')
    figures = {
        "actions": total,
        "purges": purges,
        "fill_s": round(fill_s, 1),
        "purges_page_first_ms": _ms(client, page),
        "purges_page_second_ms": _ms(client, page + older["href"]) if older else None,
        "purges_page_last_ms": _ms(client, page + "?page=999999"),
        "purges_page_filtered_ms": _ms(client, page + "?object=customers"),
    }
    started = time.process_time()
    response = client.get("/audit/purges.csv")
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
    seconds = time.process_time() - started
    figures["purges_csv_rows"] = lines
    figures["purges_csv_rows_per_s"] = round(lines / seconds)
    return figures


if __name__ == "__main__":
    main()
