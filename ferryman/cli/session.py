"""What every user command shares: the options that find the API (`--api-url`, `--api-key`,
`--data-dir`) and pick the output (`--output`), the client they build, printing, and errors
as one sentence with the API's code.

`user_command` registers a function whose first parameter is the `Session`; the shared
options are added to its command line, so each command lists only its own.

Exit codes (README, "Command line"): 0 done (a watched run completed), 1 a watched run ended
otherwise, 2 a usage error (options, a payload, a file, no API found), 3 the API refused the
request (its sentence and code are printed) or could not be reached, 130 interrupted.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TextIO

import typer
from pydantic import BaseModel
from rich.console import Console, RenderableType
from rich.markup import escape

if TYPE_CHECKING:
    from ferryman.client import AsyncClient, Client, FerrymanError

RUN_FAILED = 1
USAGE_ERROR = 2
API_ERROR = 3
INTERRUPTED = 130
PIPE_WIDTH = 200
# Errors the client raises before anything is sent: the user's input, not the API's answer.
USAGE_CODES = frozenset({"api_not_found", "validation_error", "definition_invalid"})


class Output(StrEnum):
    human = "human"
    json = "json"


ApiUrl = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        help="The API [env FERRYMAN_API_URL, else <data dir>/api-url]",
        show_default=False,
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="An API key [env FERRYMAN_API_KEY, else <data dir>/dev-api-key]",
        show_default=False,
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="FERRYMAN_DATA_DIR",
        help="Where `ferryman up` wrote the API's URL and dev key [default: .ferryman]",
        show_default=False,
    ),
]
OutputOption = Annotated[
    Output, typer.Option("--output", "-o", help="human: tables; json: for scripts")
]


class Session:
    """One user command's connection to the API and its way of printing."""

    def __init__(
        self, api_url: str | None, api_key: str | None, data_dir: Path | None, output: Output
    ) -> None:
        self.api_url = api_url
        self.api_key = api_key
        self.data_dir = data_dir
        self.json = output == Output.json
        self.out = Console(highlight=False, width=_width(sys.stdout))
        self.err = Console(stderr=True, highlight=False, width=_width(sys.stderr))

    @cached_property
    def _address(self) -> tuple[str, str | None]:
        from ferryman.client import find_api

        found = find_api(self.api_url, self.api_key, self.data_dir)
        return found.url, found.key

    @cached_property
    def client(self) -> Client:
        from ferryman.client import Client

        return Client(*self._address)

    def async_client(self) -> AsyncClient:
        from ferryman.client import AsyncClient

        return AsyncClient(*self._address)

    def show(self, value: Any, human: Callable[[], RenderableType | str]) -> None:
        """`value` as JSON under `--output json`, else what `human` renders."""
        if self.json:
            self.json_line(value, indent=2)
        else:
            self.out.print(human(), soft_wrap=True)

    def json_line(self, value: Any, indent: int | None = None) -> None:
        typer.echo(json.dumps(plain(value), indent=indent, ensure_ascii=False))

    def fail(self, message: str, code: int = USAGE_ERROR) -> NoReturn:
        if self.json:
            typer.echo(json.dumps({"error": message}), err=True)
        else:
            self.err.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
        raise typer.Exit(code)

    def refused(self, err: FerrymanError) -> NoReturn:
        """The API's sentence and code (and where its URL came from, if it was not there)."""
        exit_code = USAGE_ERROR if err.code in USAGE_CODES and err.status is None else API_ERROR
        if self.json:
            body = {"error": err.message, "code": err.code, "status": err.status}
            typer.echo(json.dumps({**body, "request_id": err.request_id}), err=True)
        else:
            self.err.print(f"[red]error:[/] {escape(str(err))}", soft_wrap=True)
        raise typer.Exit(exit_code)

    def close(self) -> None:
        if "client" in self.__dict__:
            self.client.close()


def _width(stream: TextIO) -> int | None:
    """A terminal's own width; lines to a file or a pipe are not wrapped at rich's 80."""
    return None if stream.isatty() or "COLUMNS" in os.environ else PIPE_WIDTH


def plain(value: Any) -> Any:
    """Wire models (and lists of them) as JSON-ready values."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


@contextmanager
def _session(session: Session) -> Iterator[Session]:
    from ferryman.client import FerrymanError

    try:
        yield session
    except FerrymanError as err:
        session.refused(err)
    except KeyboardInterrupt:
        session.err.print("[yellow]interrupted[/]")
        raise typer.Exit(INTERRUPTED) from None
    finally:
        session.close()


_SHARED = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
    for name, kind, default in (
        ("api_url", ApiUrl, None),
        ("api_key", ApiKey, None),
        ("data_dir", DataDir, None),
        ("output", OutputOption, Output.human),
    )
]


def user_command(
    group: typer.Typer, name: str
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register `function(session, ...)` as the command `name` of `group`, with the shared
    options after its own."""

    def register(function: Callable[..., None]) -> Callable[..., None]:
        own = list(inspect.signature(function, eval_str=True).parameters.values())[1:]

        @functools.wraps(function)
        def command(**given: Any) -> None:
            shared = {parameter.name: given.pop(parameter.name) for parameter in _SHARED}
            with _session(Session(**shared)) as session:
                function(session, **given)

        # What typer reads: the function's own parameters and the shared ones, resolved.
        parameters = [*own, *_SHARED]
        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in parameters}
        del command.__wrapped__
        group.command(name)(command)
        return function

    return register


def read_json(text: str, what: str, session: Session) -> Any:
    """`--payload` and its like: JSON text, or `@file` for a file's JSON (`@-`: stdin)."""
    source = what
    if text.startswith("@"):
        path = text[1:]
        source = f"{what} file {path}"
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text()
        except OSError as err:
            session.fail(f"cannot read {source}: {err.strerror or err}")
    try:
        return json.loads(text)
    except ValueError as err:
        session.fail(f"{source} is not valid JSON: {err}")
