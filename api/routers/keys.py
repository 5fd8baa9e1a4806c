"""API keys of the caller's project (admin scope)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from ferryman.api import schemas
from ferryman.api.auth import SCOPES, Admin
from ferryman.api.deps import ResourcesDep
from ferryman.api.errors import InvalidInput, NotFound
from ferryman.api.schemas import ErrorBody
from ferryman.api.store import repository
from ferryman.api.store.models import ApiKey

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])
KeyId = Annotated[str, Path(max_length=64)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 422)
}


def _out(key: ApiKey) -> schemas.KeyOut:
    return schemas.KeyOut(
        id=key.id,
        project_id=key.project_id,
        name=key.name,
        prefix=key.prefix,
        scopes=list(key.scopes),
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


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
        raise InvalidInput(f"unknown scope {unknown[0]!r}; scopes are {', '.join(sorted(SCOPES))}")
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
            raise NotFound(f"key {key_id!r} not found")
        # The new key exists before the old one is revoked: a failure leaves a working key.
        key, raw = await repository.create_api_key(
            session, principal.project_id, list(old.scopes), name=old.name
        )
        await repository.revoke_api_key(session, principal.project_id, key_id)
    resources.principals.forget_all()
    return schemas.KeyCreated(**_out(key).model_dump(), key=raw)
