"""The sides of the throughput workload: each starts one run of three sequential GETs of the
bench's HTTP service and waits for it to complete the way its users would.

ferryman, the facade and DBOS are HTTP services: a run is created with a POST and followed
with a GET of it every `poll_secs` (the same client code and interval for the three) until
it has closed. The raw side has no HTTP layer: `start_workflow`, then the handle's result.
"""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from typing import Any

import httpx
from temporalio.client import Client

from bench.raw_workloads import RAW_QUEUE, RawThreeGets
from bench.rig import CLIENT, POSTGRES, SERVER, Rig

SIDES = ("ferryman", "raw", "facade", "dbos")
THREE_GETS = "three_gets"  # ferryman's definition of the workload (`http_definition`)
POLL_SECS = 0.1


class RunFailed(RuntimeError):
    """A side's run closed without completing: the side is broken, its figures meaningless."""


class Side(ABC):
    name: str
    roles: tuple[str, ...]  # the processes whose CPU this side spends (`bench.rig`'s names)

    def __init__(self) -> None:
        self.polls = 0

    @abstractmethod
    async def start(self) -> str:
        """Create one run; its id."""

    @abstractmethod
    async def finish(self, run_id: str) -> None:
        """Until the run has completed; `RunFailed` if it closed otherwise."""


class Polled(Side):
    """A run behind an HTTP API: `POST create_path`, then `GET read_path` until closed."""

    def __init__(
        self,
        name: str,
        roles: tuple[str, ...],
        http: httpx.AsyncClient,
        create: tuple[str, dict[str, Any]],
        read_path: str,
        statuses: tuple[str, frozenset[str]],
        poll_secs: float,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.name, self.roles, self.http = name, roles, http
        self.create_path, self.body = create
        self.read_path = read_path
        self.completed, self.open = statuses
        self.poll_secs = poll_secs
        self.headers = headers or {}

    async def start(self) -> str:
        response = await self.http.post(self.create_path, json=self.body, headers=self.headers)
        response.raise_for_status()
        return str(response.json()["id"])

    async def finish(self, run_id: str) -> None:
        while True:
            await asyncio.sleep(self.poll_secs)
            self.polls += 1
            response = await self.http.get(self.read_path.format(id=run_id), headers=self.headers)
            response.raise_for_status()
            status = response.json()["status"]
            if status == self.completed:
                return
            if status not in self.open:
                raise RunFailed(f"a {self.name} run ({run_id}) ended {status}")


class Raw(Side):
    """Hand-written temporalio, no HTTP: `start_workflow`, then the handle's result."""

    name = "raw"
    roles = (SERVER, "raw worker", "http target", CLIENT)

    def __init__(self, client: Client, url: str) -> None:
        super().__init__()
        self.client, self.url = client, url

    async def start(self) -> str:
        workflow_id = f"raw-{uuid.uuid4().hex}"
        await self.client.start_workflow(
            RawThreeGets.run, self.url, id=workflow_id, task_queue=RAW_QUEUE
        )
        return workflow_id

    async def finish(self, run_id: str) -> None:
        await self.client.get_workflow_handle(run_id).result()


def sides(
    r: Rig, names: list[str], poll_secs: float = POLL_SECS, url: str | None = None
) -> dict[str, Side]:
    """The sides called `names`, in that order, on the rig's processes; their runs GET
    `url` (default: the rig's HTTP service)."""
    url = url or r.target_url
    made: dict[str, Side] = {}
    for name in names:
        if name == "raw":
            made[name] = Raw(r.raw_client, url)
        elif name == "ferryman":
            made[name] = Polled(
                "ferryman",
                (SERVER, "ferryman api", "ferryman worker", "http target", CLIENT),
                r.http,
                ("/api/v1/executions", {"workflow_id": THREE_GETS, "input_data": {"url": url}}),
                "/api/v1/executions/{id}",
                ("completed", frozenset({"queued", "running", "waiting", "paused"})),
                poll_secs,
                r.headers,
            )
        elif name == "facade":
            made[name] = Polled(
                "facade",
                (SERVER, "facade app", "facade worker", "http target", CLIENT),
                r.apps["facade"],
                ("/runs", {"url": url}),
                "/runs/{id}",
                ("COMPLETED", frozenset({"RUNNING"})),
                poll_secs,
            )
        elif name == "dbos":
            made[name] = Polled(
                "dbos",
                ("dbos app", POSTGRES, "http target", CLIENT),
                r.apps["dbos"],
                ("/runs", {"url": url}),
                "/runs/{id}",
                ("SUCCESS", frozenset({"PENDING", "ENQUEUED", "DELAYED"})),
                poll_secs,
            )
        else:
            raise ValueError(f"no side {name!r}: the sides are {', '.join(SIDES)}")
    return made
