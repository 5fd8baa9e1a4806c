"""`python -m bench.raw_worker ADDRESS QUEUE`: a worker of hand-written temporalio code, in
its own process like ferryman's; the raw side and the facade each run one on their queue.

Plain temporalio, default settings and data converter: what a team writes by hand.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio.client import Client
from temporalio.worker import Worker

from bench.raw_activities import raw_get, raw_noop
from bench.raw_workloads import RawSequential, RawThreeGets


async def main(address: str, queue: str) -> None:
    client = await Client.connect(address)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[RawSequential, RawThreeGets],
        activities=[raw_noop, raw_get],
    )
    async with worker:
        await stopping.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
