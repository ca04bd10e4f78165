"""What PostgreSQL refuses that upstream may send: the NUL character (U+0000) in text or JSON,
and NaN or Infinity in JSON (Python's json reads and writes them; JSON has no such numbers).

PostgreSQL refuses the whole statement for one of them, so a sync would stop at that page for
good and a page's archive write would fail. On PostgreSQL every str and JSON value psycopg
sends has U+FFFD for NUL (as a browser shows a NUL anyway) and the texts "NaN", "Infinity" and
"-Infinity" for those numbers; SQLite stores them as they came.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from typing import Any

NUL = "\x00"
STANDIN = "\ufffd"
# An escaped NUL inside a JSON string: "\u0000" after an even run of backslashes (each pair is
# one escaped backslash, so "\\u0000" is a backslash and the text "u0000", left as it is).
_ESCAPED_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def text(value: str) -> str:
    return value.replace(NUL, STANDIN) if NUL in value else value


def json_text(encoded: str) -> str:
    """JSON text (as json.dumps writes it: a NUL only ever escaped) with the standin for every
    NUL in its strings."""
    return _ESCAPED_NUL.sub(r"\1\\ufffd", encoded) if "\\u0000" in encoded else encoded


def json_dumps(value: object, dumps: Callable[[object], str | bytes] = json.dumps) -> str:
    """`dumps(value)` as PostgreSQL takes it. A non-finite number is looked for only when the
    text holds its name (rare), and then written as text."""
    encoded = dumps(value)
    if isinstance(encoded, bytes):
        encoded = encoded.decode()
    if "NaN" in encoded or "Infinity" in encoded:
        encoded = dumps(_finite(value))
        encoded = encoded.decode() if isinstance(encoded, bytes) else encoded
    return json_text(encoded)


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


@functools.cache
def _dumpers() -> tuple[type, type, type]:
    """(psycopg's Jsonb, and the dumpers for str and Jsonb that write what PostgreSQL takes),
    made once: psycopg is imported only where PostgreSQL is used."""
    from psycopg.types.json import Jsonb, JsonbDumper
    from psycopg.types.string import StrDumperUnknown  # psycopg's own for str

    class NulFreeStrDumper(StrDumperUnknown):
        def dump(self, obj: str) -> bytes:
            return super().dump(text(obj))

    class PostgresJsonbDumper(JsonbDumper):
        def dump(self, obj: Any) -> bytes:
            dumps = (obj.dumps or self.dumps) if isinstance(obj, Jsonb) else self.dumps
            return json_dumps(obj.obj if isinstance(obj, Jsonb) else obj, dumps).encode()

    return Jsonb, NulFreeStrDumper, PostgresJsonbDumper


def use_on(connection: Any) -> None:
    """Make a new psycopg connection write str and JSON parameters as PostgreSQL takes them."""
    jsonb, str_dumper, jsonb_dumper = _dumpers()
    connection.adapters.register_dumper(str, str_dumper)
    connection.adapters.register_dumper(jsonb, jsonb_dumper)


def on_connection_created(sender: object, connection: Any, **kwargs: object) -> None:
    """Django's connection_created: PostgreSQL connections write only what PostgreSQL takes."""
    if connection.vendor == "postgresql":
        use_on(connection.connection)
