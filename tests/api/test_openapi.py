"""The OpenAPI document as a client generator reads it: every object schema carries an
example, and every example is valid against its own schema (so none is a placeholder that
drifted from the model)."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ferryman.api.app import create_app

DOCUMENT: dict[str, Any] = create_app().openapi()
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]
OBJECTS = sorted(name for name, schema in SCHEMAS.items() if schema.get("properties"))


def validator(name: str) -> Draft202012Validator:
    # The whole document as the root, so `#/components/schemas/...` references resolve.
    return Draft202012Validator({**DOCUMENT, "$ref": f"#/components/schemas/{name}"})


def test_the_document_has_object_schemas() -> None:
    assert len(OBJECTS) > 50 and {"Run", "Job", "ScheduleOut", "ErrorBody"} <= set(OBJECTS)


@pytest.mark.parametrize("name", OBJECTS)
def test_every_object_schema_has_a_valid_example(name: str) -> None:
    examples = SCHEMAS[name].get("examples")
    assert examples, f"{name} has no example"
    for example in examples:
        problems = [error.message for error in validator(name).iter_errors(example)]
        assert not problems, f"{name} example {example!r}: {problems}"
