"""The emulator's metadata schemas: the documented contract, a seeded history that matches the
seeded purges, and key purges started through the control API."""

from __future__ import annotations

import copy
import time
from functools import cache

import pytest
from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from dashboard.emulator.control import ControlError
from dashboard.emulator.schemas import CURRENT_KEYS, PURGE_TYPES
from tests.test_emulator_auth import assert_unauthorized, bearer, issue
from tests.test_emulator_contract import _load, all_ids

SCHEMAS_DOC = "metadata-schemas.openapi.json"
LIST, ONE = "/v1/metadata-schemas", "/v1/metadata-schemas/{resource}"


def _nullable_to_draft4(node: object) -> None:
    """OpenAPI 3.0's `nullable: true` is draft 4's `type: [T, "null"]`."""
    if isinstance(node, dict):
        if node.pop("nullable", False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for value in node.values():
            _nullable_to_draft4(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_to_draft4(value)


@cache
def _validator(schema_name: str) -> Draft4Validator:
    document = copy.deepcopy(_load(SCHEMAS_DOC))
    _nullable_to_draft4(document)
    # The list body's `required` names "data", yet its `data_ref` enum and its properties name
    # the array "schemas" (as the documented example does): the example is the contract.
    listed = document["components"]["schemas"]["MetadataSchemasListResponseBody"]
    listed["required"] = ["object", "data_ref", "schemas", "total"]
    registry = Registry().with_resource("urn:doc", DRAFT4.create_resource(document))
    return Draft4Validator({"$ref": f"urn:doc#/components/schemas/{schema_name}"},
                           registry=registry)


def assert_valid(body: object, schema_name: str) -> None:
    errors = [f"{list(e.path)}: {e.message}" for e in _validator(schema_name).iter_errors(body)]
    assert not errors, errors


def test_the_documented_example_validates_with_the_same_reading_of_the_document():
    operation = _load(SCHEMAS_DOC)["paths"][LIST]["get"]
    example = operation["responses"]["200"]["content"]["application/json"]["examples"]
    assert_valid(example["Example"]["value"], "MetadataSchemasListResponseBody")


def test_the_list_and_each_schema_validate(emulator):
    listed = emulator.api(LIST)
    assert listed.status == 200
    body = listed.json()
    assert_valid(body, "MetadataSchemasListResponseBody")
    assert body["total"] == len(body["schemas"]) == len(CURRENT_KEYS)
    for schema in body["schemas"]:
        one = emulator.api(f"{LIST}/{schema['related_object']}")
        assert one.status == 200
        assert_valid(one.json(), "MetadataSchemasGetResponseBody")
        assert one.json() == schema


def test_an_unknown_resource_is_a_documented_404(emulator):
    response = emulator.api(f"{LIST}/earning_rules")
    assert response.status == 404
    assert_valid(response.json(), "Error")
    assert response.json()["resource_type"] == "metadata schema"


@pytest.mark.parametrize("scope, allowed", [
    ("metadata-schemas", True), ("api", True), ("async-actions metadata-schemas", True),
    ("async-actions", False),
])
def test_bearer_tokens_need_the_metadata_schemas_scope(emulator, scope, allowed):
    response = emulator.api(LIST, headers=bearer(issue(emulator, scope=scope)))
    if allowed:
        assert response.status == 200
    else:
        assert_unauthorized(response, "metadata-schemas")


def _served_keys(emulator) -> dict[str, dict]:
    return {s["related_object"]: s["properties"] for s in emulator.api(LIST).json()["schemas"]}


def test_the_seeded_history_matches_the_seeded_purges(emulator):
    purges = {}
    for action_id in all_ids(emulator):
        action = emulator.api(f"/v1/async-actions/{action_id}").json()
        if action["type"].endswith(".METADATA_KEY_PURGE"):
            purges[action_id] = action
    history = emulator.schema_history()
    purged = {life["action_id"]: life for life in history if life["action_id"]}
    assert set(purged) == set(purges) and len(purges) == 41
    served = _served_keys(emulator)
    for action_id, life in purged.items():
        action = purges[action_id]
        assert PURGE_TYPES[life["related_object"]] == action["type"]
        assert life["deleted_at"] < action["created_at"] <= life["gone_at"]
        assert life["key"] not in served[life["related_object"]]  # purged: gone now
    removed = {(life["related_object"], life["key"]) for life in history
               if life["deleted_at"] and not life["gone_at"]}
    assert removed and all(served[related][key]["deleted"] is True for related, key in removed)


def test_a_purge_through_the_control_api_marks_runs_and_removes_the_key(emulator):
    assert "deleted" not in _served_keys(emulator)["customer"]["loyalty_tier"]
    action = emulator.purge_metadata_key("customer", "loyalty_tier", duration=1)
    assert action["type"] == "CUSTOMERS.METADATA_KEY_PURGE" and action["id"].startswith("aa_")
    assert action["status"] in ("ENQUEUED", "IN_PROGRESS")
    assert _served_keys(emulator)["customer"]["loyalty_tier"]["deleted"] is True
    with pytest.raises(ControlError, match="already being purged"):
        emulator.purge_metadata_key("customer", "loyalty_tier")
    deadline = time.monotonic() + 10
    while emulator.api(f"/v1/async-actions/{action['id']}").json()["status"] != "DONE":
        assert time.monotonic() < deadline, "the purge never finished"
        time.sleep(0.1)
    done = emulator.api(f"/v1/async-actions/{action['id']}").json()
    assert "loyalty_tier" not in _served_keys(emulator)["customer"]
    assert done["result"]["message"] == f"Updated {done['result']['done_count']} customers."
    assert done["request_id"].startswith("w-") and done["user"]["email"]
    assert_valid(emulator.api(f"{LIST}/customer").json(), "MetadataSchemasGetResponseBody")


@pytest.mark.parametrize("body, sentence", [
    ({"related_object": "customer", "key": "no_such_key"}, "The customer schema has no key"),
    ({"related_object": "coupon", "key": "loyalty_tier"}, "There is no metadata schema for"),
    ({"related_object": "redemption", "key": "channel"}, "cannot be purged"),
    ({"related_object": "customer"}, "key must be a non-empty string"),
    ({"related_object": "customer", "key": "loyalty_tier", "duration": -1}, "duration must be"),
    ({"related_object": "customer", "key": "loyalty_tier", "colour": 1}, "Unknown fields"),
])
def test_unknown_keys_and_objects_get_a_400_with_a_sentence(emulator, body, sentence):
    with pytest.raises(ControlError, match="HTTP 400") as refused:
        emulator._call("POST", "/_emulator/metadata-schemas/purge", body)
    assert sentence in str(refused.value)
    assert "deleted" not in _served_keys(emulator)["customer"]["loyalty_tier"]
