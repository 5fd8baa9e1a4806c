"""`python -m bench.raw_worker ADDRESS`: the raw side's worker, in its own process like ferryman's.

Plain temporalio, default settings and data converter: what a team writes by hand.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio.client import Client
from temporalio.worker import Worker

from bench.raw_workloads import RAW_QUEUE, RawSequential, raw_noop


async def main(address: str) -> None:
    client = await Client.connect(address)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    worker = Worker(client, task_queue=RAW_QUEUE, workflows=[RawSequential], activities=[raw_noop])
    async with worker:
        await stopping.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
