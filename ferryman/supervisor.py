"""`ferryman up`: the Temporal dev server, a worker and the API on one machine, supervised.

Start: dev server -> Temporal setup (search attributes, retention) -> metadata database
(migrations, project, dev key) -> worker and API as child processes -> wait for `/readyz`.
Stop (Ctrl-C or SIGTERM): API, then worker (SIGTERM lets in-flight steps drain), then the dev
server. Children run in sessions of their own, so a terminal's Ctrl-C reaches only this
process, which stops them in that order; a second Ctrl-C kills what is left. Worker and API
also die with this process if it is killed outright (`follow_supervisor`). A child that dies
while running is restarted with backoff, so a developer can SIGKILL the worker to watch an
execution survive.

One module, a little over 400 lines, because the start order, the restarts and the stop order
are one state machine over the same children; split, each part would need all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from temporalio.client import Client

from ferryman import metrics
from ferryman.devserver import DevServer
from ferryman.processes import die_with_parent, signal_group, wait_gone
from ferryman.readiness import ProcessExited, check_running, wait_serving, wait_until
from ferryman.settings import Settings
from ferryman.temporal import connect, ensure_retention, register_search_attributes

T = TypeVar("T")

DEV_NAMESPACE = "default"  # the only namespace the dev server creates, with the attributes
DEV_KEY_FILE = "dev-api-key"
# The API's URL, one line (`http://127.0.0.1:8080`): scripts and the CLI read it with the key.
API_URL_FILE = "api-url"
PIDS_FILE = "up.pids"
LOCK_FILE = "up.lock"
SUPERVISOR_PID_ENV = "FERRYMAN_SUPERVISOR_PID"
STARTUP_TIMEOUT_SECS = 90.0
POLL_SECS = 0.25
BACKOFF_MAX_SECS = 30.0
HEALTHY_RUN_SECS = 60.0  # a child that ran this long restarts without accumulated backoff
# The settings that move the metrics endpoints (no flags: the environment carries them to
# the children as it is).
METRICS_PORT = "FERRYMAN_METRICS_PORT"
WORKER_METRICS = "FERRYMAN_WORKER_METRICS_PORT"


class StartupError(Exception):
    """`up` cannot go on; the message is one sentence for the user."""


@dataclass
class Child:
    """A supervised child process (worker or API) in a session of its own."""

    name: str
    argv: list[str]
    env: dict[str, str]
    stop_timeout: float
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0  # consecutive quick deaths, for the backoff
    restart_at: float | None = None

    def start(self) -> None:
        # Spawned from the main thread: PR_SET_PDEATHSIG follows the thread that forked.
        self.process = subprocess.Popen(self.argv, env=self.env, start_new_session=True)
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def schedule_restart(self) -> float:
        """Seconds until the restart: 1, 2, 4 ... 30 for a child that keeps dying quickly."""
        if time.monotonic() - self.started_at >= HEALTHY_RUN_SECS:
            self.failures = 0
        delay = min(2.0**self.failures, BACKOFF_MAX_SECS)
        self.failures += 1
        self.restart_at = time.monotonic() + delay
        return delay

    async def stop(self, force: asyncio.Event) -> None:
        """SIGTERM, then SIGKILL after `stop_timeout` or at once when `force` is set."""
        if self.process is None or not self.running():
            return
        signal_group(self.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while self.running() and time.monotonic() < deadline and not force.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(force.wait(), 0.1)
        if self.running():
            signal_group(self.process.pid, signal.SIGKILL)
        await asyncio.to_thread(self.process.wait)  # reap it; quick once it has ended


@dataclass
class Supervisor:
    settings: Settings
    temporal_port: int
    ui_port: int
    console: Console
    server: DevServer | None = None
    api: Child | None = None
    worker: Child | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    force: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def api_url(self) -> str:
        return f"http://{metrics.shown(self.settings.api_host)}:{self.settings.api_port}"

    async def run(self) -> int:
        """Start everything, print the panel, supervise until a stop signal; the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal)
        try:
            with self._lock():
                return await self._run_locked()
        except StartupError as err:
            self._error(err)
            return 1

    async def _run_locked(self) -> int:
        try:
            started = await self._unless_stopping(self.start())
            if started is None:
                return 0
            self._print_panel(started)
            return await self.watch()
        except StartupError as err:
            self._error(err)
            return 1
        finally:
            await self.shutdown()

    def _error(self, err: Exception) -> None:
        self.console.print(f"[red]error:[/] {escape(str(err))}", soft_wrap=True)

    def _on_signal(self) -> None:
        if self.stopping.is_set():
            self.console.print("[yellow]second interrupt: killing what is left[/]")
            self.force.set()
        self.stopping.set()

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One `up` per data dir: two dev servers on one SQLite file would corrupt it."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.data_dir / LOCK_FILE, "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StartupError(
                    f"another `ferryman up` is running on the data dir {self.data_dir}"
                ) from None
            yield

    async def _unless_stopping(self, work: Awaitable[T]) -> T | None:
        """`work`'s result, or None when a stop signal arrives first (start-up abandoned)."""
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self.stopping.wait())
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None

    async def start(self) -> str:
        """Everything up to a ready API; returns the dev API key."""
        await self._reap_leftover_temporal()
        self._check_ports()
        await self._start_temporal()
        self._step("migrating the metadata database and preparing the dev API key")
        key = await prepare_metadata(self.settings)
        self._step("starting the worker and the API")
        self.worker = self._child("worker", self.settings.graceful_shutdown_secs + 5)
        self.api = self._child("api", self.settings.graceful_shutdown_secs + 5)
        for child in (self.worker, self.api):
            child.start()
        self._write_pids()
        (self.data_dir / API_URL_FILE).write_text(self.api_url + "\n")
        self._step(f"waiting for {self.api_url}/readyz")
        await self._wait_ready()
        (self.data_dir / API_URL_FILE).write_text(self.api_url + "\n")
        return key

    async def _reap_leftover_temporal(self) -> None:
        """Stop the dev server of an `up` that was killed outright (SIGKILL leaves it running)."""
        pid = self._leftover_temporal()
        if pid is not None:
            self._step(f"stopping the dev server a killed `ferryman up` left (pid {pid})")
            signal_group(pid, signal.SIGTERM)
            await wait_gone(pid, grace=20.0)

    def _leftover_temporal(self) -> int | None:
        """The pid of a dev server still running on this data dir's database, if any.

        The lock proves that its `up` is gone; the pid counts only if it runs on this data
        dir's database, so a recycled pid is never touched.
        """
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError, TypeError):
            pid = int(json.loads((self.data_dir / PIDS_FILE).read_text())["temporal"])
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if str(self.data_dir / "temporal.db").encode() in command:
                return pid
        return None

    def _check_ports(self) -> None:
        wanted = [
            ("127.0.0.1", self.temporal_port, "--temporal-port"),
            ("127.0.0.1", self.ui_port, "--ui-port"),
            (self.settings.api_host, self.settings.api_port, "--port"),
        ]
        if self.settings.metrics_port is not None:
            wanted.append((self.settings.metrics_host, self.settings.metrics_port, METRICS_PORT))
        if self.settings.worker_metrics_port:
            wanted.append(
                (self.settings.metrics_host, self.settings.worker_metrics_port, WORKER_METRICS)
            )
        for host, port, flag in wanted:
            with socket.socket() as sock:
                # As the servers themselves bind: a port left in TIME_WAIT by the last `up`
                # (Ctrl-C, then `up` again at once) is free; one somebody listens on is not.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((host, port))
                except OSError:
                    raise StartupError(
                        f"port {port} on {host} is already in use; choose another with {flag}"
                    ) from None

    async def _start_temporal(self) -> None:
        self._step(f"starting the Temporal dev server on 127.0.0.1:{self.temporal_port}")
        self.server = DevServer(
            port=self.temporal_port, ui_port=self.ui_port, db_file=self.data_dir / "temporal.db"
        )
        self.server.start(log_file=self.data_dir / "temporal.log")
        client = await self._connect_temporal()
        self._step("registering search attributes and setting the retention")
        await register_search_attributes(client)
        await ensure_retention(client, self.settings.retention_days)

    async def _connect_temporal(self) -> Client:
        """Connect as soon as the fresh server answers; say where its log is if it dies."""
        assert self.server is not None
        server = self.server.process
        log = self.data_dir / "temporal.log"

        async def connected() -> Client | None:
            check_running(server, "the Temporal dev server", hint=f"; see {log}")
            try:
                return await connect(self.settings)
            except RuntimeError:  # not answering yet
                return None

        return await _as_startup_error(
            wait_until(
                connected,
                timeout=STARTUP_TIMEOUT_SECS,
                interval=POLL_SECS,
                what="the Temporal dev server to answer",
            )
        )

    def _child(self, role: str, stop_timeout: float) -> Child:
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": self.settings.temporal_address,
            "TEMPORAL_NAMESPACE": self.settings.temporal_namespace,
            "FERRYMAN_DATA_DIR": str(self.data_dir),
            "FERRYMAN_API_HOST": self.settings.api_host,
            "FERRYMAN_API_PORT": str(self.settings.api_port),
            "FERRYMAN_TEMPORAL_UI_URL": f"http://127.0.0.1:{self.ui_port}",
            SUPERVISOR_PID_ENV: str(os.getpid()),
        }
        # -P: the current directory is not on the path, so a checkout's `ferryman/` folder
        # (which lacks `api`, mapped there only when installed) cannot shadow the package.
        argv = [sys.executable, "-P", "-m", "ferryman", role]
        return Child(role, argv, env, stop_timeout)

    async def _wait_ready(self) -> None:
        """Until the API answers /readyz; a child that exits meanwhile ends the start-up."""
        children = {
            f"the {child.name}": child.process
            for child in self._children()
            if child.process is not None
        }
        await _as_startup_error(
            wait_serving(
                f"{self.api_url}/readyz",
                children,
                timeout=STARTUP_TIMEOUT_SECS,
                interval=POLL_SECS,
                hint=" while starting (its log is above)",
            )
        )

    async def watch(self) -> int:
        """Restart children that die; end when asked to stop or when Temporal dies."""
        assert self.server is not None and self.server.process is not None
        while not self.stopping.is_set():
            code = self.server.process.poll()
            if code is not None:
                self.console.print(
                    f"[red]the Temporal dev server exited with code {code}; stopping[/] "
                    f"(see {escape(str(self.data_dir / 'temporal.log'))})"
                )
                return 1
            for child in self._children():
                self._supervise(child)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), POLL_SECS)
        return 0

    def _supervise(self, child: Child) -> None:
        code = child.exit_code()
        if code is None:
            return
        if child.restart_at is None:
            delay = child.schedule_restart()
            self.console.print(
                f"[yellow]the {child.name} exited unexpectedly with code {code}; "
                f"restarting it in {delay:.0f}s[/]"
            )
        elif time.monotonic() >= child.restart_at:
            child.start()
            self._write_pids()
            self.console.print(f"[green]the {child.name} restarted[/] (pid {child.pid})")

    async def shutdown(self) -> None:
        for child, what in (
            (self.api, "the API"),
            (self.worker, "the worker (in-flight steps may finish first)"),
        ):
            if child is not None and child.running():
                self._step(f"stopping {what}")
                await child.stop(self.force)
        if self.server is not None and self.server.process is not None:
            self._step("stopping the Temporal dev server")
            await asyncio.to_thread(self.server.kill if self.force.is_set() else self.server.stop)
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / PIDS_FILE).unlink()
        if self.server is not None:
            self.console.print("[green]stopped[/]")

    def _children(self) -> list[Child]:
        return [child for child in (self.worker, self.api) if child is not None]

    def _write_pids(self) -> None:
        """The processes of this `up`, for scripts and tests that must see them gone."""
        server = self.server.process if self.server else None
        pids = {"up": os.getpid(), "temporal": server.pid if server else None}
        pids.update({child.name: child.pid for child in self._children()})
        (self.data_dir / PIDS_FILE).write_text(json.dumps(pids))

    def _step(self, text: str) -> None:
        self.console.print(f"[dim]•[/] {escape(text)}...")

    def _print_panel(self, key: str) -> None:
        rows = [
            ("Dashboard", f"{self.api_url}/ui"),
            ("API", self.api_url),
            ("OpenAPI docs", f"{self.api_url}/docs"),
            ("API metrics", metrics.api_url(self.settings, self.api_url)),
            ("Worker metrics", metrics.worker_url(self.settings) or f"off ({WORKER_METRICS}=0)"),
            ("Temporal Web UI", f"http://127.0.0.1:{self.ui_port}"),
            ("Temporal", f"{self.settings.temporal_address} (namespace {DEV_NAMESPACE})"),
            ("Data dir", str(self.data_dir)),
            ("Temporal log", str(self.data_dir / "temporal.log")),
            ("Dev API key", key),
        ]
        body = "\n".join(f"[bold]{name:<16}[/] {escape(value)}" for name, value in rows)
        body += "\n\n[dim]Ctrl-C stops everything; the state stays in the data dir.[/]"
        self.console.print(Panel(body, title="ferryman is ready", expand=False))
        # Outside the panel and never wrapped, so it can be copied as it is.
        curl = f"curl -H 'X-API-Key: {key}' {self.api_url}/api/v1/workflows"
        self.console.print(f"[dim]try:[/] {escape(curl)}", soft_wrap=True)
        self.console.print("[bold green]ready[/]")


