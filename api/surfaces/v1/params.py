"""Parameters the `/v1` routers share: the run id, and the list filters of seed 001."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Response

from ferryman.api.auth import Principal
from ferryman.api.codes import ErrorCode
from ferryman.api.definitions import MAX_NESTING, nesting
from ferryman.api.errors import ApiError
from ferryman.api.executions.launch import TriggeredBy
from ferryman.api.executions.visibility import ListFilter
from ferryman.api.surfaces.v1.statuses import VOCABULARY, parse_statuses
from ferryman.statuses import Status
from ferryman.validation import lone_surrogate

RunId = Annotated[str, Path(max_length=64, description="The run id (`exec_...`)")]
JobId = Annotated[str, Path(max_length=63, description="The job's id (its workflow's slug)")]


@dataclass(frozen=True)
class RunQuery:
    """The list filters, checked; `where` scopes them to the caller's project."""

    project_id: str | None
    job_id: str | None
    statuses: frozenset[Status] | None
    triggered_by: str | None
    batch_id: str | None
    tags: dict[str, str]
    created_after: datetime | None
    created_before: datetime | None
    payload: dict[str, Any] | None

    def where(self, principal: Principal, **fixed: Any) -> ListFilter:
        if self.project_id is not None and self.project_id != principal.project_id:
            raise ApiError(
                f"this API key belongs to project {principal.project_id!r}, not "
                f"{self.project_id!r}",
                ErrorCode.PROJECT_MISMATCH,
            )
        values: dict[str, Any] = {
            "workflow_id": self.job_id,
            "statuses": self.statuses,
            "triggered_by": self.triggered_by,
            "batch_id": self.batch_id,
            "tags": self.tags,
            "created_after": self.created_after,
            "created_before": self.created_before,
            "payload": self.payload,
        }
        return ListFilter(principal.project_id, **{**values, **fixed})


def _json_object(name: str, text: str | None) -> dict[str, Any] | None:
    """A JSON filter (`tags`, `payload`): the one place they are parsed, for every route
    that takes the list filters. An object, nested no deeper than a run's payload may be,
    and all of it text."""
    if text is None:
        return None
    if (lone := lone_surrogate(text)) is not None:
        raise ApiError(
            f"{name} spells {lone}, half of a UTF-16 surrogate pair, which is not text",
            ErrorCode.INVALID_FILTER,
        )
    try:
        value = json.loads(text)
    except RecursionError as err:  # nested past the parser's stack
        raise _too_deep(name) from err
    except ValueError as err:
        raise ApiError(f"{name} must be a JSON object", ErrorCode.INVALID_FILTER) from err
    if not isinstance(value, dict):
        raise ApiError(f"{name} must be a JSON object", ErrorCode.INVALID_FILTER)
    if nesting(value) > MAX_NESTING:
        raise _too_deep(name)
    return value


def _too_deep(name: str) -> ApiError:
    return ApiError(
        f"{name} nests deeper than {MAX_NESTING} levels, which no run's payload does",
        ErrorCode.INVALID_FILTER,
    )


async def run_query(
    project_id: Annotated[
        str | None, Query(max_length=63, description="Must be the key's own project")
    ] = None,
    job_id: Annotated[str | None, Query(max_length=63)] = None,
    status: Annotated[
        list[str],
        Query(description=f"Repeated or comma-separated: {VOCABULARY}"),
    ] = [],  # noqa: B006 (FastAPI copies a query default)
    triggered_by: TriggeredBy | None = None,
    batch_id: Annotated[str | None, Query(max_length=100)] = None,
    tags: Annotated[
        str | None,
        Query(max_length=2048, description='A JSON object; every pair must match: {"team":"a"}'),
    ] = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    payload: Annotated[
        str | None,
        Query(
            max_length=8192,
            description="A JSON object: runs whose payload contains it (as jsonb `@>`)",
        ),
    ] = None,
) -> RunQuery:
    tag_pairs = _json_object("tags", tags) or {}
    if not all(isinstance(value, str) for value in tag_pairs.values()):
        raise ApiError("tags values must be strings", ErrorCode.INVALID_FILTER)
    return RunQuery(
        project_id=project_id,
        job_id=job_id,
        statuses=parse_statuses(status),
        triggered_by=triggered_by,
        batch_id=batch_id,
        tags=tag_pairs,
        created_after=created_after,
        created_before=created_before,
        payload=_json_object("payload", payload),
    )


RunQueryDep = Annotated[RunQuery, Depends(run_query)]
CURSOR_HEADER = "X-Next-Cursor"
Limit = Annotated[int, Query(ge=1, le=100, description="Runs per page")]
Cursor = Annotated[
    str | None, Query(max_length=4096, description=f"The `{CURSOR_HEADER}` of the previous page")
]


def next_page(response: Response, cursor: str | None) -> None:
    """The next page's cursor in its header; none on the last page."""
    if cursor:
        response.headers[CURSOR_HEADER] = cursor
