"""Exact JSON containment (`jsonb @>`) over Temporal visibility: an index of hashed leaves.

A run's payload (its input, a JSON object) is indexed at start in one KeywordList search
attribute, `FerrymanPayloadIndex`; a filter `payload=<JSON object>` becomes a visibility
clause that finds every run that may contain it (the candidates), and each candidate is
confirmed against its real payload with `contains`, which has PostgreSQL's semantics.

Leaves and tokens. A leaf is a scalar with its path: the object keys walked to reach it and,
for each array on the way, an "element of an array" step without the position. Containment
keeps exactly that shape (objects contain objects key by key, arrays contain arrays element
by element in any order, scalars equal scalars of the same JSON type), so every leaf of a
contained query is a leaf of the document, with the same path and an equal value: the
query's tokens are a subset of the document's. A token is the first 12 hex digits (48 bits)
of the sha256 of `[path, JSON type, canonical value]`; numbers are canonical decimals, so 1,
1.0 and 1e0 give one token, while `true`, `1` and `"1"` give three. Empty objects and arrays
are not leaves and get no token on either side: a query with one (`{"a": {}}` is contained
in any document with an object at `a`) keeps only its other tokens and needs confirmation;
indexing "there is a container at this path" for every document would widen every index
for a rare query.

Cost. SQL visibility caps the attribute's value at 2048 bytes of the JSON list Temporal is
sent (`["t1","t2"]`, compact, as the SDK encodes it; the dev server refuses 2049). A token
costs 15 bytes, so a complete index holds up to `MAX_TOKENS` (136) distinct leaves. A
payload with more is *partial*: it keeps `MAX_PARTIAL_TOKENS` (135) tokens, those of the
shortest paths first (top-level fields are the likeliest filters), ties by token, and the
marker `~partial`. A leaf that cannot be a JSON value (a NaN or infinite float) is left out
and also makes the index partial. A payload with no leaves at all (`{}`, `{"a": []}`) is
indexed as `["~none"]`, so that a run without the attribute is known to predate the index.

The clause. In SQL visibility `FerrymanPayloadIndex = 't'` means "the list has the item t",
several of them ANDed mean "has them all", and `IN (...)` means "has any" (so it cannot
serve here); `IS NULL` finds runs without the attribute. Checked on the dev server, whose
SQLite store matches items through FTS5 (one token per item, case folded: harmless for
lowercase hex). The clause is

    ((FerrymanPayloadIndex = 't1' AND FerrymanPayloadIndex = 't2' ...)
     OR FerrymanPayloadIndex = '~partial' OR FerrymanPayloadIndex IS NULL)

Partial runs and runs without an index are candidates for every query: the clause ORs them
in, and each of them costs a read of the run's input to confirm. Every other candidate
has every token of the query. It is confirmed too, unless `confirmation_needed` proves it
need not be (an exact query on a complete index; see there): a query with a path through
an array whose element holds two leaves (`{"a": [{"x": 1, "y": 2}]}`) can find a document
that has both leaves in different elements (`{"a": [{"x": 1}, {"y": 2}]}`).

The token encoding is stored in every run's search attributes: changing it (the width, the
canonical form, the hash) makes old runs unfindable unless old runs are then treated like
unindexed ones.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from ferryman import search_attributes as sa

TOKEN_HEX = 12
BUDGET = 2048  # bytes of the attribute's JSON value, the SQL-visibility limit
PARTIAL = "~partial"  # the index lacks some leaves: always a candidate, always confirmed
NO_LEAVES = "~none"  # no leaves: an index is never empty (Temporal stores [] as null)

# A step of a path: an object key, or None for "some element of an array".
Step = str | None
Path = tuple[Step, ...]


def encoded_size(tokens: Sequence[str]) -> int:
    """The bytes Temporal counts against `BUDGET`: the compact JSON list the SDK sends."""
    return len(json.dumps(list(tokens), separators=(",", ":")).encode())


def _most_tokens(marker: str | None) -> int:
    sample = "0" * TOKEN_HEX
    count = 0
    while encoded_size([sample] * (count + 1) + ([marker] if marker else [])) <= BUDGET:
        count += 1
    return count


MAX_TOKENS = _most_tokens(None)  # a complete index: 136
MAX_PARTIAL_TOKENS = _most_tokens(PARTIAL)  # a partial one, next to its marker: 135


# ---- the index --------------------------------------------------------------------------


def index_tokens(payload: Any) -> list[str]:
    """The `FerrymanPayloadIndex` value of a run with this payload (sorted, within `BUDGET`).

    All the distinct leaf tokens when they fit; otherwise the `MAX_PARTIAL_TOKENS` of the
    shortest paths (then the smallest tokens) and `PARTIAL`. Deterministic: equal payloads
    give equal indexes, whatever the order of their keys.
    """
    depth: dict[str, int] = {}
    partial = False
    for path, value in _leaves(payload):
        token = _leaf_token(path, value)
        if token is None:
            partial = True
        else:
            depth[token] = min(depth.get(token, len(path)), len(path))
    if not partial and len(depth) <= MAX_TOKENS:
        return sorted(depth) if depth else [NO_LEAVES]
    ranked = sorted(depth, key=lambda token: (depth[token], token))
    return [*sorted(ranked[:MAX_PARTIAL_TOKENS]), PARTIAL]


def is_partial(index: Sequence[str] | None) -> bool:
    """Whether a run's stored index (None: the run has none) may lack leaves of its payload."""
    return index is None or PARTIAL in index


# ---- the query --------------------------------------------------------------------------


