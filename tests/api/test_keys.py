"""API keys over HTTP: create (shown once), list (prefix only), revoke, rotate."""

from __future__ import annotations

import uuid

from tests.support.api import Api


async def test_key_lifecycle(api: Api) -> None:
    admin = await api.key_for(project=f"keys-{uuid.uuid4().hex[:6]}")
    created = await api.http.post(
        "/api/v1/keys", json={"scopes": ["executions:read"], "name": "dash"}, headers=admin
    )
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["key"].startswith("fm_") and key["key"].startswith(key["prefix"])
    new_key = {"X-API-Key": key["key"]}
    assert (await api.http.get("/api/v1/executions", headers=new_key)).status_code == 200

    listed = (await api.http.get("/api/v1/keys", headers=admin)).json()["items"]
    assert key["id"] in [k["id"] for k in listed]
    assert all("key" not in k for k in listed)

    rotated = await api.http.post(f"/api/v1/keys/{key['id']}/rotate", headers=admin)
    assert rotated.status_code == 201
    assert rotated.json()["scopes"] == ["executions:read"]
    assert (await api.http.get("/api/v1/executions", headers=new_key)).status_code == 401
    fresh = {"X-API-Key": rotated.json()["key"]}
    assert (await api.http.get("/api/v1/executions", headers=fresh)).status_code == 200

    revoked = await api.http.delete(f"/api/v1/keys/{rotated.json()['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await api.http.get("/api/v1/executions", headers=fresh)).status_code == 401


async def test_key_unhappy_paths(api: Api) -> None:
    admin = await api.key_for(project=f"keys-{uuid.uuid4().hex[:6]}")
    bad_scope = await api.http.post("/api/v1/keys", json={"scopes": ["root"]}, headers=admin)
    assert bad_scope.status_code == 422 and "unknown scope 'root'" in bad_scope.json()["error"]
    empty = await api.http.post("/api/v1/keys", json={"scopes": []}, headers=admin)
    assert empty.status_code == 422
    reader = await api.key_for(scopes=["executions:read"])
    assert (await api.http.get("/api/v1/keys", headers=reader)).status_code == 403
    other_admin = await api.key_for(project=f"keys-{uuid.uuid4().hex[:6]}")
    mine = (await api.http.post("/api/v1/keys", json={"scopes": ["admin"]}, headers=admin)).json()
    assert (
        await api.http.delete(f"/api/v1/keys/{mine['id']}", headers=other_admin)
    ).status_code == 404
    assert (
        await api.http.post(f"/api/v1/keys/{mine['id']}/rotate", headers=other_admin)
    ).status_code == 404
    assert (await api.http.delete("/api/v1/keys/key_missing", headers=admin)).status_code == 404
