"""The dashboard over HTTP (the app in-process): sign-in and its cookie, every page for an
admin, a read-only key and another project's key, forged and refused forms, filters, the
trigger's schema check, the assets. The same flows in a real browser: `test_browser.py`."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.support.api import Api
from tests.support.polling import eventually
from tests.support.runs import run_of, trigger

READ_ONLY = ["executions:read", "workflows:read"]


def waiting_job(job_id: str) -> dict[str, Any]:
    """A step, then a `wait` step: runs stay open until approved."""
    return {
        "id": job_id,
        "name": "Waits for approval",
        "input_schema": {
            "type": "object",
            "required": ["customer"],
            "properties": {"customer": {"type": "string"}},
        },
        "steps": [
            {"id": "prepare", "kind": "transform", "with": {"value": "{{ input.customer }}"}},
            {
                "id": "approval",
                "kind": "wait",
                "depends_on": ["prepare"],
                "with": {"signal": "approve"},
            },
        ],
        "output": "{{ steps.approval.output }}",
    }


class Browser:
    """A signed-in dashboard session over httpx: its cookie jar, its CSRF token."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def sign_in(self, key: str) -> httpx.Response:
        response = await self.http.post("/ui/login", data={"key": key, "next": "/ui/runs"})
        page = await self.http.get("/ui/runs")
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        self.csrf = found.group(1) if found else ""
        return response

    async def post(self, path: str, **data: Any) -> httpx.Response:
        return await self.http.post(path, data={"csrf": self.csrf, **data})


@pytest_asyncio.fixture
async def browser(api: Api) -> AsyncIterator[Browser]:
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ferryman.test") as http:
        yield Browser(http)


def raw(headers: dict[str, str]) -> str:
    return headers["X-API-Key"]


@pytest_asyncio.fixture(scope="module")
async def waiting(api: Api) -> tuple[str, str]:
    """A job of the default project and one of its runs, waiting for its approval."""
    job = f"ui-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(waiting_job(job))
    run = await trigger(api, job, payload={"customer": "acme"}, tags={"team": "blue"})
    await eventually(lambda: run_of(api, run["id"]), lambda r: r["status"] == "waiting")
    return job, str(run["id"])


async def test_sign_in_keeps_the_key_in_a_strict_http_only_cookie_and_nowhere_else(
    api: Api, browser: Browser
) -> None:
    asked = await browser.http.get("/ui/runs?status=waiting")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/ui/login?next=%2Fui%2Fruns%3Fstatus%3Dwaiting"
    key = raw(await api.key_for())
    signed = await browser.sign_in(key)
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/runs"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    for path in ("/ui/", "/ui/runs", "/ui/jobs", "/ui/dead-letters", "/ui/schedules"):
        page = await browser.http.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert key not in page.text and key not in str(page.url)
    # Sign-out needs the session's token, then forgets the cookie.
    assert (await browser.http.post("/ui/logout")).status_code == 403
    out = await browser.post("/ui/logout")
    assert out.status_code == 303 and 'ferryman_session=""' in out.headers["set-cookie"]
    assert (await browser.http.get("/ui/runs")).status_code == 303


@pytest.mark.parametrize("key", ["", "fm_not_a_key", "x" * 600])
async def test_a_bad_key_is_refused_with_a_sentence(browser: Browser, key: str) -> None:
    response = await browser.http.post("/ui/login", data={"key": key})
    assert response.status_code in (401, 422)
    if response.status_code == 401:
        assert "Invalid or missing API key" in response.text
        assert "set-cookie" not in response.headers
    # A cookie made up by hand is no session either.
    browser.http.cookies.set("ferryman_session", "nonce.fm_forged", path="/ui")
    assert (await browser.http.get("/ui/runs")).status_code == 303


