"""The dashboard in a real browser (headless Chromium) against `ferryman up` on free ports,
as a new user clicks it: sign in; watch a run's steps turn green live; approve its `wait`
step and see it complete; roll back to a checkpoint; redrive a dead letter; filter the list
by payload and see its rows change live; another project's key and a read-only key. Each
page is screenshotted to build/screenshots/. The jobs come from FERRYMAN_WORKFLOWS_DIR;
setting up other runs, keys and a schedule uses the API (the flows under test never do)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from tests.support.browser import chromium_page, screenshot
from tests.support.llm_server import LlmServer, Reply
from tests.support.paths import ROOT
from tests.support.polling import eventually
from tests.support.processes import cli_env
from tests.support.up import Up

LIVE = 60_000  # ms a live change may take to show (steps, a sleep, a redrive's retry)
FLAKY_SERVICE = """
id: flaky-service
name: Calls a service that comes back
dead_letter: true
input_schema:
  type: object
  required: [target, token]
  properties: {target: {type: string}, token: {type: string}}
steps:
  - id: prepare
    kind: transform
    with: {value: "{{ input.token }}"}
  - id: call
    kind: http
    depends_on: [prepare]
    with: {url: "{{ input.target }}/fail-until/{{ input.token }}?times=2"}
    retry: {max_attempts: 2, backoff: fixed, initial_delay_secs: 1}
