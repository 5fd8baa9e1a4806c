"""Egress control for `http` steps: no private address, also not through a redirect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from ferryman.activities import http
from ferryman.activities.registry import StepTask


@pytest.fixture
def blocking() -> Iterator[None]:
    http.configure(block_private_networks=True)
    try:
        yield
    finally:
        http.configure(block_private_networks=False)


async def call(url: str) -> Any:
    task = StepTask(execution_id="exec_egress", step_id="call", params={"url": url})
    return await ActivityEnvironment().run(http.http_request, task)


@pytest.mark.usefixtures("blocking")
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://localhost:9/x",
        "http://[::1]:9/x",
        "http://10.1.2.3/x",
        "http://192.168.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:9/x",
    ],
)
async def test_private_addresses_are_refused_at_once(url: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        await call(url)
    assert refused.value.type == "EgressRefused" and refused.value.non_retryable
    assert "FERRYMAN_HTTP_BLOCK_PRIVATE_NETWORKS" in refused.value.message


async def test_a_redirect_to_a_private_address_is_refused(
    http_target: str, blocking: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first hop is let through (as if public); the redirect it answers is checked again."""
    checked: list[str] = []
    original = http._check_egress

    async def first_hop_public(request: Any) -> None:
        checked.append(str(request.url))
        if len(checked) > 1:
            await original(request)

    monkeypatch.setattr(http, "_check_egress", first_hop_public)
    target = f"http://localhost:{http_target.rsplit(':', 1)[1]}/healthz"
    with pytest.raises(ApplicationError) as refused:
        await call(f"{http_target}/redirect?to={target}")
    assert refused.value.type == "EgressRefused"
    assert checked == [f"{http_target}/redirect?to={target}", target]


async def test_off_by_default_so_local_development_reaches_localhost(http_target: str) -> None:
    output = await call(f"{http_target}/healthz")
    assert output["status"] == 200 and output["json"] == {"status": "ok"}
    followed = await call(f"{http_target}/redirect?to={http_target}/healthz")
    assert followed["json"] == {"status": "ok"}
