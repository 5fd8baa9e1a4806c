"""Workflow definitions: create, version, read, disable."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from ferryman.api import schemas
from ferryman.api.auth import ReadWorkflows, WriteWorkflows
from ferryman.api.definitions import parse_document
from ferryman.api.deps import DefinitionsDep
from ferryman.api.schemas import ErrorBody
from ferryman.workflows.dsl import WorkflowDefinition

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows"])

WorkflowSlug = Annotated[str, Path(max_length=63, description="The workflow's slug")]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422)
}
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
    document = parse_document(await request.body(), request.headers.get("content-type", ""))
    return await definitions.create(principal.project_id, document)


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
    document = parse_document(await request.body(), request.headers.get("content-type", ""))
    return await definitions.new_version(principal.project_id, workflow_id, document)


@router.get("", response_model=schemas.WorkflowPage, responses=ERRORS, summary="List workflows")
async def list_workflows(
    principal: ReadWorkflows,
    definitions: DefinitionsDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> schemas.WorkflowPage:
    return await definitions.list(principal.project_id, page, page_size)


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
    return await definitions.get(principal.project_id, workflow_id, version)


@router.get(
    "/{workflow_id}/versions",
    response_model=schemas.WorkflowVersions,
    responses=ERRORS,
    summary="Every version of a workflow",
)
async def list_versions(
    workflow_id: WorkflowSlug, principal: ReadWorkflows, definitions: DefinitionsDep
) -> schemas.WorkflowVersions:
    return await definitions.versions(principal.project_id, workflow_id)


@router.post(
    "/{workflow_id}/disable",
    response_model=schemas.WorkflowOut,
    responses=ERRORS,
    summary="Disable a workflow: new executions get 409, running ones go on",
)
async def disable_workflow(
    workflow_id: WorkflowSlug, principal: WriteWorkflows, definitions: DefinitionsDep
) -> schemas.WorkflowOut:
    return await definitions.set_disabled(principal.project_id, workflow_id, True)


@router.post(
    "/{workflow_id}/enable",
    response_model=schemas.WorkflowOut,
    responses=ERRORS,
    summary="Enable a disabled workflow",
)
async def enable_workflow(
    workflow_id: WorkflowSlug, principal: WriteWorkflows, definitions: DefinitionsDep
) -> schemas.WorkflowOut:
    return await definitions.set_disabled(principal.project_id, workflow_id, False)
