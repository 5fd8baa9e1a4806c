"""Every custom search attribute ferryman uses, planned against the SQL-visibility budget.

SQL visibility allows at most 10 Keyword and 3 each of KeywordList, Int, Double, Bool,
Datetime and Text attributes per namespace, each value (a whole KeywordList included) at
most 2 KB. This module is the one place that spends that budget:

    Keyword (10/10):   status, workflow, project, version, batch, triggered-by, parent,
                       continuation-of, concurrency key, supersedes (the run a rollback or a
                       redrive replaced, until Temporal has deleted it)
    KeywordList (2/3): tags, payload index (hashed `path=value` leaves)
    Int (3/3):         priority, attempt, lineage depth
    Datetime (3/3):    scheduled-at, expires-at, next-retry-at
"""

from __future__ import annotations

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


def tags_value(tags: dict[str, str]) -> list[str]:
    """Tags as the `FerrymanTags` KeywordList holds them: one `key=value` item per tag, so a
    filter on one pair is one equality clause."""
    return [f"{key}={value}" for key, value in sorted(tags.items())]
