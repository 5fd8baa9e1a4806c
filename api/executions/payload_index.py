"""Provisional: replaced by the payload-index branch (containment filtering)."""

from __future__ import annotations

from typing import Any


def index_tokens(payload: Any) -> list[str]:
    return []


def query_tokens(query: Any) -> list[str]:
    return []


def visibility_clause(query: Any) -> str | None:
    return None


def contains(document: Any, query: Any) -> bool:
    if isinstance(query, dict):
        return isinstance(document, dict) and all(
            key in document and contains(document[key], value) for key, value in query.items()
        )
    if isinstance(query, list):
        return isinstance(document, list) and all(
            any(contains(item, wanted) for item in document) for wanted in query
        )
    return bool(document == query and type(document) is type(query))
