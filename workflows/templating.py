"""Jinja2 templates rendered deterministically in a sandbox.

Workflow code replays, so the environment has no randomness or time: the `random` filter
and the `lipsum`/`cycler`/`joiner` globals are removed. A string that is exactly one
`{{ expression }}` renders to the expression's native value (a dict stays a dict); any
other string renders to text. `{{ secrets.NAME }}` renders to a placeholder that only an
activity resolves, so a secret never enters workflow state or history.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from ferryman.activities.secrets import secret_placeholder

CONTEXT_NAMES = frozenset({"input", "steps", "execution", "metadata", "secrets"})
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)


class TemplateError(ValueError):
    """A template that does not parse or fails to render."""


class _DataEnvironment(SandboxedEnvironment):
    """Templates read JSON data: `x.items` means the key "items", not the dict method."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def _environment() -> SandboxedEnvironment:
    env = _DataEnvironment(undefined=StrictUndefined, autoescape=False)
    env.filters.pop("random", None)
    for name in ("lipsum", "cycler", "joiner"):
        env.globals.pop(name, None)
    return env


ENV = _environment()


class Secrets:
    """`secrets.NAME` inside a template yields a placeholder, never the value."""

    def __getattr__(self, name: str) -> str:
        return secret_placeholder(name)

    __getitem__ = __getattr__


def is_template(value: object) -> bool:
    """Whether `value` is a string with a template in it (unknown until rendered)."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every template string inside `value` (dicts and lists recursively)."""
    if isinstance(value, str):
        return _render_string(value, context) if is_template(value) else value
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value


@lru_cache(maxsize=4096)
def _compiled(text: str) -> Callable[..., Any]:
    """Compiling is most of a template's cost, and the same texts render in every execution."""
    single = _SINGLE_EXPRESSION.match(text)
    if single and "{{" not in single["expr"] and "}}" not in single["expr"]:
        return ENV.compile_expression(single["expr"], undefined_to_none=False)
    return ENV.from_string(text).render


def _render_string(text: str, context: Mapping[str, Any]) -> Any:
    variables = {**context, "secrets": Secrets()}
    try:
        return _compiled(text)(**variables)
    except TemplateError:
        raise
    except Exception as err:  # jinja raises many types; the user needs one sentence
        raise TemplateError(f"template {text!r} failed: {err}") from err


def truthy(value: Any) -> bool:
    """`if:` semantics: rendered strings like 'false' or '0' count as false."""
    if isinstance(value, str):
        return value.strip().lower() not in {"", "false", "0", "no", "none", "null"}
    return bool(value)


def template_strings(value: Any) -> Iterator[str]:
    """Every template string inside a (nested) value."""
    if isinstance(value, str):
        if is_template(value):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from template_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from template_strings(item)


def referenced_steps(text: str) -> frozenset[str]:
    """Parse a template and return the step ids it reads (`steps.x` or `steps['x']`).

    Raises TemplateError when it does not parse, names a variable outside the context, or
    uses a filter or a test the sandbox lacks (which Jinja would find only when rendering,
    in every run). Cached: a definition is validated again wherever it is deserialized
    (API and worker).
    """
    return _referenced_steps(text)


@lru_cache(maxsize=4096)
def _referenced_steps(text: str) -> frozenset[str]:
    try:
        tree = ENV.parse(text)
    except TemplateSyntaxError as err:
        raise TemplateError(f"template {text!r} does not parse: {err.message}") from err
    assigned = {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}
    unknown = {
        node.name
        for node in tree.find_all(nodes.Name)
        if node.ctx == "load"
        and node.name not in CONTEXT_NAMES
        and node.name not in assigned
        and node.name not in ENV.globals
    }
    if unknown:
        raise TemplateError(
            f"template {text!r} names {', '.join(sorted(unknown))}; templates can read "
            f"{', '.join(sorted(CONTEXT_NAMES))}"
        )
    for kind, node_type, known in (
        ("filter", nodes.Filter, ENV.filters),
        ("test", nodes.Test, ENV.tests),
    ):
        missing = sorted({node.name for node in tree.find_all(node_type) if node.name not in known})
        if missing:
            raise TemplateError(f"template {text!r} uses an unknown {kind} {missing[0]!r}")
    steps: set[str] = set()
    for attr in tree.find_all(nodes.Getattr):
        if isinstance(attr.node, nodes.Name) and attr.node.name == "steps":
            steps.add(attr.attr)
    for item in tree.find_all(nodes.Getitem):
        if (
            isinstance(item.node, nodes.Name)
            and item.node.name == "steps"
            and isinstance(item.arg, nodes.Const)
            and isinstance(item.arg.value, str)
        ):
            steps.add(item.arg.value)
    return frozenset(steps)
