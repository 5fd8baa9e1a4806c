"""`/ui/jobs`: the project's jobs with run counts and failure rates, and one job: its
versions, a diff between two of them, its steps as a graph, and a trigger form whose payload
the job's `input_schema` checks (the launcher's own check and sentence)."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request, Response
from pydantic import ValidationError

from ferryman.api.codes import ErrorCode
from ferryman.api.deps import DefinitionsDep, ExecutionsDep
from ferryman.api.errors import ApiError
from ferryman.api.executions.ids import new_execution_id
from ferryman.api.executions.visibility import ListFilter
from ferryman.api.surfaces.dashboard import views
from ferryman.api.surfaces.dashboard.rendering import PREFIX, DashboardRoute, go, page
from ferryman.api.surfaces.dashboard.session import READ_JOBS, READ_RUNS, ActingDep, SessionDep
from ferryman.api.surfaces.v1 import schemas
from ferryman.api.surfaces.v1.jobs import launch_request
from ferryman.statuses import FAILURE_STATUSES
from ferryman.validation import error_sentence

router = APIRouter(route_class=DashboardRoute)
JobId = Annotated[str, Path(max_length=63)]
Version = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


@router.get("/jobs")
async def list_jobs(request: Request, session: SessionDep, definitions: DefinitionsDep) -> Response:
    """The jobs at once; each row's run counts load on their own (`/jobs/{id}/counts`)."""
    session.require(READ_JOBS)
    jobs, _ = await definitions.page(session.project_id, 1, 1000)
    return page(request, "jobs.html", jobs=jobs, counted=session.can(READ_RUNS))


@router.get("/jobs/{job_id}/counts")
async def job_counts(
    request: Request,
    job_id: JobId,
    session: SessionDep,
    executions: ExecutionsDep,
    definitions: DefinitionsDep,
) -> Response:
    """A job's runs kept by Temporal, how many failed, the failure rate: a row's cells."""
    session.require(READ_RUNS)
    project_id = session.project_id
    await definitions.get(project_id, job_id, None)  # one of the project's jobs, or 404
    runs, failed = await executions.reader.counts(
        [ListFilter(project_id, job_id), ListFilter(project_id, job_id, statuses=FAILURE_STATUSES)]
    )
    rate = f"{failed / runs:.0%}" if runs else "—"
    failures = urlencode([("job_id", job_id)] + [("status", s) for s in sorted(FAILURE_STATUSES)])
    return page(
        request,
        "_job_counts.html",
        job_id=job_id,
        runs=runs,
        failed=failed,
        rate=rate,
        failures=failures,
    )


@router.get("/jobs/{job_id}")
async def show_job(
    request: Request,
    job_id: JobId,
    session: SessionDep,
    definitions: DefinitionsDep,
    version: Version = None,
    base: Version = None,
) -> Response:
    session.require(READ_JOBS)
    project_id = session.project_id
    job = await definitions.get(project_id, job_id, version)
    versions = await definitions.versions(project_id, job_id)
    compared = base or (job.version - 1 if job.version > 1 else None)
    changes: list[str] = []
    if compared is not None:
        older = await definitions.get(project_id, job_id, compared)
        changes = views.diff(older.document, job.document, f"v{compared}", f"v{job.version}")
    schema = job.document.get("input_schema")
    return page(
        request,
        "job.html",
        job=job,
        versions=versions,
        compared=compared,
        changes=changes,
        graph=views.graph(job.document),
        input_schema=schema,
        payload=_example(job.document),
    )


def _example(document: dict[str, Any]) -> str:
    """The trigger form's first payload: the job's first preset, else `{}`."""
    presets = document.get("presets") or {}
    first: Any = next(iter(presets.values()), {}) if isinstance(presets, dict) else {}
    return json.dumps(first, indent=2)


@router.post("/jobs/{job_id}/trigger")
async def trigger(
    request: Request,
    job_id: JobId,
    session: ActingDep,
    executions: ExecutionsDep,
    payload: Annotated[str, Form(max_length=256 * 1024)] = "",
) -> Response:
    """A run of the job, as `POST /v1/jobs/{id}/trigger` starts one."""
    try:
        value = json.loads(payload) if payload.strip() else {}
    except ValueError as err:
        raise ApiError(f"the payload is not valid JSON: {err}", ErrorCode.INVALID_JSON) from err
    try:
        body = schemas.TriggerRequest(payload=value)
    except ValidationError as err:
        raise ApiError(error_sentence(err.errors(), limit=1), ErrorCode.VALIDATION_ERROR) from err
    run_id = new_execution_id()
    await executions.launcher.launch(launch_request(session.principal, job_id, body), run_id)
    return go(request, f"{PREFIX}/runs/{run_id}?done=triggered")