async def test_every_page_of_the_admin(
    api: Api, browser: Browser, waiting: tuple[str, str]
) -> None:
    job, run_id = waiting
    await browser.sign_in(raw(await api.key_for()))
    runs = await browser.http.get("/ui/runs")
    assert run_id in runs.text and 'data-status="waiting"' in runs.text
    run = await browser.http.get(f"/ui/runs/{run_id}")
    assert run.status_code == 200
    for expected in (
        'data-step="prepare" data-step-status="completed"',
        "Approve approval",
        "Roll back to here",
        "Replay from here",
        "acme",
    ):
        assert expected in run.text, expected
    assert (await browser.http.get(f"/ui/jobs/{job}")).status_code == 200
    listed = await browser.http.get("/ui/jobs")
    assert f'hx-get="/ui/jobs/{job}/counts"' in listed.text
    counted = await browser.http.get(f"/ui/jobs/{job}/counts")
    assert 'data-runs="' in counted.text and 'data-failed="0"' in counted.text
    overview = await browser.http.get("/ui/")
    assert overview.status_code == 200 and 'hx-get="/ui/overview/statuses"' in overview.text
    statuses = await browser.http.get("/ui/overview/statuses")
    assert "Runs started in the last hour" in statuses.text
    assert 'data-count="waiting"' in statuses.text
    for panel, text in (("jobs", "Busiest jobs"), ("queues", "Queue depth")):
        assert text in (await browser.http.get(f"/ui/overview/{panel}")).text


async def test_a_read_only_key_sees_pages_but_cannot_act(
    api: Api, browser: Browser, waiting: tuple[str, str]
) -> None:
    job, run_id = waiting
    await browser.sign_in(raw(await api.key_for(scopes=READ_ONLY)))
    run = await browser.http.get(f"/ui/runs/{run_id}")
    assert run.status_code == 200 and "Read-only key" in run.text
    buttons = re.findall(r"<button[^>]*>", run.text)
    acting = [b for b in buttons if "signout" not in b and "submit" in b]
    assert acting and all("disabled" in b for b in acting), acting
    # A forged form, with the session's own token: the API's 403 sentence, nothing done.
    for path, data in (
        (f"/ui/runs/{run_id}/cancel", {}),
        (f"/ui/runs/{run_id}/approve", {"signal": "approve", "payload": "{}"}),
        (f"/ui/jobs/{job}/trigger", {"payload": '{"customer": "x"}'}),
        ("/ui/runs/bulk", {"action": "cancel", "run_id": run_id}),
        ("/ui/dead-letters/redrive", {"all": "true"}),
    ):
        refused = await browser.post(path, **data)
        assert refused.status_code == 403, (path, refused.text[:300])
        assert "this API key lacks the &#39;workflows:execute&#39; scope" in refused.text
    assert (await run_of(api, run_id))["status"] == "waiting"


async def test_another_projects_key_sees_none_of_it(
    api: Api, browser: Browser, waiting: tuple[str, str]
) -> None:
    job, run_id = waiting
    await browser.sign_in(raw(await api.key_for(project=f"other-{uuid.uuid4().hex[:6]}")))
    assert run_id not in (await browser.http.get("/ui/runs")).text
    assert job not in (await browser.http.get("/ui/jobs")).text
    for path in (f"/ui/runs/{run_id}", f"/ui/jobs/{job}"):
        page = await browser.http.get(path)
        assert page.status_code == 404 and "not found" in page.text, path
    cancel = await browser.post(f"/ui/runs/{run_id}/cancel")
    assert cancel.status_code == 404 and "execution not found" in cancel.text
    assert (await run_of(api, run_id))["status"] == "waiting"


async def test_a_form_without_the_sessions_token_is_refused(
    api: Api, browser: Browser, waiting: tuple[str, str]
) -> None:
    _, run_id = waiting
    await browser.sign_in(raw(await api.key_for()))
    for token in (None, "0" * 64):
        data = {} if token is None else {"csrf": token}
        refused = await browser.http.post(f"/ui/runs/{run_id}/cancel", data=data)
        assert refused.status_code == 403 and "csrf_token_invalid" in refused.text
    assert (await run_of(api, run_id))["status"] == "waiting"


