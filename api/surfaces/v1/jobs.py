"""`/v1/jobs`: jobs (workflow definitions with their run defaults), their triggers and their
dependencies."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from ferryman.api.auth import Execute, Principal, ReadWorkflows, WriteWorkflows
from ferryman.api.deps import DefinitionsDep, ExecutionsDep, IdempotencyDep
from ferryman.api.executions import Executions
from ferryman.api.executions.ids import new_batch_id
from ferryman.api.executions.launch import LaunchRequest, Overrides
from ferryman.api.surfaces.api_v1.workflows import DEFINITION_BODY
from ferryman.api.surfaces.common import ERRORS
from ferryman.api.surfaces.v1 import job_schemas, schemas, serializer
from ferryman.api.surfaces.v1.params import JobId

router = APIRouter(tags=["jobs"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=256,
        description="Retry-safe trigger: the same key and body give the same run",
    ),
]


@router.get("/jobs", response_model=list[job_schemas.Job], responses=ERRORS, summary="List jobs")
async def list_jobs(principal: ReadWorkflows, definitions: DefinitionsDep) -> list[job_schemas.Job]:
    stored, _ = await definitions.page(principal.project_id, 1, 1000)
    return [serializer.job(s) for s in stored]


@router.post(
    "/jobs",
    status_code=201,
    response_model=job_schemas.Job,
    responses=ERRORS,
    openapi_extra=DEFINITION_BODY,
    summary="Create a job from a workflow definition (JSON or YAML)",
)
async def create_job(
    request: Request, principal: WriteWorkflows, definitions: DefinitionsDep
) -> job_schemas.Job:
    document = definitions.parse(await request.body(), request.headers.get("content-type", ""))
    return serializer.job(await definitions.create(principal.project_id, document))


@router.get(
    "/jobs/{job_id}", response_model=job_schemas.Job, responses=ERRORS, summary="Read a job"
)
async def get_job(
    job_id: JobId, principal: ReadWorkflows, definitions: DefinitionsDep
) -> job_schemas.Job:
    return serializer.job(await definitions.get(principal.project_id, job_id, None))


@router.post(
    "/jobs/{job_id}/dependencies",
    status_code=201,
    response_model=job_schemas.Dependency,
    responses=ERRORS,
    summary="Make the job's runs wait on the latest run of another job",
)
async def create_job_dependency(
    job_id: JobId,
    body: job_schemas.DependencyRequest,
    principal: WriteWorkflows,
    definitions: DefinitionsDep,
) -> job_schemas.Dependency:
    dependency = await definitions.add_dependency(
        principal.project_id, job_id, body.depends_on_job_id, body.condition
    )
    return serializer.dependency(dependency)


@router.get(
    "/jobs/{job_id}/dependencies",
    response_model=list[job_schemas.Dependency],
    responses=ERRORS,
    summary="List the job's dependencies",
)
async def list_job_dependencies(
    job_id: JobId, principal: ReadWorkflows, definitions: DefinitionsDep
) -> list[job_schemas.Dependency]:
    stored = await definitions.dependencies(principal.project_id, job_id)
    return [serializer.dependency(d) for d in stored]


def launch_request(
    principal: Principal, job_id: str, body: schemas.TriggerRequest, batch_id: str | None = None
) -> LaunchRequest:
    """One trigger's options, as the domain takes them (built once, here)."""
    return LaunchRequest(
        project_id=principal.project_id,
        workflow_id=job_id,
        input=body.payload,
        metadata=body.metadata,
        version=body.version,
        tags=body.tags,
        priority=body.priority,
        batch_id=batch_id,
        idempotency_key=body.idempotency_key,
        created_by=principal.key_id,
        debug_mode=body.debug_mode,
        scheduled_at=body.scheduled_at,
        expires_at=body.expires_at,
        concurrency_key=body.concurrency_key,
        overrides=Overrides(
            max_attempts=body.max_attempts_override,
            timeout_secs=body.timeout_secs_override,
            retry_backoff=body.retry_backoff,
            retry_initial_delay_secs=body.retry_initial_delay_secs,
            retry_max_delay_secs=body.retry_max_delay_secs,
        ),
    )


@router.post(
    "/jobs/{job_id}/trigger",
    status_code=201,
    response_model=schemas.Run,
    responses=ERRORS,
    summary="Trigger a run of a job",
)
async def trigger_job(
    job_id: JobId,
    principal: Execute,
    executions: ExecutionsDep,
    idempotency: IdempotencyDep,
    body: schemas.TriggerRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    body = body or schemas.TriggerRequest()
    key = idempotency_key or body.idempotency_key
    request = replace(launch_request(principal, job_id, body), idempotency_key=key)

    async def produce(run_id: str) -> tuple[int, dict[str, Any]]:
        await executions.launcher.launch(request, run_id)
        return 201, await _run_answer(executions, principal, run_id)

    scope = f"trigger:{job_id}"
    return await idempotency.answer(principal.project_id, scope, key, _keyed_body(body), produce)


@router.post(
    "/jobs/{job_id}/batch-trigger",
    status_code=201,
    response_model=schemas.BatchTriggered,
    responses=ERRORS,
    summary="Trigger many runs of a job at once; they share one `batch_id`",
)
async def batch_trigger_job(
    job_id: JobId,
    body: schemas.BatchTriggerRequest,
    principal: Execute,
    executions: ExecutionsDep,
    idempotency: IdempotencyDep,
) -> schemas.BatchTriggered:
    batch_id = new_batch_id()

    async def start(positions: list[tuple[int, str]]) -> list[dict[str, Any]]:
        """Start the items at these positions under these run ids, all or nothing."""
        requests = [
            (launch_request(principal, job_id, body.items[index], batch_id), run_id)
            for index, run_id in positions
        ]
        await executions.launcher.launch_all(requests)
        return [await _run_answer(executions, principal, run_id) for _, run_id in positions]

    # Every item is checked before any run starts, its idempotency key included (the same
    # key twice is refused by the schema): one refused item starts none, and frees every key.
    answered = await idempotency.once_all(
        principal.project_id,
        f"trigger:{job_id}",
        [(item.idempotency_key, _keyed_body(item)) for item in body.items],
        start,
    )
    return schemas.BatchTriggered(
        batch_id=batch_id, runs=[schemas.Run.model_validate(a.body) for a in answered]
    )


async def _run_answer(executions: Executions, principal: Principal, run_id: str) -> dict[str, Any]:
    view = await executions.reader.get(principal.project_id, run_id)
    return serializer.run(view).model_dump(mode="json")


def _keyed_body(item: schemas.TriggerRequest) -> dict[str, Any]:
    """What an idempotency key stands for: the trigger's body without the key itself."""
    return item.model_dump(mode="json", exclude={"idempotency_key"})
