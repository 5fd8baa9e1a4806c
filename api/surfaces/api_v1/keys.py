"""`/api/v1/keys`: API keys of the caller's project (admin scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ferryman.api.auth import SCOPES, Admin
from ferryman.api.codes import ErrorCode
from ferryman.api.deps import ResourcesDep
from ferryman.api.errors import ApiError
from ferryman.api.store import repository
from ferryman.api.surfaces.api_v1 import schemas
from ferryman.api.surfaces.api_v1.serializer import key as _out
from ferryman.api.surfaces.common import error_responses

router = APIRouter(prefix="/keys", tags=["keys"])
KeyId = Annotated[str, Path(max_length=64)]
ERRORS = error_responses(400, 401, 403, 404, 422)


@router.get("", response_model=schemas.KeyList, responses=ERRORS, summary="List keys")
async def list_keys(principal: Admin, resources: ResourcesDep) -> schemas.KeyList:
    async with resources.sessions() as session:
        keys = await repository.list_api_keys(session, principal.project_id)
    return schemas.KeyList(items=[_out(key) for key in keys])


@router.post(
    "",
    status_code=201,
    response_model=schemas.KeyCreated,
    responses=ERRORS,
    summary="Create a key; the key itself is shown once",
)
async def create_key(
    body: schemas.KeyCreate, principal: Admin, resources: ResourcesDep
) -> schemas.KeyCreated:
    unknown = sorted(set(body.scopes) - set(SCOPES))
    if unknown:
        raise ApiError(
            f"unknown scope {unknown[0]!r}; scopes are {', '.join(sorted(SCOPES))}",
            ErrorCode.VALIDATION_ERROR,
        )
    async with resources.sessions() as session:
        key, raw = await repository.create_api_key(
            session, principal.project_id, sorted(set(body.scopes)), name=body.name
        )
    return schemas.KeyCreated(**_out(key).model_dump(), key=raw)


@router.delete("/{key_id}", response_model=schemas.KeyOut, responses=ERRORS, summary="Revoke")
async def revoke_key(key_id: KeyId, principal: Admin, resources: ResourcesDep) -> schemas.KeyOut:
    async with resources.sessions() as session:
        key = await repository.revoke_api_key(session, principal.project_id, key_id)
    resources.principals.forget_all()
    return _out(key)


@router.post(
    "/{key_id}/rotate",
    status_code=201,
    response_model=schemas.KeyCreated,
    responses=ERRORS,
    summary="Replace a key with a new one of the same scopes, revoking the old",
)
async def rotate_key(
    key_id: KeyId, principal: Admin, resources: ResourcesDep
) -> schemas.KeyCreated:
    async with resources.sessions() as session:
        keys = await repository.list_api_keys(session, principal.project_id)
        old = next((k for k in keys if k.id == key_id and k.revoked_at is None), None)
        if old is None:
            raise ApiError(f"key {key_id!r} not found", ErrorCode.KEY_NOT_FOUND)
        # The new key exists before the old one is revoked: a failure leaves a working key.
        key, raw = await repository.create_api_key(
            session, principal.project_id, list(old.scopes), name=old.name
        )
        await repository.revoke_api_key(session, principal.project_id, key_id)
    resources.principals.forget_all()
    return schemas.KeyCreated(**_out(key).model_dump(), key=raw)
