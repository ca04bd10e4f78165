"""Where a benchmark keeps the dashboard's database: SQLite by default, or PostgreSQL as
production runs (`--database-url URL`, or `--postgres` for a private server started for the
run: initdb into a temporary directory, a unix socket only, fsync off, deleted afterwards)."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def add_database_options(parser: argparse.ArgumentParser, sqlite: str) -> None:
    """`--database-url` and `--postgres`; `sqlite` says what the default is."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url",
                       help=f"an empty PostgreSQL database (default: {sqlite})")
    where.add_argument("--postgres", action="store_true", help="a private PostgreSQL server "
                       "started for the run (initdb into a temporary directory, a unix socket "
                       "only, fsync off), stopped and deleted afterwards")


def run_on_database(args: argparse.Namespace, run: Callable[[argparse.Namespace], None]) -> None:
    """run(args), with args.database_url naming the private server when --postgres asks one."""
    if not args.postgres:
        run(args)
        return
    from tests.helpers.services import PostgresServer

    server = PostgresServer().start()
    try:
        server.create_database()
        args.database_url = server.url
        run(args)
    finally:
        server.remove()