async def _as_startup_error(wait: Awaitable[T]) -> T:
    """A start-up wait whose timeout or dead process ends `up` with its sentence."""
    try:
        return await wait
    except (TimeoutError, ProcessExited) as err:
        raise StartupError(str(err)) from None


async def prepare_metadata(settings: Settings) -> str:
    """Migrate, ensure the bootstrap project and its admin dev key; return the raw key."""
    from ferryman.api.store import db, repository

    project = settings.bootstrap_project
    async with db.open_store(settings.resolved_database_url) as store, store.sessions() as session:
        raw = dev_key(settings.data_dir, given=settings.bootstrap_api_key)
        key = await repository.ensure_admin_key(session, project, raw, name="dev")
        if key.revoked_at is not None and not settings.bootstrap_api_key:
            # Someone revoked the saved dev key: a new one, so the printed key works.
            raw = dev_key(settings.data_dir, replace=True)
            await repository.ensure_admin_key(session, project, raw, name="dev")
    return raw


def dev_key(data_dir: Path, replace: bool = False, given: str | None = None) -> str:
    """The raw dev key kept in the data dir (mode 0600): `given` (the bootstrap key) when
    there is one, else the one created on first use.

    Only its digest is in the database, so this file is what lets every `up` print the
    same key, and the user commands find the key the API takes.
    """
    from ferryman.api.store.repository import generate_key

    path = data_dir / DEV_KEY_FILE
    if given is None and path.exists() and not replace:
        path.chmod(0o600)
        return path.read_text().strip()
    raw = given or generate_key()
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(raw + "\n")
    temporary.replace(path)
    return raw


def follow_supervisor() -> None:
    """Under `ferryman up`, get SIGTERM when it dies, even by SIGKILL (Linux only)."""
    parent = os.environ.get(SUPERVISOR_PID_ENV)
    if not parent or not sys.platform.startswith("linux"):
        return
    die_with_parent(signal.SIGTERM)
    if os.getppid() != int(parent):  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def run_up(settings: Settings, temporal_port: int, ui_port: int, out: IO[str] | None = None) -> int:
    """`ferryman up`; `settings` already carry the dev server's address and namespace."""
    console = Console(file=out, highlight=False)
    supervisor = Supervisor(settings, temporal_port, ui_port, console)
    return asyncio.run(supervisor.run())
