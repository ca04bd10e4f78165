"""What PostgreSQL cannot store: NUL is written as U+FFFD, in text and inside JSON alike,
and nothing else changes (an escaped backslash before "u0000" is text, not a NUL).
The same on a real PostgreSQL: tests/test_replicas.py (hostile rows)."""

from __future__ import annotations

import json
import random

import pytest

from dashboard import postgres_text

PIECES = ["\x00", "\\", "u0000", "\\u0000", "\\\\u0000", '"', "a", "é", "\U0001d518", "\n", "\x01"]


def generated(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12))) for _ in range(count)]


@pytest.mark.parametrize("ascii_only", [True, False])
def test_every_nul_in_json_strings_and_keys_becomes_the_standin_and_nothing_else(ascii_only):
    rng = random.Random(7)
    texts = generated(rng, 2000)
    document = {"values": texts, **{f"k{n}{text}": text for n, text in enumerate(texts[:200])}}

    written = postgres_text.json_text(json.dumps(document, ensure_ascii=ascii_only))

    assert "\\u0000" not in written.replace("\\\\", "")  # no escaped NUL left
    expected = {"values": [text.replace("\x00", "\ufffd") for text in texts],
                **{f"k{n}{text}".replace("\x00", "\ufffd"): text.replace("\x00", "\ufffd")
                   for n, text in enumerate(texts[:200])}}
    assert json.loads(written) == expected


def test_json_without_a_nul_is_returned_as_it_is():
    encoded = json.dumps({"a": "\\u0000 is text here", "b": ["u0000"]})
    assert postgres_text.json_text(encoded) is encoded


def test_text_keeps_everything_but_nul():
    rng = random.Random(11)
    for text in generated(rng, 500):
        assert postgres_text.text(text) == text.replace("\x00", "\ufffd")


def test_numbers_json_has_not_become_text_and_the_rest_is_left_as_it_is():
    rng = random.Random(13)
    specials = [float("nan"), float("inf"), float("-inf"), 1.5, -0.0, 10**30, "NaN",
                "Infinity and beyond", None, True]
    document = [{"n": rng.choice(specials),
                 "nested": [rng.choice(specials), {"k": rng.choice(specials)}]}
                for _ in range(300)]

    written = json.loads(postgres_text.json_dumps(document))

    def expected(value):
        if isinstance(value, float) and value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        if isinstance(value, list):
            return [expected(item) for item in value]
        if isinstance(value, dict):
            return {key: expected(item) for key, item in value.items()}
        return value

    assert written == expected(document)


def test_json_without_non_finite_numbers_is_dumped_once_and_kept_as_it_is():
    calls = []

    def dumps(value):
        calls.append(value)
        return json.dumps(value)

    plain = {"a": "ok", "b": 1.5}
    assert postgres_text.json_dumps(plain, dumps) == json.dumps(plain)
    assert len(calls) == 1
    named = {"a": "Infinity and NaN, as text", "b": 1.5}
    assert postgres_text.json_dumps(named, dumps) == json.dumps(named)
