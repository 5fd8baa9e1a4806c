"""examples/hello.yaml through the Python client: register it, trigger a run, follow its
events as they happen, approve its `wait` step when it asks, and read the result.

    python examples/client.py           # against `ferryman up` (it finds .ferryman/)
    python examples/client.py --async   # the same with AsyncClient

The API's URL and key come from FERRYMAN_API_URL and FERRYMAN_API_KEY, else from the data
dir `ferryman up` wrote (FERRYMAN_DATA_DIR, default .ferryman).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from ferryman.client import AsyncClient, Client, FerrymanError

HELLO = (Path(__file__).parent / "hello.yaml").read_text()


def main() -> str:
    with Client.from_env() as client:
        applied = client.jobs.apply(HELLO)
        print(f"job {applied.job.id}: {applied.change}, version {applied.job.job_version}")
        # hello.yaml's `http` step calls the API's own /healthz: no internet needed.
        run = client.runs.trigger("hello", payload={"name": "Ada", "api_url": client.base_url})
        print(f"run {run.id}: {run.status}")
        for event in client.runs.stream(run.id):  # until the run ends
            print(f"  {event.type:<20} {event.message}")
            if event.type == "step.started" and event.data.get("signal") == "approve":
                client.runs.signal(run.id, "approve", {"approved": True, "by": "examples"})
        done = client.runs.get(run.id)
        print(f"run {done.id}: {done.status}, result {done.result}")
        return done.status


async def main_async() -> str:
    async with AsyncClient.from_env() as client:
        await client.jobs.apply(HELLO)
        payload = {"name": "Ada", "api_url": client.base_url}
        run = await client.runs.trigger("hello", payload=payload)
        async for event in client.runs.stream(run.id):
            print(f"  {event.type:<20} {event.message}")
            if event.type == "step.started" and event.data.get("signal") == "approve":
                await client.runs.signal(run.id, "approve", {"approved": True, "by": "asyncio"})
        done = await client.runs.get(run.id)
        print(f"run {done.id}: {done.status}, result {done.result}")
        return done.status


if __name__ == "__main__":
    try:
        status = asyncio.run(main_async()) if "--async" in sys.argv else main()
    except FerrymanError as err:
        sys.exit(f"error: {err}")
    sys.exit(0 if status == "completed" else 1)
