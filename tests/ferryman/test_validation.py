"""Pydantic errors worded once, for the API, the CLI and the step activities."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from ferryman.validation import error_details, error_sentence


class Inner(BaseModel):
    port: int


class Form(BaseModel):
    name: str
    inner: Inner

    @field_validator("name")
    @classmethod
    def _lower(cls, name: str) -> str:
        if name != name.lower():
            raise ValueError("name must be lower case")
        return name


def invalid(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Form.model_validate(data)
    return caught.value


def test_the_sentence_says_where_and_what_without_pydantic_prefixes() -> None:
    err = invalid({"name": "Bob", "inner": {"port": "x"}})
    assert error_sentence(err) == (
        "name: name must be lower case; inner.port: Input should be a valid integer, "
        "unable to parse string as an integer"
    )
    assert error_sentence(err, limit=1) == "name: name must be lower case"


def test_an_error_list_with_a_dropped_prefix_reads_like_the_api() -> None:
    errors = [{"loc": ("body", "inner", "port"), "msg": "Field required", "type": "missing"}]
    assert error_sentence(errors, drop="body") == "inner.port: Field required"
    assert error_sentence([{"loc": ("body",), "msg": "bad"}], drop="body") == "bad"
    assert error_sentence([{"loc": ("query", "body"), "msg": "bad"}], drop="body") == (
        "query.body: bad"
    )


def test_details_keep_the_whole_location() -> None:
    err = invalid({"name": "Bob", "inner": {}})
    assert error_details(err) == [
        {"loc": ["name"], "msg": "name must be lower case", "type": "value_error"},
        {"loc": ["inner", "port"], "msg": "Field required", "type": "missing"},
    ]
    assert error_details(err.errors()) == error_details(err)