def query_tokens(filter: Any) -> list[str]:
    """The tokens every document containing `filter` has in a complete index (sorted).

    A top-level scalar has none: `[1, 2] @> 1` holds in jsonb, so its leaf may sit at the
    root or in a top-level array. Raises ValueError for a number JSON cannot hold (NaN,
    infinity), which no stored payload can equal.
    """
    tokens = set()
    for path, value in _leaves(filter):
        token = _leaf_token(path, value)
        if token is None:
            raise ValueError(f"{value!r} is not a JSON number")
        tokens.add(token)
    return [] if _is_scalar(filter) else sorted(tokens)


def visibility_clause(filter: Any) -> str | None:
    """The visibility clause of the candidates for `filter`; None when any run may match.

    `FerrymanPayloadIndex = 't'` means "the list has the item t" in SQL visibility, and
    several of them ANDed mean "has them all" (checked on the dev server). Partial and
    unindexed runs are ORed in. A query with more tokens than a complete index can hold
    can only be in a partial (or unindexed) run.
    """
    tokens = query_tokens(filter)
    if not tokens:
        return None
    name = sa.PAYLOAD_INDEX.name
    fallbacks = f"{name} = {sa.escape(PARTIAL)} OR {name} IS NULL"
    if len(tokens) > MAX_TOKENS:
        return f"({fallbacks})"
    every = " AND ".join(f"{name} = {sa.escape(token)}" for token in tokens)
    return f"(({every}) OR {fallbacks})"


def confirmation_needed(filter: Any, index: Sequence[str] | None) -> bool:
    """Whether a candidate with this stored index must be checked against its payload.

    It need not be when its index is complete and the query is *exact*: its root is an
    object, it has no empty object or array, and every object or array that is an element
    of an array holds exactly one leaf. Then every query leaf's path pins the document
    (keys name one place, and an array step with one leaf below asks only that some element
    hold that leaf), so a document object with every query token contains the query. This
    holds up to hash collisions: 48-bit tokens, about 136 * len(tokens) / 2**48 per run.
    A candidate's payload is always an object (ferryman's input is).
    """
    return is_partial(index) or not _exact(filter)


def _exact(filter: Any) -> bool:
    if not isinstance(filter, dict):
        return False
    stack: list[tuple[Any, bool]] = [(value, False) for value in filter.values()]
    while stack:
        value, in_array = stack.pop()
        if isinstance(value, dict | list):
            if not value or (in_array and sum(1 for _ in _leaves(value)) != 1):
                return False
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, in_array or isinstance(value, list)) for item in items)
    return True


# ---- containment ------------------------------------------------------------------------


def contains(document: Any, query: Any) -> bool:
    """PostgreSQL's `document::jsonb @> query::jsonb` on parsed JSON values.

    Objects contain objects key by key (recursively); arrays contain arrays when each
    element of the query's is contained in some element of the document's (order and
    duplicates ignored); scalars equal scalars of the same JSON type with an equal value
    (numbers as decimals: 1 equals 1.0, `true` is not 1, "1" is not 1). At the root only,
    an array contains a scalar that is one of its elements, as jsonb has it.
    """
    if _is_scalar(query) and isinstance(document, list):
        return any(_is_scalar(item) and _equal(item, query) for item in document)
    return _contains(document, query)


def _contains(document: Any, query: Any) -> bool:
    if isinstance(query, dict):
        return isinstance(document, dict) and all(
            key in document and _contains(document[key], value) for key, value in query.items()
        )
    if isinstance(query, list):
        return isinstance(document, list) and all(
            any(_contains(item, wanted) for item in document) for wanted in query
        )
    return _is_scalar(document) and _equal(document, query)


# ---- leaves and scalars -----------------------------------------------------------------


def _leaves(value: Any) -> Iterator[tuple[Path, Any]]:
    """Every scalar under `value` with its path (iterative: no recursion limit)."""
    stack: list[tuple[Path, Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str):
                    raise TypeError(f"a JSON object key must be a string, not {key!r}")
                stack.append(((*path, key), item))
        elif isinstance(node, list):
            stack.extend(((*path, None), item) for item in node)
        else:
            yield path, node


def _leaf_token(path: Path, value: Any) -> str | None:
    """The token of one leaf; None for a number JSON cannot hold."""
    kind = _kind(value)
    if kind == "number":
        canonical = _canonical_number(value)
        if canonical is None:
            return None
    elif kind == "string":
        canonical = value
    else:
        canonical = json.dumps(value)  # true, false, null
    material = json.dumps([list(path), kind, canonical], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()[:TOKEN_HEX]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is an int in Python, not in JSON
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _equal(left: Any, right: Any) -> bool:
    kind = _kind(left)
    if kind != _kind(right):
        return False
    if kind == "number":
        return _decimal(left) == _decimal(right)  # NaN equals nothing, as jsonb has no NaN
    return bool(left == right)


def _decimal(number: int | float | Decimal) -> Decimal:
    """A number as the decimal its JSON text means: a float as its shortest repr, which is
    what `json.dumps` writes (and PostgreSQL reads), not its binary value."""
    if isinstance(number, float):
        return Decimal(repr(number))
    return Decimal(number)


def _canonical_number(number: int | float | Decimal) -> str | None:
    """One text per decimal value (1, 1.0, 1e0, 10e-1 -> "1e0"); None for NaN or infinity."""
    if isinstance(number, float) and not math.isfinite(number):
        return None
    value = _decimal(number)
    if not value.is_finite():
        return None
    if value == 0:
        return "0"
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).rstrip("0")
    exponent += len(digits) - len(text)
    return f"{'-' if sign else ''}{text}e{exponent}"