async def test_filters_take_the_v1_checks_and_find_by_payload(
    api: Api, browser: Browser, waiting: tuple[str, str]
) -> None:
    _job, run_id = waiting
    await browser.sign_in(raw(await api.key_for()))
    found = await browser.http.get("/ui/runs", params={"payload": '{"customer": "acme"}'})
    assert run_id in found.text
    other = await browser.http.get("/ui/runs", params={"payload": '{"customer": "nobody"}'})
    assert other.status_code == 200 and run_id not in other.text
    by_tag = await browser.http.get("/ui/runs", params={"tags": '{"team": "blue"}'})
    assert run_id in by_tag.text
    for params, sentence in (
        ({"payload": "[1]"}, "payload must be a JSON object"),
        ({"tags": '{"team": 1}'}, "tags values must be strings"),
        ({"status": "sleeping"}, "unknown status &#39;sleeping&#39;"),
        ({"job_id": "Not A Slug"}, "workflow_id must be a workflow slug"),
        ({"from": "yesterday"}, "from must be a date and time"),
        ({"since": "1y"}, "since must be one of"),
        ({"triggered_by": "telepathy"}, "triggered_by must be one of"),
    ):
        refused = await browser.http.get("/ui/runs", params=params)
        assert refused.status_code == 422 and sentence in refused.text, (params, refused.text)
    cursor = await browser.http.get("/ui/runs", params={"cursor": "c1.not-a-cursor"})
    assert cursor.status_code == 422 and "invalid_cursor" in cursor.text


async def test_a_trigger_is_checked_against_the_input_schema(
    api: Api, browser: Browser, waiting: tuple[str, str]
) -> None:
    job, _ = waiting
    await browser.sign_in(raw(await api.key_for()))
    htmx = {"HX-Request": "true"}
    for payload, code in (('{"customer": 7}', "input_invalid"), ("{oops", "invalid_json")):
        response = await browser.http.post(
            f"/ui/jobs/{job}/trigger", data={"csrf": browser.csrf, "payload": payload}, headers=htmx
        )
        assert response.headers["HX-Retarget"] == "#flash", response.text
        assert code in response.text and "Refused:" in response.text
    started = await browser.post(f"/ui/jobs/{job}/trigger", payload='{"customer": "zed"}')
    assert started.status_code == 303
    run_id = started.headers["location"].split("/")[-1].split("?")[0]
    assert (await run_of(api, run_id))["payload"] == {"customer": "zed"}


async def test_an_action_the_run_refuses_shows_the_apis_sentence(
    api: Api, browser: Browser, waiting: tuple[str, str]
) -> None:
    _, run_id = waiting
    await browser.sign_in(raw(await api.key_for()))
    resume = await browser.post(f"/ui/runs/{run_id}/resume")
    assert resume.status_code == 409
    assert "the run is waiting; only a paused one can resume" in resume.text
    replay = await browser.post("/ui/runs/bulk", action="replay", run_id=run_id)
    assert replay.status_code == 422 and "no run was replayed" in replay.text


async def test_the_assets_are_served_from_the_package(browser: Browser) -> None:
    for path, kind in (
        ("/ui/static/vendor/htmx-2.0.11.min.js", "javascript"),
        ("/ui/static/vendor/htmx-ext-sse-2.2.4.min.js", "javascript"),
        ("/ui/static/dashboard.js", "javascript"),
        ("/ui/static/dashboard.css", "css"),
    ):
        response = await browser.http.get(path)
        assert response.status_code == 200 and kind in response.headers["content-type"], path
    login = await browser.http.get("/ui/login")
    linked = re.findall(r'(?:src|href)="([^"]+)"', login.text)
    assert linked and all(url.startswith(("/ui/", "data:", "#")) for url in linked), linked


