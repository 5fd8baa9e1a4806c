"""The payload index (`api/executions/payload_index.py`): `contains` is PostgreSQL's `@>`
(hand-written cases, and generated ones asked of the machine's PostgreSQL), the index never
loses a contained query (no false negatives before confirmation), an exact query needs no
confirmation, and on the real dev server the clause plus confirmation finds exactly the runs
whose payload contains the filter."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio import workflow
from temporalio.client import Client, WorkflowExecution
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.converter import encode_typed_search_attribute_value
from temporalio.service import RPCError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

with workflow.unsafe.imports_passed_through():
    import asyncpg
    from sqlalchemy.engine.url import make_url

    from ferryman import search_attributes as sa
    from ferryman.payload_index import (
        BUDGET,
        MAX_PARTIAL_TOKENS,
        MAX_TOKENS,
        NO_LEAVES,
        PARTIAL,
        confirmation_needed,
        contains,
        encoded_size,
        index_tokens,
        is_partial,
        query_tokens,
        visibility_clause,
    )
    from ferryman.settings import normalise_database_url
    from tests.support.polling import eventually
    from tests.support.postgres import postgres_url

Json = Any

# ---- contains, by hand ----------------------------------------------------------------------

# (document, query, document @> query), each also asked of PostgreSQL below.
CASES: list[tuple[Json, Json, bool]] = [
    ({"a": 1, "b": 2}, {"a": 1}, True),
    ({"a": 1}, {"a": 1, "b": 2}, False),
    ({"a": {"b": {"c": 1, "d": 2}}}, {"a": {"b": {"c": 1}}}, True),
    ({"a": {"b": {"c": 1}}}, {"a": {"b": {"c": 2}}}, False),
    ({"a": 1}, {}, True),
    ({}, {}, True),
    ({"a": {}}, {"a": {}}, True),
    ({"a": {"x": 1}}, {"a": {}}, True),
    ({"a": []}, {"a": {}}, False),
    ({"a": [1]}, {"a": []}, True),
    ({"a": {}}, {"a": []}, False),
    ([1, 2, 3], [3, 1], True),
    ([1, 2, 3], [3, 1, 1, 1], True),
    ([1, 2], [1, 2, 4], False),
    ([[1, 2]], [[1]], True),
    ([[1], [2]], [[1, 2]], False),
    ([{"a": 1, "b": 2}], [{"a": 1}], True),
    ([{"a": 1}, {"b": 2}], [{"a": 1, "b": 2}], False),
    ({"a": [{"x": 1}, {"y": 2}]}, {"a": [{"x": 1}, {"y": 2}]}, True),
    ({"tags": ["a", "b"]}, {"tags": ["b"]}, True),
    ({"tags": ["a", "b"]}, {"tags": "a"}, False),  # only the root array holds a scalar
    ({"tags": "a"}, {"tags": ["a"]}, False),
    ([1, [2]], 1, True),  # the root special case
    ([1, [2]], 2, False),
    ([[1]], [1], False),
    (1, [1], False),
    (1, 1, True),
    ("a", "a", True),
    ({"n": 1}, {"n": 1.0}, True),
    ({"n": 1.0}, {"n": 1}, True),
    ({"n": 100}, {"n": 1e2}, True),
    ({"n": 0}, {"n": -0.0}, True),
    ({"n": 0.1}, {"n": 0.10000000000000001}, True),  # one float, one repr
    ({"n": 10**20}, {"n": 1e20}, True),
    ({"n": 123456789012345670000}, {"n": 1.2345678901234567e20}, True),  # decimal, not binary
    ({"n": 2**53 + 1}, {"n": float(2**53 + 1)}, False),
    ({"n": Decimal("1.50")}, {"n": 1.5}, True),
    ({"n": 1}, {"n": True}, False),
    ({"n": True}, {"n": 1}, False),
    ({"n": 0}, {"n": False}, False),
    ({"n": "1"}, {"n": 1}, False),
    ({"n": 1}, {"n": "1"}, False),
    ({"n": None}, {"n": None}, True),
    ({"n": None}, {"n": 0}, False),
    ({"n": None}, {}, True),
    ({}, {"n": None}, False),
    ({"s": "é"}, {"s": "é"}, True),
    ({"s": "é"}, {"s": "e\u0301"}, False),  # no Unicode normalisation
    ({"s": "A"}, {"s": "a"}, False),
]


@pytest.mark.parametrize(("document", "query", "expected"), CASES)
def test_contains_by_hand(document: Json, query: Json, expected: bool) -> None:
    assert contains(document, query) is expected


def test_contains_refuses_what_is_not_json() -> None:
    with pytest.raises(TypeError):
        contains({"a": {1, 2}}, {"a": {1}})
    with pytest.raises(TypeError):
        index_tokens({1: "a"})


# ---- contains against PostgreSQL ------------------------------------------------------------

PgContains = Callable[[list[tuple[Json, Json]]], Awaitable[list[bool]]]


def _dsn() -> str:
    url = make_url(normalise_database_url(postgres_url())).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@pytest_asyncio.fixture(scope="module")
async def postgres() -> AsyncIterator[PgContains]:
    """`document::jsonb @> query::jsonb` on the machine's PostgreSQL, many pairs a call."""
    try:
        connection = await asyncpg.connect(_dsn(), timeout=10)
    except (TimeoutError, OSError, asyncpg.PostgresError) as err:
        if os.environ.get("FERRYMAN_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"PostgreSQL at {postgres_url()} is not reachable ({err})")

    async def pg_contains(pairs: list[tuple[Json, Json]]) -> list[bool]:
        rows = await connection.fetch(
            "SELECT d::jsonb @> q::jsonb FROM unnest($1::text[], $2::text[])"
            " WITH ORDINALITY AS t(d, q, i) ORDER BY i",
            [_dumps(d) for d, _ in pairs],
            [_dumps(q) for _, q in pairs],
        )
        return [row[0] for row in rows]

    try:
        yield pg_contains
    finally:
        await connection.close()


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return float(o)  # only the hand-written 1.50, exact as a float
        return super().default(o)


def _dumps(value: Json) -> str:
    """JSON text as a client would send it."""
    return json.dumps(value, cls=_Encoder)


async def test_the_hand_written_cases_are_postgres(postgres: PgContains) -> None:
    assert await postgres([(d, q) for d, q, _ in CASES]) == [want for _, _, want in CASES]


# Few keys and small numbers, so that generated values collide and contain each other often;
# and the numbers that tell decimal from binary equality apart.
KEYS = st.sampled_from(["a", "b", "c", "tags", "é", "", "a.b"])
NUMBERS = st.one_of(
    st.integers(-2, 2),
    st.sampled_from([1.0, 0.0, -0.0, 2.5, 0.1, 1e16, 1e20, 10**20, 1.2345678901234567e20]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
STRINGS = st.one_of(
    st.sampled_from(["a", "b", "1", "true", "null", ""]),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=4),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, STRINGS)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=16,
)
OBJECTS = st.dictionaries(KEYS, VALUES, max_size=5)


def _equivalents(value: Json) -> list[Json]:
    """The value, and an equal number of the other Python type when there is one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [value]
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if exact != exact.to_integral_value():
        return [value]
    return [value, int(exact)] if isinstance(value, float) else [value, float(value)]


def _part_of(draw: st.DrawFn, value: Json) -> Json:
    """A value `value` contains: some keys, some elements (repeated, reordered), equal
    numbers of the other type; sometimes two object elements of an array merged into one
    (which `value` may not contain: the leaves are all there, the element is not)."""
    if isinstance(value, dict):
        keys = draw(st.lists(st.sampled_from(sorted(value)), unique=True)) if value else []
        return {key: _part_of(draw, value[key]) for key in keys}
    if isinstance(value, list):
        if not value:
            return []
        part = [_part_of(draw, item) for item in draw(st.lists(st.sampled_from(value)))]
        objects = [item for item in value if isinstance(item, dict) and item]
        if len(objects) >= 2 and draw(st.booleans()):
            first, second = draw(st.permutations(objects))[:2]
            part.append({**_part_of(draw, first), **_part_of(draw, second)})
        return part
    return draw(st.sampled_from(_equivalents(value)))


def _mutated(draw: st.DrawFn, value: Json) -> Json:
    """`value` with one node replaced by some other value."""
    if isinstance(value, dict) and value and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value)))
        return {**value, key: _mutated(draw, value[key])}
    if isinstance(value, list) and value and draw(st.booleans()):
        at = draw(st.integers(0, len(value) - 1))
        return [*value[:at], _mutated(draw, value[at]), *value[at + 1 :]]
    return draw(VALUES)


@st.composite
def pairs(draw: st.DrawFn, documents: st.SearchStrategy[Json] = VALUES) -> tuple[Json, Json]:
    """(document, query): unrelated, or a part of the document, or a part mutated."""
    document = draw(documents)
    how = draw(st.sampled_from(["unrelated", "part", "part", "mutated"]))
    if how == "unrelated":
        return document, draw(VALUES if documents is VALUES else OBJECTS)
    query = _part_of(draw, document)
    if how == "mutated":
        query = _mutated(draw, query)
    return document, query


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pairs(), min_size=1, max_size=25))
async def test_contains_is_postgres(postgres: PgContains, batch: list[tuple[Json, Json]]) -> None:
    answers = await postgres(batch)
    for (document, query), answer in zip(batch, answers, strict=True):
        assert contains(document, query) is answer, (document, query)


# ---- the index --------------------------------------------------------------------------------

# Objects with more leaves than an index holds, some nested, some repeated.
WIDE = st.builds(
    lambda base, count, nested: {
        **base,
        "wide": list(range(count)),
        "rows": [{"i": i, "v": f"v{i % 7}"} for i in range(count // 2)],
        "deep": nested,
    },
    OBJECTS,
    st.integers(0, 200),
    VALUES,
)
DOCUMENTS = st.one_of(OBJECTS, OBJECTS, WIDE)


@settings(max_examples=400, deadline=None)
@given(pairs(DOCUMENTS))
def test_a_contained_query_finds_its_document(pair: tuple[Json, Json]) -> None:
    """No false negatives at the candidate stage: the document's index has every token of a
    query it contains, or is partial (and partial runs are always candidates)."""
    document, query = pair
    index = index_tokens(document)
    assert encoded_size(index) <= BUDGET
    if contains(document, query):
        assert set(query_tokens(query)) <= set(index) or is_partial(index), (document, query)


@settings(max_examples=400, deadline=None)
@given(pairs(DOCUMENTS))
def test_an_exact_query_on_a_complete_index_needs_no_confirmation(
    pair: tuple[Json, Json],
) -> None:
    """Where `confirmation_needed` says no, having the tokens is containment."""
    document, query = pair
    index = index_tokens(document)
    if set(query_tokens(query)) <= set(index) and not confirmation_needed(query, index):
        assert contains(document, query), (document, query)


def test_shared_leaves_in_other_elements_are_a_candidate_confirmed_away() -> None:
    document = {"a": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]}
    query = {"a": [{"x": 1, "y": 4}]}
    index = index_tokens(document)
    assert set(query_tokens(query)) <= set(index)
    assert confirmation_needed(query, index)
    assert not contains(document, query)
    # One leaf per array element is exact, and so are plain nested keys.
    assert not confirmation_needed({"a": [{"x": 1}, {"y": 4}], "b": {"c": "d"}}, index)
    assert not confirmation_needed({"tags": ["a", "b"]}, index)
    assert not confirmation_needed({}, index)
    inexact: list[Json] = [{"a": {}}, {"a": [[1, 2]]}, {"a": [{}]}, [1], 1]
    for query in inexact:
        assert confirmation_needed(query, index), query
    assert confirmation_needed({"a": 1}, [*index, PARTIAL])
    assert confirmation_needed({"a": 1}, None)


def test_tokens_follow_jsonb_equality() -> None:
    [one] = query_tokens({"n": 1})
    assert query_tokens({"n": 1.0}) == [one]
    assert query_tokens({"n": Decimal("1.000")}) == [one]
    assert query_tokens({"n": 10e-1}) == [one]
    assert query_tokens({"n": -0.0}) == query_tokens({"n": 0})
    assert query_tokens({"n": 1e20}) == query_tokens({"n": 10**20})
    others = [{"n": True}, {"n": "1"}, {"n": [1]}, {"m": 1}, {"n": {"n": 1}}, {"n": 1.5}]
    assert len({one, *(token for other in others for token in query_tokens(other))}) == 7
    # A key with a dot is not a path of two keys.
    assert query_tokens({"a.b": 1}) != query_tokens({"a": {"b": 1}})
    assert index_tokens({"tags": ["a", "b", "a"]}) == sorted(
        query_tokens({"tags": ["a"]}) + query_tokens({"tags": ["b"]})
    )


def test_the_index_is_deterministic_and_fits() -> None:
    assert index_tokens({"a": 1, "b": [2, 3]}) == index_tokens({"b": [3, 2, 3], "a": 1.0})
    assert index_tokens({}) == index_tokens({"a": {}, "b": [[]]}) == [NO_LEAVES]
    assert query_tokens({}) == query_tokens({"a": {}}) == query_tokens(1) == []

    full = {f"k{i}": i for i in range(MAX_TOKENS)}
    index = index_tokens(full)
    assert len(index) == MAX_TOKENS == 136 and PARTIAL not in index
    assert encoded_size(index) == 2041 <= BUDGET

    over = {**full, "deep": {"er": {"still": 1}}, "one": "more"}
    index = index_tokens(over)
    assert index[-1] == PARTIAL and len(index) == MAX_PARTIAL_TOKENS + 1 == 136
    assert encoded_size(index) == 2037 <= BUDGET
    # Shortest paths are kept first: the deep leaf goes, the top-level ones stay.
    assert not set(query_tokens({"deep": {"er": {"still": 1}}})) <= set(index)
    assert index == index_tokens(dict(reversed(list(over.items()))))

    # A number JSON cannot hold is no leaf: the index is partial; a query refuses it.
    assert index_tokens({"a": float("nan"), "b": 1}) == [*query_tokens({"b": 1}), PARTIAL]
    with pytest.raises(ValueError):
        query_tokens({"a": float("inf")})


def test_encoded_size_is_what_the_sdk_sends() -> None:
    for index in (index_tokens({"a": 1}), index_tokens({f"k{i}": i for i in range(500)})):
        payload = encode_typed_search_attribute_value(sa.PAYLOAD_INDEX, index)
        assert len(payload.data) == encoded_size(index)


def test_visibility_clause() -> None:
    anything: list[Json] = [{}, {"a": {}}, {"a": [[], {}]}, [], 1, "a"]
    for query in anything:
        assert visibility_clause(query) is None
    [a] = query_tokens({"a": 1})
    [b] = query_tokens({"b": "x"})
    name = sa.PAYLOAD_INDEX.name
    fallbacks = f"{name} = '{PARTIAL}' OR {name} IS NULL"
    want = f"(({name} = '{min(a, b)}' AND {name} = '{max(a, b)}') OR {fallbacks})"
    assert visibility_clause({"a": 1.0, "b": "x", "c": {}}) == want
    # More tokens than a complete index holds: only a partial or unindexed run can match.
    assert visibility_clause({f"k{i}": i for i in range(MAX_TOKENS + 1)}) == f"({fallbacks})"


# ---- on the dev server ------------------------------------------------------------------------


@workflow.defn(name="PayloadProbe")
class PayloadProbe:
    """Takes a payload and ends."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> None:
        return None


# Pass pytest through the sandbox (see tests/ferryman/test_statuses.py), and hypothesis, which
# this module imports and which reads the working directory when imported.
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("_pytest", "hypothesis")
)

