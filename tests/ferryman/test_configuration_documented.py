"""Every setting (`ferryman/settings.py`) and every environment variable of the command line
is in the README's configuration tables, under its name and with its default; the README
names no variable that nothing reads; `ferryman --help` renders as click means it."""

from __future__ import annotations

import json
from typing import Any

import typer
import typer.testing
from pydantic import AliasChoices
from typer.core import TyperOption

from ferryman.cli import app, operator
from ferryman.settings import Settings
from tests.support.paths import ROOT
from tests.support.readme import backticked, table

# Options that are what a command acts on, not configuration: they have no variable.
INPUTS = {"--help", "--project", "--scope", "--name"}
# Read by clients (the example scripts, the user CLI) from the environment or the data dir.
CLIENT_VARIABLES = {"FERRYMAN_API_URL", "FERRYMAN_API_KEY"}


def env_name(name: str) -> str:
    """The variable a setting reads: its alias, else `FERRYMAN_<NAME>`."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return str(alias) if alias else f"FERRYMAN_{name.upper()}"


def settings_variables() -> dict[str, Any]:
    """Variable -> the setting's default."""
    return {
        env_name(name): field.get_default(call_default_factory=True)
        for name, field in Settings.model_fields.items()
    }


def options(of: typer.Typer = app) -> list[tuple[str, TyperOption]]:
    """(command path, option) for every option of every command of `of`."""
    found: list[tuple[str, TyperOption]] = []

    def walk(command: Any, path: str) -> None:
        found.extend((path, p) for p in command.params if isinstance(p, TyperOption))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(of), "ferryman")
    assert found, "no option found: has typer changed how it builds commands?"
    return found


def cli_variables() -> dict[str, tuple[str, TyperOption]]:
    """Variable -> (the option's name, the option) that reads it."""
    return {
        str(option.envvar): (f"{path} {option.opts[0]}", option)
        for path, option in options()
        if option.envvar
    }


def configuration() -> dict[str, str]:
    """Variable -> its default cell, from the README's `## Configuration` table (a row may
    name several, `A` / `B`, with defaults `a` / `b`)."""
    documented: dict[str, str] = {}
    for names, defaults, _ in table("## Configuration"):
        variables = backticked(names)
        cells = defaults.split(" / ") if len(variables) > 1 else [defaults]
        assert len(cells) == len(variables), names
        documented |= dict(zip(variables, cells, strict=True))
    return documented


def limits() -> set[str]:
    return {name for row in table("## Limits") for name in backticked(row[2])}


def clients() -> set[str]:
    return {name for row in table("## Configuration", index=1) for name in backticked(row[0])}


def shown(default: Any) -> str | None:
    """A default as the README writes it in backticks (None: written as words)."""
    if default is None or default == []:
        return None
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    if isinstance(default, dict):
        return json.dumps(default)
    return str(default)


def test_every_setting_is_documented_with_its_default() -> None:
    documented = configuration()
    missing = set(settings_variables()) - set(documented) - limits()
    assert missing == set()
    wrong = {}
    for variable, default in settings_variables().items():
        if variable not in documented:
            continue  # a limit: its own table says it
        cell = documented[variable]
        written = backticked(cell)[0] if backticked(cell) else None
        if written != shown(default) and not (default is None and "none" in cell):
            wrong[variable] = (cell, default)
    assert wrong == {}, "variable: (README's default, the setting's)"


def test_every_variable_of_the_command_line_is_documented_and_read() -> None:
    documented = configuration()
    settings = settings_variables()
    # The operator's commands are configured: each option from a variable too. The user's
    # commands take what they act on as options (`--payload`, `--status`): inputs.
    bare = [
        f"{path} {o.opts[0]}"
        for path, o in options(operator.app)
        if not o.envvar and o.opts[0] not in INPUTS
    ]
    assert bare == []
    for variable, (name, option) in cli_variables().items():
        assert variable in documented, name
        if variable in settings:  # the option overrides that setting: it has no default
            assert option.default is None, name
        else:  # the option alone reads it: the README says its default
            assert backticked(documented[variable])[0] == str(option.default), name


def test_the_readme_names_no_variable_nothing_reads() -> None:
    read = set(settings_variables()) | set(cli_variables()) | {"FERRYMAN_SECRET_<NAME>"}
    assert set(configuration()) - read == set()
    assert clients() == CLIENT_VARIABLES
    scripts = (ROOT / "examples" / "_lib.sh").read_text()
    assert all(f"${{{name}:-" in scripts for name in CLIENT_VARIABLES)


def test_help_shows_no_type_for_flags() -> None:
    runner = typer.testing.CliRunner()
    for args in (["--help"], ["up", "--help"], ["keys", "create", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "--help" in result.output
        assert "<bool>" not in result.output and "BOOLEAN" not in result.output, result.output
    up = runner.invoke(app, ["up", "--help"], terminal_width=200).output
    for variable in ("FERRYMAN_TEMPORAL_PORT", "FERRYMAN_UI_PORT", "FERRYMAN_API_PORT"):
        assert variable in up
