"""Text PostgreSQL cannot store: the NUL character (U+0000), in a text column or in JSON.

Upstream values may carry one (a stray byte of an imported CSV in a failed row's reason, a
metadata key). PostgreSQL refuses the whole statement for it, so a sync would stop at that
page for good and a page's archive write would fail. On PostgreSQL every str and JSON value
psycopg sends has U+FFFD in its place, as a browser shows a NUL anyway; SQLite stores NUL as
it is.
"""

from __future__ import annotations

import re
from typing import Any

NUL = "\x00"
STANDIN = "\ufffd"
# An escaped NUL inside a JSON string: "\u0000" after an even run of backslashes (each pair is
# one escaped backslash, so "\\u0000" is a backslash and the text "u0000", left as it is).
_ESCAPED_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
_ESCAPED_NUL_BYTES = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def text(value: str) -> str:
    return value.replace(NUL, STANDIN) if NUL in value else value


def json_text(encoded: str) -> str:
    """JSON text (as json.dumps writes it: a NUL only ever escaped) with the standin for every
    NUL in its strings."""
    return _ESCAPED_NUL.sub(r"\1\\ufffd", encoded) if "\\u0000" in encoded else encoded


def _json_bytes(encoded: bytes) -> bytes:
    return _ESCAPED_NUL_BYTES.sub(rb"\1\\ufffd", encoded) if b"\\u0000" in encoded else encoded


def use_on(connection: Any) -> None:
    """Make a new psycopg connection write the standin for NUL in str and JSON parameters."""
    from psycopg.types.json import Jsonb, JsonbDumper
    from psycopg.types.string import StrDumperUnknown  # psycopg's own for str

    class NulFreeStrDumper(StrDumperUnknown):
        def dump(self, obj: str) -> bytes:
            return super().dump(text(obj))

    class NulFreeJsonbDumper(JsonbDumper):
        def dump(self, obj: Any) -> bytes | None:
            dumped = super().dump(obj)
            return None if dumped is None else _json_bytes(bytes(dumped))

    connection.adapters.register_dumper(str, NulFreeStrDumper)
    connection.adapters.register_dumper(Jsonb, NulFreeJsonbDumper)


def on_connection_created(sender: object, connection: Any, **kwargs: object) -> None:
    """Django's connection_created: PostgreSQL connections write no NUL."""
    if connection.vendor == "postgresql":
        use_on(connection.connection)