BIG: dict[str, Any] = {
    "region": "eu",
    "blob": [{"i": i, "v": f"value-{i}"} for i in range(300)],
    "needle": {"deep": {"x": "found"}},
}
PAYLOADS: dict[str, dict[str, Any]] = {
    "nested": {"order": {"customer": {"id": 7, "tier": "gold"}, "total": 1}, "region": "eu"},
    "shares": {"order": {"customer": {"id": 7, "tier": "silver"}}, "region": "eu"},
    "array": {"tags": ["a", "b", "c"], "items": [{"sku": "x", "qty": 2}, {"sku": "y", "qty": 1}]},
    "recombined": {"items": [{"sku": "x", "qty": 1}, {"sku": "y", "qty": 2}]},
    "float": {"n": 1.0, "s": "1"},
    "int": {"n": 1, "s": 1},
    "bool": {"n": True, "s": True},
    "empty": {},
    "big": BIG,
    "legacy": {"region": "eu", "n": 1},  # started without an index, as runs before it were
}
# filter -> the runs whose payload contains it, written by hand.
FILTERS: list[tuple[dict[str, Any], set[str]]] = [
    ({"order": {"customer": {"tier": "gold"}}}, {"nested"}),
    ({"order": {"customer": {"id": 7}}, "region": "eu"}, {"nested", "shares"}),
    ({"region": "eu"}, {"nested", "shares", "big", "legacy"}),
    ({"tags": ["c", "a"]}, {"array"}),
    ({"tags": "a"}, set()),
    ({"items": [{"sku": "x", "qty": 2}]}, {"array"}),
    ({"items": [{"qty": 1}, {"sku": "x"}]}, {"array", "recombined"}),
    ({"n": 1}, {"float", "int", "legacy"}),
    ({"n": 1.0}, {"float", "int", "legacy"}),
    ({"s": 1}, {"int"}),
    ({"s": "1"}, {"float"}),
    ({"s": True}, {"bool"}),
    ({"needle": {"deep": {"x": "found"}}}, {"big"}),
    ({"blob": [{"i": 299, "v": "value-299"}], "region": "eu"}, {"big"}),
    ({"blob": [{"i": 299, "v": "value-298"}]}, set()),
    ({"order": {}}, {"nested", "shares"}),
    ({"order": {"customer": {"id": 7, "tier": {}}}}, set()),
    ({}, set(PAYLOADS)),
    ({"nothing": None}, set()),
]


