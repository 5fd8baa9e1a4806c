"""The `ferryman` command line: the operator's commands (`up`, `worker`, `api`, `keys`,
`debug`: `operator`) and the user's (`jobs`, `run`, `runs`, `dlq`, `schedules`, `approve`:
`user`), which talk to the API over HTTP through `ferryman.client`."""

from __future__ import annotations

from ferryman.cli import operator, user
from ferryman.cli.groups import group

app = group(
    name="ferryman",
    help="A self-hosted durable workflow orchestrator on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(operator.app)
app.add_typer(user.app)

__all__ = ["app"]
