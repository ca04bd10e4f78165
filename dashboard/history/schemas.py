"""Metadata schema history: snapshots when the schemas changed, and which key a purge removed.

A purge action names no key (NOTES.md, "Metadata schemas"). The key it purged is the one
whose definition for that object type left the schema between the last snapshot before the
purge started and the first one after it finished. Nothing is guessed: several such keys are
listed as candidates, and a purge the snapshots do not bracket says why it is not known.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from dashboard.voucherify import catalog
from dashboard.voucherify.schemas import MetadataSchema

from .audit_models import SchemaSnapshot
from .purge_reads import stamp_text

SCHEMA_SOURCE = "metadata schema history"
# catalog's plural object type of a purge -> the schema's related_object
RELATED_OBJECTS = {"campaigns": "campaign", "customers": "customer", "products": "product",
                   "vouchers": "voucher", "orders": "order"}


def record_schemas(schemas: Sequence[MetadataSchema], *, now: datetime | None = None) -> int:
    """Store a snapshot of each object type whose keys changed; returns how many were new.

    An object type that was known and is no longer listed is stored as having no keys.
    """
    now = now or timezone.now()
    seen = _merged(schemas)
    created = 0
    with transaction.atomic():
        latest = _latest_snapshots()
        for related in sorted(set(seen) | set(latest)):
            keys, updated_at = seen.get(related, ({}, None))
            digest = _digest(keys)
            previous = latest.get(related)
            if previous is not None and previous.digest == digest:
                SchemaSnapshot.objects.filter(pk=previous.pk).update(confirmed_at=now)
                continue
            SchemaSnapshot.objects.create(
                related_object=related, keys=keys, digest=digest, taken_at=now,
                confirmed_at=now, schema_updated_at=updated_at,
            )
            created += 1
    return created


def _merged(schemas: Sequence[MetadataSchema]
            ) -> dict[str, tuple[dict[str, bool], datetime | None]]:
    """related_object -> (its keys, its newest updated_at). related_object is read lower-cased,
    so a custom "Customer" schema and the standard "customer" one are one object type here:
    their keys are joined (one schema must not hide the other's), a key shared by both is
    marked deleted only when both mark it so."""
    merged: dict[str, tuple[dict[str, bool], datetime | None]] = {}
    for schema in schemas:
        keys, updated_at = merged.get(schema.related_object, ({}, None))
        for key, deleted in schema.keys().items():
            keys[key] = keys[key] and deleted if key in keys else deleted
        if schema.updated_at is not None and (updated_at is None
                                              or schema.updated_at > updated_at):
            updated_at = schema.updated_at
        merged[schema.related_object] = (keys, updated_at)
    return merged


def _latest_snapshots() -> dict[str, SchemaSnapshot]:
    latest: dict[str, SchemaSnapshot] = {}
    for snapshot in SchemaSnapshot.objects.order_by("related_object", "taken_at", "id"):
        latest[snapshot.related_object] = snapshot
    return latest


def _digest(keys: dict[str, bool]) -> str:
    return hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class KeyAttribution:
    """What the schema history says about the key one purge removed.

    `keys`: the one key (known), several candidates, or none; `source` names where it comes
    from ("" when not known); `wording` is the sentence the audit shows.
    """

    keys: tuple[str, ...]
    source: str
    wording: str
    why: str = ""  # for candidates: why there are several

    @property
    def known(self) -> bool:
        return len(self.keys) == 1

    @property
    def key_text(self) -> str:
        """The CSV's `key` cell: the key, or the candidates joined with " or "."""
        return " or ".join(self.keys)


@dataclass(frozen=True)
class KeyLife:
    """When one key was first seen defined, first seen marked deleted, and first seen gone."""

    key: str
    defined: datetime
    deleted: datetime | None
    gone: datetime | None


class Reading(NamedTuple):
    """One stored snapshot, as plain values (no model instance per snapshot)."""

    related_object: str
    keys: dict[str, bool]
    taken_at: datetime
    confirmed_at: datetime


class SchemaHistory:
    """Every snapshot, loaded once: attribution for many purges costs no further query."""

    def __init__(self, snapshots: Iterable[Reading | SchemaSnapshot]) -> None:
        self._by_object: dict[str, list[Reading | SchemaSnapshot]] = {}
        for snapshot in snapshots:
            self._by_object.setdefault(snapshot.related_object, []).append(snapshot)
        self._times = {related: [s.taken_at for s in rows]
                       for related, rows in self._by_object.items()}
        # confirmed_at only grows along one object's snapshots (each is confirmed before the
        # next one is taken), so both lists can be bisected.
        self._confirmed = {related: [s.confirmed_at for s in rows]
                           for related, rows in self._by_object.items()}
        self._memo: dict[tuple[str, int, int], KeyAttribution] = {}
        self._texts: tuple[dict[str, list[str]], dict[str, list[str]]] | None = None

    @classmethod
    def load(cls) -> SchemaHistory:
        rows = SchemaSnapshot.objects.order_by("taken_at", "id").values_list(*Reading._fields)
        return cls(Reading(*row) for row in rows)

    def related_objects(self) -> list[str]:
        return sorted(self._by_object)

    def first_read(self) -> datetime | None:
        firsts = [rows[0].taken_at for rows in self._by_object.values()]
        return min(firsts) if firsts else None

    def attribute(self, object_type: str, started: datetime, finished: datetime | None
                  ) -> KeyAttribution:
        return self._attribute(object_type, started, finished, self._times, self._confirmed)

    def attribute_at(self, object_type: str, started: str, finished: str | None
                     ) -> KeyAttribution:
        """attribute() for timestamps as purge_reads' text (a big CSV: no datetime per row);
        that text sorts as the moments do."""
        if self._texts is None:
            self._texts = tuple({related: [stamp_text(moment) for moment in moments]
                                 for related, moments in lists.items()}
                                for lists in (self._times, self._confirmed))
        return self._attribute(object_type, started, finished, *self._texts)

    def _attribute(self, object_type: str, started: datetime | str,
                   finished: datetime | str | None, times: dict[str, list],
                   confirmed: dict[str, list]) -> KeyAttribution:
        related = RELATED_OBJECTS.get(object_type, object_type.rstrip("s"))
        rows = self._by_object.get(related, [])
        if not rows:
            return _unknown("no schema history yet" if not self._by_object
                            else f"no {related} schema history yet")
        index = bisect.bisect_right(times[related], started) - 1
        if index < 0:
            return self._before_history(related)
        finished = max(finished or started, started)
        after = bisect.bisect_left(confirmed[related], finished, lo=index)
        if after >= len(rows):
            return _unknown("no schema read since the purge finished yet")
        # Purges between the same two snapshots get the same answer: computed once.
        memo = (related, index, after)
        if memo not in self._memo:
            self._memo[memo] = self._between(related, rows, index, after)
        return self._memo[memo]

    def _before_history(self, related: str) -> KeyAttribution:
        memo = (related, -1, -1)  # the sentence is made once per object type
        if memo not in self._memo:
            first = self._by_object[related][0].taken_at
            self._memo[memo] = _unknown(f"no schema history from before {_day(first)}")
        return self._memo[memo]

    @staticmethod
    def _between(related: str, rows: Sequence[Reading | SchemaSnapshot], index: int,
                 after: int) -> KeyAttribution:
        gone_after = rows[after].keys
        left = sorted({key for row in rows[index:after] for key in row.keys} - set(gone_after))
        span = f"between {_moment(rows[index].taken_at)} and {_moment(rows[after].taken_at)}"
        if not left:
            return _unknown(f"no key left the {related} schema {span}")
        if len(left) == 1:
            return KeyAttribution(tuple(left), SCHEMA_SOURCE,
                                  f"Key: {left[0]} (from the metadata schema's history)")
        why = f"several keys left the {related} schema {span}; from the metadata schema's history"
        return KeyAttribution(tuple(left), SCHEMA_SOURCE,
                              f"Candidates: {', '.join(left)} ({why})", why)

    def lives(self, related: str) -> list[KeyLife]:
        """Per key of one object type: first seen defined, marked deleted, and gone."""
        rows = self._by_object.get(related, [])
        found: dict[str, dict[str, datetime | None]] = {}
        for row in rows:
            for key, deleted in row.keys.items():
                life = found.setdefault(key, {"defined": row.taken_at, "deleted": None,
                                              "gone": None})
                if deleted and life["deleted"] is None:
                    life["deleted"] = row.taken_at
                life["gone"] = None  # back again (or still there)
            for key, life in found.items():
                if key not in row.keys and life["gone"] is None:
                    life["gone"] = row.taken_at
        return [KeyLife(key, **life) for key, life in sorted(found.items())]


@functools.lru_cache(maxsize=256)  # the same few sentences for thousands of purges
def _unknown(reason: str) -> KeyAttribution:
    return KeyAttribution((), "", f"not known: {reason}")


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _moment(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def finished_at(created_at: datetime, updated_at: datetime | None,
                duration_ms: int | None) -> datetime:
    """When a purge ended (its definition left the schema then): updated_at, else by duration."""
    if updated_at is not None:
        return updated_at
    return created_at + timedelta(milliseconds=duration_ms or 0)


def key_attribution(action: object, history: SchemaHistory | None = None) -> KeyAttribution:
    """The key a purge removed, for one archived or upstream purge action (any object with
    `type`, `created_at`, `updated_at` and optionally `duration_ms`/`processing_time`)."""
    action_type = str(getattr(action, "type", ""))
    object_type = (catalog.PURGE_OBJECT_TYPES.get(action_type)
                   or catalog.prefix_of(action_type).lower())
    created = action.created_at
    duration = getattr(action, "duration_ms", None) or getattr(action, "processing_time", None)
    finished = finished_at(created, getattr(action, "updated_at", None), duration)
    return (history or SchemaHistory.load()).attribute(object_type, created, finished)