async def _payload(client: Client, execution: WorkflowExecution) -> Json:
    """A run's real payload: the input of its start event."""
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [payload] = await client.data_converter.decode(started.input.payloads, [dict[str, Any]])
    return payload


async def test_payload_filters_on_the_dev_server(temporal_client: Client) -> None:
    client = temporal_client
    marker = f"payload-probe-{uuid.uuid4().hex}"
    task_queue = f"payload-probe-{uuid.uuid4().hex[:8]}"
    for query, want in FILTERS:  # the hand-written answers are containment's
        assert {n for n, p in PAYLOADS.items() if contains(p, query)} == want, query
    indexes = {name: index_tokens(payload) for name, payload in PAYLOADS.items()}
    assert indexes["big"][-1] == PARTIAL and indexes["empty"] == [NO_LEAVES]
    assert encoded_size(indexes["big"]) <= BUDGET < len(str(BIG))
    # The needle is among the leaves the partial index had to leave out.
    assert not set(query_tokens({"needle": {"deep": {"x": "found"}}})) <= set(indexes["big"])
    names = {f"{marker}-{name}": name for name in PAYLOADS}

    async with Worker(
        client, task_queue=task_queue, workflows=[PayloadProbe], workflow_runner=SANDBOX
    ):
        handles = []
        for workflow_id, name in names.items():
            pairs: list[SearchAttributePair[Any]] = [SearchAttributePair(sa.PROJECT, marker)]
            if name != "legacy":
                pairs.append(SearchAttributePair(sa.PAYLOAD_INDEX, indexes[name]))
            handles.append(
                await client.start_workflow(
                    PayloadProbe.run,
                    PAYLOADS[name],
                    id=workflow_id,
                    task_queue=task_queue,
                    search_attributes=TypedSearchAttributes(pairs),
                )
            )
        await asyncio.gather(*(handle.result() for handle in handles))

    scope = f"{sa.PROJECT.name} = {sa.escape(marker)}"

    async def listed(clause: str | None) -> list[WorkflowExecution]:
        query = f"{scope} AND {clause}" if clause else scope
        return [e async for e in client.list_workflows(query)]

    def all_closed(rows: list[WorkflowExecution]) -> bool:
        return {e.id for e in rows if e.close_time is not None} == set(names)

    rows = await eventually(lambda: listed(None), all_closed)
    stored = {names[e.id]: e.typed_search_attributes.get(sa.PAYLOAD_INDEX) for e in rows}
    assert stored == {**indexes, "legacy": None}

    confirmed_away: set[str] = set()
    for query, want in FILTERS:
        candidates = await listed(visibility_clause(query))
        assert want <= {names[e.id] for e in candidates}, query  # no false negatives
        found = set()
        for execution in candidates:
            index = execution.typed_search_attributes.get(sa.PAYLOAD_INDEX)
            if not confirmation_needed(query, index) or contains(
                await _payload(client, execution), query
            ):
                found.add(names[execution.id])
            else:
                confirmed_away.add(names[execution.id])
        assert found == want, (query, visibility_clause(query))
    # Candidates confirmation turned away: ones sharing leaves, the partial and unindexed.
    assert {"nested", "shares", "recombined", "big", "legacy"} <= confirmed_away


async def test_the_budget_is_what_the_server_counts(temporal_client: Client) -> None:
    """The dev server takes an index of exactly `BUDGET` bytes and refuses one byte more."""
    client = temporal_client
    marker = f"payload-budget-{uuid.uuid4().hex}"
    index = index_tokens({f"k{i}": i for i in range(1000)})
    pad = BUDGET - encoded_size([*index, ""])

    async def start(tokens: list[str], suffix: str) -> None:
        handle = await client.start_workflow(
            PayloadProbe.run,
            {},
            id=f"{marker}-{suffix}",
            task_queue=f"payload-budget-{uuid.uuid4().hex[:8]}",  # no worker: never runs
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.PROJECT, marker),
                    SearchAttributePair(sa.PAYLOAD_INDEX, tokens),
                ]
            ),
        )
        await handle.terminate("budget probe")

    assert encoded_size([*index, "x" * pad]) == BUDGET
    await start([*index, "x" * pad], "fits")
    with pytest.raises(RPCError, match="exceeds size limit 2048"):
        await start([*index, "x" * (pad + 1)], "over")