async def test_the_buttons_act_and_land_on_the_run_they_leave(
    api: Api, browser: Browser, waiting: tuple[str, str]
) -> None:
    job, _ = waiting
    run = await trigger(api, job, payload={"customer": "bo"})
    run_id = str(run["id"])
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "waiting")
    await browser.sign_in(raw(await api.key_for()))

    async def press(action: str, **data: str) -> str:
        answer = await browser.post(f"/ui/runs/{run_id}/{action}", **data)
        assert answer.status_code == 303, (action, answer.text[:300])
        return str(answer.headers["location"])

    assert await press("pause") == f"/ui/runs/{run_id}?done=paused"
    assert (await run_of(api, run_id))["status"] == "paused"
    shown = await browser.http.get(f"/ui/runs/{run_id}?done=paused")
    assert "Paused: the run holds" in shown.text and ">Resume<" in shown.text
    await press("resume")
    approved = {"signal": "approve", "payload": '{"ok": true}'}
    assert await press("approve", **approved) == f"/ui/runs/{run_id}?done=approved"
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "completed")
    assert (await run_of(api, run_id))["result"] == {"ok": True}
    for action, done in (("replay", "replayed"), ("restart", "restarted")):
        landed = await press(action)
        new_id = landed.split("/")[-1].split("?")[0]
        assert new_id != run_id and landed.endswith(f"?done={done}")
        again = await run_of(api, new_id)
        assert again["continuation_of"] == run_id and again["payload"] == {"customer": "bo"}
        await browser.post(f"/ui/runs/{new_id}/cancel")
        await eventually(partial(run_of, api, new_id), lambda r: r["status"] == "canceled")
    bad = await browser.post(f"/ui/runs/{run_id}/approve", signal="approve", payload="{nope")
    assert bad.status_code == 400 and "the payload is not valid JSON" in bad.text
    late = await browser.post(f"/ui/runs/{run_id}/reschedule", scheduled_at="2030-01-01T10:00")
    assert late.status_code == 409 and "only a delayed run can be rescheduled" in late.text


def dashboard_routes(method: str) -> list[str]:
    """Every path of the dashboard's routes for `method`, each parameter filled in: the
    `{button}`s one by one, the run, job and schedule of the caller's project."""
    from fastapi.routing import APIRoute

    from ferryman.api.surfaces.dashboard import (
        dead_letters,
        jobs,
        overview,
        run,
        runs,
        schedules,
    )

    paths = []
    for module in (overview, runs, run, jobs, dead_letters, schedules):
        for route in module.router.routes:
            if isinstance(route, APIRoute) and method in (route.methods or set()):
                buttons = run.BUTTONS if "{button}" in route.path else [""]
                paths += [route.path.replace("{button}", button) for button in buttons]
    assert len(paths) > 5, paths
    return paths


def filled(path: str, run_id: str, job: str, schedule_id: str) -> str:
    values = {"{run_id}": run_id, "{job_id}": job, "{schedule_id}": schedule_id}
    values["{panel}"] = "statuses"
    for name, value in values.items():
        path = path.replace(name, value)
    assert "{" not in path, f"teach the sweep {path}"
    return "/ui" + path


@pytest.mark.parametrize("scopes", [READ_ONLY, ["executions:read"], ["workflows:read"]])
async def test_every_button_refuses_a_key_without_the_execute_scope(
    api: Api, browser: Browser, waiting: tuple[str, str], scopes: list[str]
) -> None:
    job, run_id = waiting
    made = await api.http.post(
        "/v1/schedules",
        json={"job_id": job, "cron": "0 0 1 1 *", "payload": {"customer": "s"}},
        headers=api.admin,
    )
    schedule_id = made.json()["id"]
    await browser.sign_in(raw(await api.key_for(scopes=scopes)))
    for path in dashboard_routes("POST"):
        data = {"run_id": run_id, "action": "cancel", "payload": "{}", "signal": "approve"}
        refused = await browser.post(filled(path, run_id, job, schedule_id), **data)
        assert refused.status_code == 403, (path, refused.text[:300])
        assert "lacks the &#39;workflows:execute&#39; scope" in refused.text, path
    assert (await run_of(api, run_id))["status"] == "waiting"
    schedule = await api.http.get(f"/v1/schedules/{schedule_id}", headers=api.admin)
    assert schedule.json()["paused"] is False


