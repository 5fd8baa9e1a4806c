"""Child-process plumbing shared by `ferryman up`, the dev-server launcher, tests and bench.

Children run in sessions of their own (so a terminal's Ctrl-C reaches only their parent),
which is why signals go to the process group, and why a child asks Linux to end it when its
parent dies: nobody else would.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys

from ferryman.readiness import wait_until

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> None:
    """Get `sig` when the parent dies, even by SIGKILL (Linux only; elsewhere a no-op).

    Linux ties this to the parent *thread* that forked us, so spawn from the main thread.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group led by `pid`; one already gone is no error."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def pid_running(pid: int) -> bool:
    """Whether a process `pid` exists (a zombie counts: its parent has not reaped it yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


async def wait_gone(pid: int, grace: float) -> None:
    """Wait for a process that is not our child to end; SIGKILL its group after `grace` s.

    Not our child, so there is no exit status to wait on: poll whether it still exists.
    """

    async def gone() -> bool:
        return not pid_running(pid)

    with contextlib.suppress(TimeoutError):
        await wait_until(gone, timeout=grace, what=f"process {pid} to end")
    signal_group(pid, signal.SIGKILL)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
