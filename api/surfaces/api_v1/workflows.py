"""`/api/v1/workflows`: register, version, read, disable and enable definitions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from ferryman.api.auth import ReadWorkflows, WriteWorkflows
from ferryman.api.deps import DefinitionsDep, ExecutionsDep
from ferryman.api.surfaces.api_v1 import schemas, serializer
from ferryman.api.surfaces.common import ERRORS
from ferryman.workflows.dsl import WorkflowDefinition

router = APIRouter(prefix="/workflows", tags=["workflows"])

WorkflowSlug = Annotated[str, Path(max_length=63, description="The workflow's slug")]
DEFINITION_EXAMPLE = WorkflowDefinition.model_json_schema()["examples"][0]
DEFINITION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {
                "schema": {"$ref": "#/components/schemas/WorkflowDefinition"},
                "example": DEFINITION_EXAMPLE,
            }
            for media in ("application/json", "application/yaml")
        },
    }
}


@router.post(
    "",
    status_code=201,
    response_model=schemas.WorkflowOut,
    responses=ERRORS,
    openapi_extra=DEFINITION_BODY,
    summary="Register a workflow definition (JSON or YAML)",
)
async def create_workflow(
    request: Request, principal: WriteWorkflows, definitions: DefinitionsDep
) -> schemas.WorkflowOut:
    document = definitions.parse(await request.body(), request.headers.get("content-type", ""))
    return serializer.workflow(await definitions.create(principal.project_id, document))


@router.put(
    "/{workflow_id}",
    response_model=schemas.WorkflowOut,
    responses=ERRORS,
    openapi_extra=DEFINITION_BODY,
    summary="Add a new version of a workflow definition",
)
async def update_workflow(
    workflow_id: WorkflowSlug,
    request: Request,
    principal: WriteWorkflows,
    definitions: DefinitionsDep,
) -> schemas.WorkflowOut:
    document = definitions.parse(await request.body(), request.headers.get("content-type", ""))
    stored = await definitions.new_version(principal.project_id, workflow_id, document)
    return serializer.workflow(stored)


@router.get("", response_model=schemas.WorkflowPage, responses=ERRORS, summary="List workflows")
async def list_workflows(
    principal: ReadWorkflows,
    definitions: DefinitionsDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> schemas.WorkflowPage:
    stored, total = await definitions.page(principal.project_id, page, page_size)
    return schemas.WorkflowPage(
        items=[serializer.workflow(s) for s in stored], total=total, page=page, page_size=page_size
    )


@router.get(
    "/{workflow_id}",
    response_model=schemas.WorkflowOut,
    responses=ERRORS,
    summary="Read a workflow (latest version unless `version` is given)",
)
async def get_workflow(
    workflow_id: WorkflowSlug,
    principal: ReadWorkflows,
    definitions: DefinitionsDep,
    version: Annotated[int | None, Query(ge=1, le=schemas.MAX_VERSION)] = None,
) -> schemas.WorkflowOut:
    return serializer.workflow(await definitions.get(principal.project_id, workflow_id, version))


@router.get(
    "/{workflow_id}/versions",
    response_model=schemas.WorkflowVersions,
    responses=ERRORS,
    summary="Every version of a workflow",
)
async def list_versions(
    workflow_id: WorkflowSlug, principal: ReadWorkflows, definitions: DefinitionsDep
) -> schemas.WorkflowVersions:
    versions = await definitions.versions(principal.project_id, workflow_id)
    return schemas.WorkflowVersions(
        workflow_id=workflow_id, items=[serializer.workflow_version(v) for v in versions]
    )


@router.post(
    "/{workflow_id}/disable",
    response_model=schemas.WorkflowOut,
    responses=ERRORS,
    summary="Disable a workflow: new executions get 409, running ones go on",
    description="Its cron schedules are paused until it is enabled again.",
)
async def disable_workflow(
    workflow_id: WorkflowSlug,
    principal: WriteWorkflows,
    definitions: DefinitionsDep,
    executions: ExecutionsDep,
) -> schemas.WorkflowOut:
    stored = await definitions.set_disabled(principal.project_id, workflow_id, True)
    await executions.schedules.hold_job(principal.project_id, workflow_id)
    return serializer.workflow(stored)


@router.post(
    "/{workflow_id}/enable",
    response_model=schemas.WorkflowOut,
    responses=ERRORS,
    summary="Enable a disabled workflow",
    description="The cron schedules its disabling paused run again; others stay as they are.",
)
async def enable_workflow(
    workflow_id: WorkflowSlug,
    principal: WriteWorkflows,
    definitions: DefinitionsDep,
    executions: ExecutionsDep,
) -> schemas.WorkflowOut:
    stored = await definitions.set_disabled(principal.project_id, workflow_id, False)
    await executions.schedules.release_job(principal.project_id, workflow_id)
    return serializer.workflow(stored)