async def test_every_page_and_button_of_another_project_is_not_found(
    api: Api, browser: Browser, waiting: tuple[str, str]
) -> None:
    job, run_id = waiting
    made = await api.http.post(
        "/v1/schedules",
        json={"job_id": job, "cron": "0 0 1 1 *", "payload": {"customer": "s"}},
        headers=api.admin,
    )
    schedule_id = made.json()["id"]
    await browser.sign_in(raw(await api.key_for(project=f"else-{uuid.uuid4().hex[:6]}")))
    for path in dashboard_routes("GET"):
        if "stream" in path or "chunks" in path:
            continue  # event streams: the same lookup, answered before the first event
        page = await browser.http.get(filled(path, run_id, job, schedule_id))
        if "{" in path and "{panel}" not in path:
            assert page.status_code == 404, (path, page.text[:300])
        else:
            assert page.status_code == 200 and run_id not in page.text, path
    for path in dashboard_routes("POST"):
        if "{" not in path:
            continue  # bulk forms: each id is looked up in the caller's project (below)
        data = {"payload": "{}", "signal": "approve", "checkpoint_id": f"chk_{run_id}_0"}
        data["scheduled_at"] = "2030-01-01T10:00"
        answer = await browser.post(filled(path, run_id, job, schedule_id), **data)
        assert answer.status_code == 404, (path, answer.text[:300])
    bulk = await browser.post("/ui/runs/bulk", action="cancel", run_id=run_id)
    assert "Canceled 0 of 1 runs" in bulk.text and "execution not found" in bulk.text
    assert (await run_of(api, run_id))["status"] == "waiting"
    schedule = await api.http.get(f"/v1/schedules/{schedule_id}", headers=api.admin)
    assert schedule.json()["paused"] is False


async def test_a_jobs_versions_diff_and_graph(api: Api, browser: Browser) -> None:
    job = f"ver-{uuid.uuid4().hex[:8]}"
    first = waiting_job(job)
    await api.create_workflow(first)
    second = {**first, "steps": [*first["steps"], {"id": "notify", "kind": "transform"}]}
    second["steps"][-1]["depends_on"] = ["approval"]
    second["steps"][-1]["with"] = {"value": "done"}
    updated = await api.http.put(f"/api/v1/workflows/{job}", json=second, headers=api.admin)
    assert updated.status_code == 200, updated.text
    await browser.sign_in(raw(await api.key_for()))
    latest = await browser.http.get(f"/ui/jobs/{job}")
    assert "Changes from v1 to v2" in latest.text
    assert '<span class="add">+- id: notify</span>' in latest.text
    # The graph: one box per step, one arrow per dependency.
    assert latest.text.count("<g data-node=") == 3
    assert latest.text.count("<line ") == 2
    older = await browser.http.get(f"/ui/jobs/{job}", params={"version": 1})
    assert "notify" not in older.text.split("<h2>Versions</h2>")[0]
    missing = await browser.http.get(f"/ui/jobs/{job}", params={"version": 9})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "target", ["https://elsewhere.example/ui/", "//elsewhere.example/ui/", "/api/v1/keys", ""]
)
async def test_sign_in_goes_back_to_the_dashboard_only(
    api: Api, browser: Browser, target: str
) -> None:
    signed = await browser.http.post(
        "/ui/login", data={"key": raw(await api.key_for()), "next": target}
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/"
