"""Metadata schemas: a seeded history matching the seeded purges, and purges while it runs.

Every seeded `*.METADATA_KEY_PURGE` action purged one key: that key was defined, marked
`deleted` before the purge and left the schema when the purge finished, so the schemas served
now no longer hold it. Keys purged through the control API follow the same life on the
clock: marked `deleted` at once, gone when the created action finishes.
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .responses import Response, error, json_response
from .results import hex_id
from .seed import USERS, seed_history
from .timeutil import format_ms

DAY_MS = 86_400_000
# related_object -> the purge type of its keys (Redemption and Publication have none).
PURGE_TYPES = {
    "campaign": "CAMPAIGNS.METADATA_KEY_PURGE",
    "customer": "CUSTOMERS.METADATA_KEY_PURGE",
    "product": "PRODUCTS.METADATA_KEY_PURGE",
    "voucher": "VOUCHERS.METADATA_KEY_PURGE",
    "order": "ORDERS.METADATA_KEY_PURGE",
}
RELATED_OF_TYPE = {purge_type: related for related, purge_type in PURGE_TYPES.items()}
# Keys defined now: (key, type, deleted). `deleted`: removed in the dashboard, not purged yet.
CURRENT_KEYS = {
    "campaign": (("locale", "string", False), ("region", "string", False),
                 ("budget_owner", "string", True)),
    "customer": (("loyalty_tier", "string", False), ("birth_date", "date", False),
                 ("acquisition_channel", "string", False), ("crm_score", "number", True)),
    "product": (("color", "string", False), ("origin", "string", False)),
    "voucher": (("store_code", "string", False), ("legacy_batch", "string", True)),
    "order": (("day_of_week", "number", False), ("payment_mean", "string", False)),
    "redemption": (("channel", "string", False),),
    "publication": (("campaign_source", "string", False),),
}
# Names of the keys the seeded purges removed (a number is added to keep them unique).
PURGED_WORDS = ("old_segment", "promo_flag", "import_batch", "legacy_id", "test_key",
                "referral_code", "sync_marker", "temp_score")


@dataclass
class KeyLife:
    """One metadata key: defined, marked deleted (ms or None), gone (ms or None)."""

    related_object: str
    key: str
    type: str
    defined_ms: int
    deleted_ms: int | None = None
    gone_ms: int | None = None
    action_id: str | None = None  # the purge that removed it

    def present(self, now_ms: int) -> bool:
        return self.defined_ms <= now_ms and (self.gone_ms is None or now_ms < self.gone_ms)

    def view(self) -> dict:
        return {"related_object": self.related_object, "key": self.key,
                "defined_at": format_ms(self.defined_ms),
                "deleted_at": format_ms(self.deleted_ms) if self.deleted_ms else None,
                "gone_at": format_ms(self.gone_ms) if self.gone_ms else None,
                "action_id": self.action_id}


class SchemaBook:
    """Thread-safe; what is served is a function of the clock (`now_ms`)."""

    def __init__(self, seed: int, start_ms: int, now_ms: Callable[[], int]) -> None:
        self.seed, self.start_ms, self.now_ms = seed, start_ms, now_ms
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._keys = seeded_keys(self.seed, self.start_ms)
            self.rng = random.Random(f"{self.seed}/purges")

    def schemas(self) -> list[dict]:
        now = self.now_ms()
        with self._lock:
            return [self._render(related, now) for related in CURRENT_KEYS]

    def schema(self, resource: str) -> dict | None:
        now = self.now_ms()
        with self._lock:
            return self._render(resource, now) if resource in CURRENT_KEYS else None

    def history(self) -> list[dict]:
        with self._lock:
            return [life.view() for life in self._keys]

    def start_purge(self, related_object: str, key: str, duration_ms: int,
                    create: Callable[[str], dict]) -> dict:
        """Mark the key deleted, create the purge action, drop the key when it finishes."""
        if related_object not in CURRENT_KEYS:
            raise ValueError(f"There is no metadata schema for {related_object[:60]!r}; known: "
                             f"{', '.join(CURRENT_KEYS)}.")
        if related_object not in PURGE_TYPES:
            raise ValueError(f"Keys of the {related_object} schema cannot be purged.")
        now = self.now_ms()
        with self._lock:
            life = next((k for k in self._keys if k.related_object == related_object
                         and k.key == key and k.present(now)), None)
            if life is None:
                raise ValueError(f"The {related_object} schema has no key {key[:60]!r}.")
            if life.gone_ms is not None:
                raise ValueError(f"The key {key!r} is already being purged.")
            action = create(PURGE_TYPES[related_object])
            life.deleted_ms = life.deleted_ms or now
            life.gone_ms = now + duration_ms
            life.action_id = action["id"]
            return action

    def _render(self, related: str, now: int) -> dict:
        lives = [life for life in self._keys if life.related_object == related]
        changes = [m for life in lives for m in (life.defined_ms, life.deleted_ms, life.gone_ms)
                   if m is not None and m <= now]
        properties = {}
        for life in lives:
            if life.present(now):
                definition = {"type": life.type, "array": False, "optional": True,
                              "objectType": None}
                if life.deleted_ms is not None and life.deleted_ms <= now:
                    definition["deleted"] = True
                properties[life.key] = definition
        created = min(life.defined_ms for life in lives)
        updated = max(changes)
        return {
            "id": f"ms_{related}{self.seed:x}"[:28],
            "related_object": related,
            "properties": properties,
            "allow_defined_only": False,
            "created_at": format_ms(created),
            "updated_at": format_ms(updated) if updated > created else None,
            "object": "metadata_schema",
        }


def seeded_keys(seed: int, start_ms: int) -> list[KeyLife]:
    """The current keys, defined before the history, and one purged key per seeded purge."""
    rng = random.Random(f"{seed}/metadata-schemas")
    origin = start_ms - 90 * DAY_MS
    keys = [
        KeyLife(related, key, kind, origin + rng.randrange(DAY_MS),
                deleted_ms=start_ms - rng.randrange(DAY_MS, 2 * DAY_MS) if deleted else None)
        for related, definitions in CURRENT_KEYS.items()
        for key, kind, deleted in definitions
    ]
    for number, action in enumerate(reversed(seed_history(seed, start_ms))):
        related = RELATED_OF_TYPE.get(action.type)
        if related is None:
            continue
        word = PURGED_WORDS[number % len(PURGED_WORDS)]
        keys.append(KeyLife(
            related, f"{word}_{number}", rng.choice(("string", "number", "boolean")),
            origin + rng.randrange(DAY_MS),
            deleted_ms=action.created_ms - rng.randrange(60_000, DAY_MS),
            gone_ms=action.created_ms + action.duration_ms, action_id=action.id,
        ))
    return keys


def list_response(book: SchemaBook) -> Response:
    """GET /v1/metadata-schemas"""
    schemas = book.schemas()
    return json_response(200, {"object": "list", "data_ref": "schemas", "schemas": schemas,
                               "total": len(schemas)})


def get_response(book: SchemaBook, resource: str) -> Response:
    """GET /v1/metadata-schemas/{resource}"""
    schema = book.schema(resource)
    if schema is None:
        return error(404, f"Cannot find metadata schema with id {resource}",
                     resource_id=resource, resource_type="metadata schema")
    return json_response(200, schema)


def purge_request(body: dict) -> tuple[str, str]:
    """(related_object, key) of a control request; ValueError with a sentence."""
    unknown = set(body) - {"related_object", "key", "duration"}
    if unknown:
        raise ValueError(f"Unknown fields {sorted(unknown)}; known: related_object, key, "
                         "duration")
    related, key = body.get("related_object"), body.get("key")
    if not isinstance(related, str) or not related.strip():
        raise ValueError("related_object must be a non-empty string, such as customer")
    if not isinstance(key, str) or not key:
        raise ValueError("key must be a non-empty string, such as loyalty_tier")
    return related.strip().lower(), key


def purge_fields(rng: random.Random, related: str) -> dict:
    """Result, user and audit-log entry of a purge started from Voucherify's dashboard."""
    count = rng.randrange(1, 5_000)
    noun = PURGE_TYPES[related].split(".")[0].lower()
    return {"result": {"message": f"Updated {count} {noun}.", "done_count": count},
            "user": copy.deepcopy(rng.choice(USERS)), "log_id": hex_id(rng, "log_")}
