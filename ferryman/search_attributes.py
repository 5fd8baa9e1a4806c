"""Every custom search attribute ferryman uses, planned against the SQL-visibility budget.

SQL visibility allows at most 10 Keyword and 3 each of KeywordList, Int, Double, Bool,
Datetime and Text attributes per namespace, each value (a whole KeywordList included) at
most 2 KB. This module is the one place that spends that budget:

    Keyword (10/10):   status, workflow, project, version, batch, triggered-by, parent,
                       continuation-of, concurrency key, supersedes (the run a rollback or a
                       redrive replaced, until Temporal has deleted it)
    KeywordList (2/3): tags (hashed `[key, value]` pairs), payload index (hashed
                       `path=value` leaves)
    Int (3/3):         priority, attempt, lineage depth
    Datetime (3/3):    scheduled-at, expires-at, next-retry-at
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from temporalio.common import SearchAttributeKey

STATUS = SearchAttributeKey.for_keyword("FerrymanStatus")
WORKFLOW = SearchAttributeKey.for_keyword("FerrymanWorkflow")
PROJECT = SearchAttributeKey.for_keyword("FerrymanProject")
VERSION = SearchAttributeKey.for_keyword("FerrymanVersion")
BATCH = SearchAttributeKey.for_keyword("FerrymanBatch")
TRIGGERED_BY = SearchAttributeKey.for_keyword("FerrymanTriggeredBy")
PARENT = SearchAttributeKey.for_keyword("FerrymanParent")
CONTINUATION_OF = SearchAttributeKey.for_keyword("FerrymanContinuationOf")
CONCURRENCY_KEY = SearchAttributeKey.for_keyword("FerrymanConcurrencyKey")
SUPERSEDES = SearchAttributeKey.for_keyword("FerrymanSupersedes")
TAGS = SearchAttributeKey.for_keyword_list("FerrymanTags")
PAYLOAD_INDEX = SearchAttributeKey.for_keyword_list("FerrymanPayloadIndex")
PRIORITY = SearchAttributeKey.for_int("FerrymanPriority")
ATTEMPT = SearchAttributeKey.for_int("FerrymanAttempt")
LINEAGE_DEPTH = SearchAttributeKey.for_int("FerrymanLineageDepth")
SCHEDULED_AT: SearchAttributeKey[datetime] = SearchAttributeKey.for_datetime("FerrymanScheduledAt")
EXPIRES_AT: SearchAttributeKey[datetime] = SearchAttributeKey.for_datetime("FerrymanExpiresAt")
NEXT_RETRY_AT: SearchAttributeKey[datetime] = SearchAttributeKey.for_datetime("FerrymanNextRetryAt")

ALL: tuple[SearchAttributeKey[Any], ...] = (
    STATUS,
    WORKFLOW,
    PROJECT,
    VERSION,
    BATCH,
    TRIGGERED_BY,
    PARENT,
    CONTINUATION_OF,
    CONCURRENCY_KEY,
    SUPERSEDES,
    TAGS,
    PAYLOAD_INDEX,
    PRIORITY,
    ATTEMPT,
    LINEAGE_DEPTH,
    SCHEDULED_AT,
    EXPIRES_AT,
    NEXT_RETRY_AT,
)

# Built in: set by Temporal on a run whose workflow tasks keep failing (once the dynamic
# config system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute allows it).
REPORTED_PROBLEMS = SearchAttributeKey.for_keyword_list("TemporalReportedProblems")

# Names as `temporal` CLI flags spell their types (`--search-attribute Name=Type`).
CLI_TYPES = {
    "KEYWORD": "Keyword",
    "KEYWORD_LIST": "KeywordList",
    "INT": "Int",
    "DATETIME": "Datetime",
}


def cli_flags() -> list[str]:
    """`Name=Type` pairs for `temporal server start-dev --search-attribute` and the operator CLI."""
    return [f"{key.name}={CLI_TYPES[key.indexed_value_type.name]}" for key in ALL]


def printable(value: str) -> bool:
    """Whether `value` may be queried: no control characters. The SQL visibility store
    chokes on a NUL byte and the server reports that as retryable, so the client would
    retry for a long time; a value stored with one could never be filtered on."""
    return not any(ord(char) < 0x20 for char in value)


def escape(value: str) -> str:
    """Quote a value for a visibility query so it can never close its string literal
    (control characters are refused: `printable`)."""
    if not printable(value):
        raise ValueError("a filter value may not contain control characters")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


TAG_TOKEN_HEX = 16


def tag_tokens(tags: dict[str, str]) -> list[str]:
    """Tags as the `FerrymanTags` KeywordList holds them: one token per pair, the first
    `TAG_TOKEN_HEX` hex digits of the sha256 of `[key, value]`, so a filter on a pair is one
    equality clause that matches that pair and no other (`tag_clause`).

    Tags were once stored as `key=value` items, which made {"a=b": "c"} and {"a": "b=c"}
    one tag; and the dev server's SQLite store matches items through FTS5, which folds
    case and punctuation (`team=Core` matched `team-core`) and chokes on `"` and `\\`. A
    lowercase hex token is one FTS5 token and an exact array element in PostgreSQL. The
    Temporal UI shows the tokens; the run's own tags are in its memo.
    """
    return sorted({tag_token(key, value) for key, value in tags.items()})


def tag_token(key: str, value: str) -> str:
    material = json.dumps([key, value], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()[:TAG_TOKEN_HEX]


def tag_clause(key: str, value: str) -> str:
    """The runs tagged `key: value`: by the pair's token, or, for runs started before tags
    were tokens, by their `key=value` item (matched as loosely as it always was; no token
    run holds such an item). An item with `"` or `\\` is left out: FTS5 cannot match it,
    and the query would fail. ValueError for control characters (`escape`)."""
    token = f"{TAGS.name} = '{tag_token(key, value)}'"
    item = f"{key}={value}"
    if '"' in item or "\\" in item:
        return token
    return f"({token} OR {TAGS.name} = {escape(item)})"
