"""Typed, tolerant views of Voucherify's metadata schemas (`GET /v1/metadata-schemas`).

A schema is one `related_object` (customer, voucher, ...) with its metadata definitions keyed
by metadata key; a definition removed in Voucherify's dashboard stays listed with
`deleted: true` until it is purged. Parsing never fails on what may be added or left out:
a schema without a usable `related_object` is skipped, odd definitions keep what they say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .dates import parse_timestamp
from .errors import InvalidResponseError

MAX_KEY_LENGTH = 200  # a metadata key longer than this is cut (keys are short names)


@dataclass(frozen=True)
class MetadataDefinition:
    key: str
    type: str | None
    deleted: bool

    @classmethod
    def from_json(cls, key: str, data: object) -> MetadataDefinition:
        if not isinstance(data, Mapping):
            return cls(key=key, type=None, deleted=False)
        kind = data.get("type")
        return cls(key=key, type=kind[:40] if isinstance(kind, str) else None,
                   deleted=data.get("deleted") is True)


@dataclass(frozen=True)
class MetadataSchema:
    id: str | None
    related_object: str
    definitions: tuple[MetadataDefinition, ...]
    created_at: datetime | None
    updated_at: datetime | None
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object) -> MetadataSchema | None:
        """None for something that is not a schema of a named object."""
        if not isinstance(data, Mapping):
            return None
        related = data.get("related_object")
        if not isinstance(related, str) or not related.strip():
            return None
        properties = data.get("properties")
        definitions = ()
        if isinstance(properties, Mapping):
            definitions = tuple(
                MetadataDefinition.from_json(str(key)[:MAX_KEY_LENGTH], value)
                for key, value in properties.items()
            )
        schema_id = data.get("id")
        return cls(
            id=schema_id if isinstance(schema_id, str) else None,
            related_object=related.strip().lower()[:100],
            definitions=definitions,
            created_at=parse_timestamp(data.get("created_at")),
            updated_at=parse_timestamp(data.get("updated_at")),
            raw=dict(data),
        )

    def keys(self) -> dict[str, bool]:
        """{metadata key: marked deleted}."""
        return {definition.key: definition.deleted for definition in self.definitions}


def schemas_from_list(body: object) -> list[MetadataSchema]:
    """The schemas of a list response; InvalidResponseError when it holds no list at all."""
    if not isinstance(body, Mapping):
        raise InvalidResponseError("Voucherify's list of metadata schemas was not an object.")
    data_ref = body.get("data_ref")
    items = body.get(data_ref if isinstance(data_ref, str) else "schemas")
    if not isinstance(items, list):
        items = body.get("schemas")
    if not isinstance(items, list):
        raise InvalidResponseError("Voucherify's metadata schema response held no schemas list.")
    parsed = (MetadataSchema.from_json(item) for item in items)
    return [schema for schema in parsed if schema is not None]
