"""Every emulator response validates against Voucherify's own OpenAPI documents."""

from __future__ import annotations

import copy
import json
from functools import cache

import pytest
from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from dashboard.emulator.results import COUNTED, IMPORT_ROWS, KNOWN_TYPES, REPORTED
from dashboard.emulator.seed import UNKNOWN_TYPE
from dashboard.emulator.timeutil import format_ms, parse_end_date
from dashboard.voucherify import catalog
from tests.helpers.repo import ROOT

DOCS_DIR = ROOT / "dashboard" / "emulator" / "openapi"
ASYNC_DOC = "async-actions.openapi.json"
OAUTH_DOC = "oauth.openapi.json"


def _load(name: str) -> dict:
    return json.loads((DOCS_DIR / name).read_text())


@cache
def _validator(doc_name: str, schema_name: str) -> Draft4Validator:
    document = copy.deepcopy(_load(doc_name))
    if doc_name == ASYNC_DOC:
        # `AsyncAction.result` is a oneOf of 22 per-type schemas, but they overlap: none sets
        # additionalProperties and few require anything, so a documented example such as
        # {"message": ..., "done_count": 2} matches several alternatives and oneOf would reject
        # it. The type field tells which alternative applies, which JSON Schema cannot
        # express here, so results are validated with anyOf semantics.
        result = document["components"]["schemas"]["AsyncAction"]["allOf"][1]["properties"][
            "result"
        ]
        result["anyOf"] = result.pop("oneOf")
    # OpenAPI 3.0 schema objects are close to draft 4 (no nullable is used in these ones).
    registry = Registry().with_resource("urn:doc", DRAFT4.create_resource(document))
    return Draft4Validator(
        {"$ref": f"urn:doc#/components/schemas/{schema_name}"}, registry=registry
    )


def assert_valid(body: object, schema_name: str, doc_name: str = ASYNC_DOC) -> None:
    """Validate; an undocumented type may break only the `type` enum (NOTES: new types appear)."""
    errors = [
        error for error in _validator(doc_name, schema_name).iter_errors(body)
        if not (error.validator == "enum" and list(error.path)[-1:] == ["type"]
                and error.instance not in KNOWN_TYPES)
    ]
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def documented_examples() -> dict[str, dict]:
    operation = _load(ASYNC_DOC)["paths"]["/v1/async-actions/{asyncActionId}"]["get"]
    examples = operation["responses"]["200"]["content"]["application/json"]["examples"]
    return {name: example["value"] for name, example in examples.items()}


def all_ids(emulator) -> list[str]:
    ids, end_date = [], None
    while True:
        query = "?limit=100" + (f"&end_date={end_date}" if end_date else "")
        page = emulator.api(f"/v1/async-actions{query}").json()
        ids.extend(item["id"] for item in page["async_actions"])
        if not page["has_more"]:
            return list(dict.fromkeys(ids))
        # Strictly-before cursor one millisecond after the last item keeps its tied siblings.
        end_date = _plus_one_ms(page["async_actions"][-1]["created_at"])


def _plus_one_ms(stamp: str) -> str:
    return format_ms(parse_end_date(stamp) + 1)


@pytest.mark.parametrize(
    "known", [KNOWN_TYPES, tuple(catalog.KNOWN_TYPES)], ids=["emulator", "dashboard catalog"]
)
def test_known_types_match_the_documented_enum(known):
    schema = _load(ASYNC_DOC)["components"]["schemas"]["AsyncActionBase"]
    assert set(known) == set(schema["properties"]["type"]["enum"])
    assert len(known) == 22


def test_every_known_type_has_a_documented_result_shape():
    assert sorted([*IMPORT_ROWS, *COUNTED, *REPORTED]) == sorted(KNOWN_TYPES)


def test_every_seeded_action_validates_as_a_get_response(emulator):
    ids = all_ids(emulator)
    assert len(ids) >= 300
    types = set()
    for action_id in ids:
        response = emulator.api(f"/v1/async-actions/{action_id}")
        assert response.status == 200
        body = response.json()
        assert_valid(body, "AsyncActionGetResponseBody")
        types.add(body["type"])
    assert types == set(KNOWN_TYPES) | {UNKNOWN_TYPE}


@pytest.mark.parametrize("limit", [1, 10, 25, 50, 100])
def test_list_pages_validate(emulator, limit):
    first = emulator.api(f"/v1/async-actions?limit={limit}").json()
    assert_valid(first, "AsyncActionsListResponseBody")
    cursor = first["async_actions"][-1]["created_at"]
    second = emulator.api(f"/v1/async-actions?limit={limit}&end_date={cursor}").json()
    assert_valid(second, "AsyncActionsListResponseBody")


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v1/async-actions?limit=0", None, 400),
        ("/v1/async-actions?end_date=yesterday", None, 400),
        ("/v1/async-actions/aa_000000000000000000", None, 404),
        ("/v1/async-actions", {}, 401),
        ("/v1/async-actions", {"X-App-Id": "test-app-id", "X-App-Token": "wrong"}, 401),
    ],
)
def test_error_bodies_validate(emulator, path, headers, status):
    response = emulator.api(path, headers=headers)
    assert response.status == status
    body = response.json()
    assert_valid(body, "Error")
    assert set(body) >= {"code", "key", "message", "details", "request_id"}
    assert body["code"] == status


def test_rate_limited_and_injected_errors_validate(emulator):
    emulator.set_faults(next_statuses=[503])
    assert_valid(emulator.api("/v1/async-actions").json(), "Error")
    emulator.configure(rate_limit=1)
    emulator.api("/v1/async-actions")
    limited = emulator.api("/v1/async-actions")
    assert limited.status == 429
    assert_valid(limited.json(), "Error")


def test_token_responses_validate(emulator):
    form = {"grant_type": "client_credentials", "scope": "async-actions"}
    token = emulator.api("/v1/oauth/token", method="POST", form=form)
    assert token.status == 200
    assert_valid(token.json(), "OAuthTokenGenerateResponseBody", OAUTH_DOC)
    for bad in ({"grant_type": "password", "scope": "api"},
                {"grant_type": "client_credentials", "scope": "vouchers,campaigns"},
                {"grant_type": "client_credentials"}):
        error = emulator.api("/v1/oauth/token", method="POST", form=bad)
        assert error.status == 400
        assert_valid(error.json(), "Error", OAUTH_DOC)


@pytest.mark.parametrize("name", sorted(documented_examples()))
def test_documented_example_is_served_back_identically(emulator, name):
    example = documented_examples()[name]
    assert_valid(example, "AsyncActionGetResponseBody")
    emulator.insert_action(example)
    response = emulator.api(f"/v1/async-actions/{example['id']}")
    assert response.status == 200
    assert response.body.decode() == json.dumps(example, ensure_ascii=False)
    listed = emulator.api(
        f"/v1/async-actions?limit=1&end_date={_plus_one_ms(example['created_at'])}"
    ).json()["async_actions"][0]
    assert listed["id"] == example["id"]
    assert "result" not in listed
    assert_valid(listed, "AsyncActionBase")