"""


@dataclass
class Stack:
    up: Up
    key: str  # the dev key: admin of the default project
    http: httpx.AsyncClient  # the API, for setting up
    target: str  # the http steps' server

    @property
    def ui(self) -> str:
        return f"{self.up.url}/ui"

    async def trigger(self, job: str, payload: dict[str, Any]) -> str:
        response = await self.http.post(f"/v1/jobs/{job}/trigger", json={"payload": payload})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def status(self, run_id: str) -> str:
        return str((await self.http.get(f"/v1/runs/{run_id}")).json()["status"])

    async def until(self, run_id: str, status: str) -> None:
        await eventually(lambda: self.status(run_id), lambda s: s == status, timeout=60)

    def hello(self, name: str) -> dict[str, str]:
        return {"name": name, "api_url": self.up.url}


@pytest_asyncio.fixture(scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, http_target: str, llm_server: LlmServer
) -> AsyncIterator[Stack]:
    root = tmp_path_factory.mktemp("dashboard")
    jobs = root / "jobs"
    jobs.mkdir()
    shutil.copy(ROOT / "examples" / "hello.yaml", jobs / "hello.yaml")
    (jobs / "flaky-service.yaml").write_text(FLAKY_SERVICE)
    up = Up(data_dir=root / "data", log=root / "up.log")
    up.env["FERRYMAN_WORKFLOWS_DIR"] = str(jobs)
    up.env["FERRYMAN_LLM_BASE_URL"] = llm_server.base_url
    try:
        up.start()
        await up.wait_ready()
        key = (up.data_dir / "dev-api-key").read_text().strip()
        headers = {"X-API-Key": key}
        async with httpx.AsyncClient(base_url=up.url, headers=headers, timeout=30) as http:
            yield Stack(up, key, http, http_target)
        up.stop()
    finally:
        up.kill_all()


@pytest_asyncio.fixture
async def page() -> AsyncIterator[Page]:
    async with chromium_page() as opened:
        yield opened


async def sign_in(page: Page, stack: Stack, key: str | None = None) -> None:
    await page.goto(f"{stack.ui}/runs")
    await page.get_by_label("API key").fill(key or stack.key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Runs")).to_be_visible()


def step(page: Page, step_id: str, status: str) -> Any:
    return page.locator(f'[data-step="{step_id}"][data-step-status="{status}"]')


def run_status(page: Page, status: str) -> Any:
    return page.locator(f'#run-head .run-status [data-status="{status}"]')


def new_key(stack: Stack, project: str, scopes: list[str]) -> str:
    """`ferryman keys create` on up's data dir: the last line is the key."""
    args = [sys.executable, "-m", "ferryman", "keys", "create", "--project", project]
    args += [arg for scope in scopes for arg in ("--scope", scope)]
    args += ["--data-dir", str(stack.up.data_dir)]
    made = subprocess.run(args, cwd=ROOT, env=cli_env(), capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


async def test_sign_in_with_a_bad_key_then_a_good_one_then_out(page: Page, stack: Stack) -> None:
    assert f"Dashboard        {stack.ui}" in stack.up.log.read_text()  # `up`'s ready panel
    await page.goto(stack.ui)
    await expect(page).to_have_url(f"{stack.ui}/login?next=%2Fui%2F")
    await page.get_by_label("API key").fill("fm_not_a_key")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert").last).to_contain_text("Invalid or missing API key")
    await screenshot(page, "sign-in-refused")
    await page.get_by_label("API key").fill(stack.key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    cookies = await page.context.cookies()
    (session,) = [c for c in cookies if c["name"] == "ferryman_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert stack.key not in await page.content()
    assert await page.evaluate("document.cookie") == ""  # no script can read the key
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in to ferryman")).to_be_visible()
    await page.goto(f"{stack.ui}/runs")
    await expect(page).to_have_url(f"{stack.ui}/login?next=%2Fui%2Fruns")


async def test_steps_turn_green_live_and_approval_completes_the_run(
    page: Page, stack: Stack
) -> None:
    await sign_in(page, stack)
    await page.get_by_role("link", name="Jobs").click()
    await page.get_by_role("link", name="hello").click()
    await screenshot(page, "job")
    await page.get_by_label("Payload (JSON)").fill(json.dumps(stack.hello("Ada")))
    await page.get_by_role("button", name="Trigger").click()
    await expect(page.get_by_text("Triggered: this is the new run.")).to_be_visible()
    await page.evaluate("window.notReloaded = true")
    run_id = page.url.rsplit("/", 1)[1].split("?")[0]
    temporal = f"http://127.0.0.1:{stack.up.ui_port}/namespaces/default/workflows/{run_id}"
    link = page.get_by_role("link", name="Open in the Temporal Web UI")
    await expect(link).to_have_attribute("href", temporal)
    # The steps turn green as they finish, on the page as it is (no reload).
    for step_id in ("health", "greeting", "nap"):
        await expect(step(page, step_id, "completed")).to_be_visible(timeout=LIVE)
    await expect(step(page, "approval", "waiting")).to_be_visible(timeout=LIVE)
    await expect(run_status(page, "waiting")).to_be_visible()
    assert await page.evaluate("window.notReloaded") is True
    await expect(page.locator('#events [data-event="step.completed"]')).to_have_count(3)
    await screenshot(page, "run-waiting")
    await page.get_by_label("its payload (JSON)").fill('{"approved": true, "by": "ada"}')
    await page.get_by_role("button", name="Approve approval").click()
    await expect(page.get_by_text("Sent: the wait step takes the event.")).to_be_visible()
    await expect(run_status(page, "completed")).to_be_visible(timeout=LIVE)
    await expect(step(page, "report", "completed")).to_be_visible()
    await expect(page.get_by_role("region", name="Result")).to_contain_text('"approved_by": "ada"')
    await screenshot(page, "run-completed")


async def test_roll_back_to_a_checkpoint_then_resume(page: Page, stack: Stack) -> None:
    run_id = await stack.trigger("hello", stack.hello("Rollo"))
    await stack.until(run_id, "waiting")
    await sign_in(page, stack)
    await page.goto(f"{stack.ui}/runs/{run_id}")
    await expect(step(page, "approval", "waiting")).to_be_visible(timeout=LIVE)
    checkpoints = page.locator("tr[data-checkpoint] td:nth-child(2)")
    assert "nap" in await checkpoints.all_inner_texts()
    health = page.locator("tr[data-checkpoint]", has=page.locator("code", has_text="health"))
    await health.get_by_role("button", name="Roll back to here").click()
    await expect(page.get_by_text("Rolled back to the checkpoint, paused there")).to_be_visible()
    await expect(run_status(page, "paused")).to_be_visible(timeout=LIVE)
    # What came after the checkpoint is gone (a marker records the rollback), and so is the
    # approval's wait.
    assert await checkpoints.all_inner_texts() == ["start", "health", "rollback"]
    await expect(step(page, "approval", "pending")).to_be_visible()
    await expect(page.get_by_role("button", name="Approve approval")).to_have_count(0)
    nap = page.locator(".track[aria-label^='nap']")
    await expect(nap.locator(".seg.discarded")).to_have_count(1)  # drawn, as undone
    await screenshot(page, "run-rolled-back")
    await page.get_by_role("button", name="Resume").click()
    await expect(step(page, "approval", "waiting")).to_be_visible(timeout=LIVE)
    assert await stack.status(run_id) == "waiting"


async def test_redrive_a_dead_letter(page: Page, stack: Stack) -> None:
    await sign_in(page, stack)
    await page.goto(f"{stack.ui}/jobs/flaky-service")
    token = uuid.uuid4().hex
    payload = {"target": stack.target, "token": token}
    await page.get_by_label("Payload (JSON)").fill(json.dumps(payload))
    await page.get_by_role("button", name="Trigger").click()
    await expect(run_status(page, "dead_letter")).to_be_visible(timeout=LIVE)
    run_id = page.url.rsplit("/", 1)[1].split("?")[0]
    await screenshot(page, "run-dead-letter")
    await page.get_by_role("link", name="Dead letters").click()
    group = page.locator("[data-group='flaky-service']")
    await expect(group).to_contain_text("failed after 2 attempts")
    await screenshot(page, "dead-letters")
    await group.get_by_role("button", name=f"Redrive {run_id}").click()
    await expect(page.get_by_text("Redriven from its last checkpoint")).to_be_visible()
    await expect(run_status(page, "completed")).to_be_visible(timeout=LIVE)
    assert page.url.startswith(f"{stack.ui}/runs/{run_id}")  # the same run, redriven


async def test_filter_by_payload_and_rows_change_live(page: Page, stack: Stack) -> None:
    grace = await stack.trigger("hello", stack.hello("Grace"))
    linus = await stack.trigger("hello", stack.hello("Linus"))
    await stack.until(grace, "waiting")
    await sign_in(page, stack)
    await page.get_by_label("Payload contains (JSON)").fill('{"name": "Grace"}')
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator(f"#run-{grace}")).to_be_visible()
    await expect(page.locator(f"#run-{linus}")).to_have_count(0)
    await expect(page.locator("tr[data-run]")).to_have_count(1)
    await screenshot(page, "runs-filtered")
    # Approved elsewhere: the row's status changes on the page as it is.
    sent = await stack.http.post(
        f"/api/v1/executions/{grace}/signal",
        json={"name": "approve", "payload": {"approved": True, "by": "grace"}},
    )
    assert sent.status_code in (200, 202), sent.text
    row = page.locator(f"#run-{grace}")
    await expect(row.locator('[data-status="completed"]')).to_be_visible(timeout=LIVE)
    # A run that the filters stop finding says so, and a new one is announced.
    await stack.until(linus, "waiting")
    await page.goto(f"{stack.ui}/runs?status=waiting")
    await expect(page.locator(f"#run-{linus}")).to_be_visible()
    await stack.http.post(
        f"/api/v1/executions/{linus}/signal", json={"name": "approve", "payload": {}}
    )
    await expect(page.locator(f"#run-{linus}")).to_contain_text("no longer matches", timeout=LIVE)
    await stack.trigger("hello", stack.hello("Newcomer"))
    await expect(page.get_by_text("1 new run since this page loaded")).to_be_visible(timeout=LIVE)


async def test_a_refused_action_shows_the_apis_sentence(page: Page, stack: Stack) -> None:
    run_id = await stack.trigger("hello", stack.hello("Ref"))
    await stack.until(run_id, "waiting")
    await sign_in(page, stack)
    await page.locator(f"#run-{run_id} input[name=run_id]").check()
    await page.get_by_role("button", name="Replay selected").click()
    flash = page.locator("#flash")
    await expect(flash).to_contain_text("no run was replayed")
    await page.goto(f"{stack.ui}/jobs/hello")
    await page.get_by_label("Payload (JSON)").fill('{"name": 42}')
    await page.get_by_role("button", name="Trigger").click()
    await expect(flash).to_contain_text("input_invalid")
    await screenshot(page, "trigger-refused")


async def test_another_projects_key_sees_none_of_it(page: Page, stack: Stack) -> None:
    run_id = await stack.trigger("hello", stack.hello("Secret"))
    other = new_key(stack, f"other-{uuid.uuid4().hex[:6]}", ["admin"])
    await sign_in(page, stack, other)
    await expect(page.get_by_text("No runs match.")).to_be_visible()
    await page.goto(f"{stack.ui}/runs/{run_id}")
    await expect(page.get_by_role("alert").last).to_contain_text("execution not found")
    await page.goto(f"{stack.ui}/jobs")
    await expect(page.get_by_text("No jobs yet")).to_be_visible()
    for path in ("/jobs/hello", "/dead-letters", "/schedules", "/"):
        await page.goto(f"{stack.ui}{path}")
        assert run_id not in await page.content()
    await page.goto(f"{stack.ui}/jobs/hello")
    await expect(page.get_by_role("alert").last).to_contain_text("not found")
    await screenshot(page, "other-project")


async def test_a_read_only_key_sees_every_page_and_can_do_nothing(page: Page, stack: Stack) -> None:
    run_id = await stack.trigger("hello", stack.hello("Reader"))
    await stack.until(run_id, "waiting")
    reader = new_key(stack, "default", ["executions:read", "workflows:read"])
    await sign_in(page, stack, reader)
    await page.goto(f"{stack.ui}/runs/{run_id}")
    await expect(page.get_by_text("Read-only key: actions need")).to_be_visible()
    await expect(step(page, "approval", "waiting")).to_be_visible(timeout=LIVE)
    for name in ("Pause", "Cancel", "Restart", "Approve approval", "Roll back to here"):
        buttons = page.get_by_role("button", name=name, exact=True)
        assert await buttons.count() >= 1, name
        for index in range(await buttons.count()):
            await expect(buttons.nth(index)).to_be_disabled()
    await screenshot(page, "read-only")
    token = await page.locator("input[name=csrf]").first.input_value()
    forged = await page.request.post(f"{stack.ui}/runs/{run_id}/cancel", form={"csrf": token})
    assert forged.status == 403
    assert "lacks the &#39;workflows:execute&#39; scope" in await forged.text()
    for path in ("/", "/runs", "/jobs", "/jobs/hello", "/dead-letters", "/schedules"):
        response = await page.goto(f"{stack.ui}{path}")
        assert response is not None and response.status == 200, path
        for button in await page.locator("main form:not(.filters) button").all():
            assert await button.is_disabled(), (path, await button.inner_text())
    assert await stack.status(run_id) == "waiting"


async def test_every_page_is_drawn_and_keyboard_reachable(page: Page, stack: Stack) -> None:
    made = await stack.http.post(
        "/v1/schedules",
        json={"job_id": "hello", "cron": "0 6 * * 1-5", "payload": stack.hello("Cron")},
    )
    assert made.status_code == 201, made.text
    await sign_in(page, stack)
    for path, heading, name in (
        ("/", "Overview", "overview"),
        ("/runs", "Runs", "runs"),
        ("/jobs", "Jobs", "jobs"),
        ("/schedules", "Schedules", "schedules"),
    ):
        await page.goto(f"{stack.ui}{path}")
        await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        if name == "jobs":  # each row's counts load on their own
            await expect(page.locator("[data-job='hello'] [data-runs]")).to_be_visible()
        if name == "overview":  # its panels load on their own
            await expect(page.locator("[data-window='24h'] [data-count]").first).to_be_visible()
            await expect(page.get_by_text("Queue depth per concurrency key")).to_be_visible()
        await screenshot(page, name)
    schedule = page.locator(f"[data-schedule='{made.json()['id']}']")
    await expect(schedule.locator("ol li")).to_have_count(5)  # its next firings
    await schedule.get_by_role("button", name="Pause").click()
    await expect(page.get_by_text("Schedule paused")).to_be_visible()
    await expect(schedule).to_contain_text("none while paused")
    # The keyboard reaches the skip link first, then the pages.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


async def test_an_llm_steps_tokens_show_as_they_stream(
    page: Page, stack: Stack, llm_server: LlmServer
) -> None:
    release = threading.Event()
    text = "Ferries cross the river one careful trip at a time"
    model = llm_server.script([Reply(content=text, hold=release, hold_after=3, delay=0.05)])
    step = {
        "id": "answer",
        "kind": "llm",
        "with": {"model": model, "stream": True, "messages": [{"role": "user", "content": "go"}]},
    }
    job_id = f"ask-{uuid.uuid4().hex[:6]}"
    created = await stack.http.post("/v1/jobs", json={"id": job_id, "name": "Ask", "steps": [step]})
    assert created.status_code == 201, created.text
    run_id = await stack.trigger(job_id, {})
    await sign_in(page, stack)
    try:
        await page.goto(f"{stack.ui}/runs/{run_id}")
        tokens = page.locator("[data-chunks] pre")
        # The provider holds the rest of its answer: what shows came while the step ran.
        await expect(tokens).to_contain_text(text.split()[0], timeout=LIVE)
        assert await stack.status(run_id) == "executing"
        assert text.startswith(await tokens.inner_text())
        await screenshot(page, "run-llm-streaming")
    finally:
        release.set()
    await expect(tokens).to_have_text(text, timeout=LIVE)
    await expect(run_status(page, "completed")).to_be_visible(timeout=LIVE)
    usage = page.locator("table", has=page.get_by_text("Completion tokens"))
    await expect(usage).to_contain_text(model)
    # The token batches travel as the SDK's own signals: not events of the run.
    assert "__" not in await page.locator("#events").inner_text()
