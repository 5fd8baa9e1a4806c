"""CPU seconds spent by the bench's processes, read from /proc: what a side costs the
machine per execution, process by process, whatever else the machine runs meanwhile."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
Sample = dict[str, dict[int, float]]  # role -> pid -> CPU seconds so far


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process (all its threads) so far; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may hold spaces and parentheses: fields are counted after its ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def backends_of(database: str) -> list[int]:
    """PostgreSQL's backends serving `database`, found by the title each one shows in its
    command line (`postgres: [CLUSTER:] USER DATABASE HOST(PORT) STATE`; Debian names the
    cluster, `15/main:`)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            words = (entry / "cmdline").read_bytes().replace(b"\0", b" ").split()
            if words[:1] == [b"postgres:"] and database.encode() in words[2:4]:
                pids.append(int(entry.name))
    return pids


class Meter:
    """Samples the CPU of named roles, each a set of processes found anew at every sample
    (PostgreSQL opens backends as it likes)."""

    def __init__(self, roles: Mapping[str, Callable[[], list[int]]]) -> None:
        self.roles = dict(roles)

    def sample(self) -> Sample:
        sample: Sample = {}
        for role, pids in self.roles.items():
            seconds = {pid: cpu_seconds(pid) for pid in pids()}
            sample[role] = {pid: s for pid, s in seconds.items() if s is not None}
        return sample

    def since(self, before: Sample) -> dict[str, float]:
        """CPU seconds per role since `before` (a process born since started at zero; one
        that ended since took its last seconds with it)."""
        now = self.sample()
        spent: dict[str, float] = {}
        for role, pids in now.items():
            earlier = before.get(role, {})
            spent[role] = sum(s - earlier.get(pid, 0.0) for pid, s in pids.items())
        return spent
