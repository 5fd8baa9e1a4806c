"""The definition DSL and its templates: validation names the step at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from ferryman.workflows.dsl import WorkflowDefinition, slugify
from ferryman.workflows.snapshot import RetrySnapshot
from ferryman.workflows.templating import TemplateError, referenced_steps, render
from tests.support.paths import ROOT


def definition(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "Test", "steps": list(steps), **extra}


def transform(step_id: str, value: Any = 1, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "transform", "with": {"value": value}, **extra}


def rejected(document: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        WorkflowDefinition.model_validate(document)
    return str(caught.value)


def test_a_valid_dag_parses_with_aliases() -> None:
    parsed = WorkflowDefinition.model_validate(
        definition(
            transform("a"),
            transform("b", "{{ steps.a.output + 1 }}", depends_on=["a"]),
            {"id": "c", "kind": "sleep", "with": {"seconds": 1}, "if": "steps.a.output"}
            | {"depends_on": ["a"]},
        )
    )
    assert [step.id for step in parsed.steps] == ["a", "b", "c"]
    assert parsed.steps[2].if_ == "steps.a.output"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (definition(transform("a"), transform("a")), "step 'a' is defined more than once"),
        (definition(transform("a", depends_on=["ghost"])), "depends on 'ghost'"),
        (
            definition(transform("a", depends_on=["b"]), transform("b", depends_on=["a"])),
            "part of a cycle",
        ),
        (definition({"id": "a", "kind": "teleport"}), "unknown kind 'teleport'"),
        (definition({"id": "a", "kind": "llm"}), "needs `with.model`"),
        (
            definition(
                {
                    "id": "a",
                    "kind": "llm",
                    "with": {"model": "m", "messages": [], "output_schema": {"type": 5}},
                }
            ),
            "with.messages",
        ),
        (
            definition(
                {
                    "id": "a",
                    "kind": "llm",
                    "with": {
                        "model": "m",
                        "messages": [{"role": "user", "content": "hi"}],
                        "output_schema": {"type": 5},
                    },
                }
            ),
            "not a valid JSON Schema",
        ),
        (definition({"id": "a", "kind": "workflow"}), "needs `workflow` (a job id)"),
        (
            definition({"id": "a", "kind": "transform", "workflow": "other"}),
            "only steps of kind 'workflow' take",
        ),
        (
            definition({"id": "a", "kind": "workflow", "workflow": "Not A Slug"}),
            "should match pattern",
        ),
        (
            {**definition(transform("a")), "concurrency": {"limit": 0}},
            "greater than or equal to 1",
        ),
        (
            {
                **definition(transform("a")),
                "concurrency": {"limit": 2, "key": "{{ steps.a.output }}"},
            },
            "the concurrency key reads steps.a",
        ),
        (definition({"id": "a", "kind": "activity"}), "needs `activity`"),
        (definition({"id": "a", "kind": "http", "with": {}}), "needs `with.url`"),
        (
            definition({"id": "a", "kind": "wait", "with": {"signal": 3}}),
            "step 'a': with.signal: Input should be a valid string",
        ),
        (
            definition({"id": "a", "kind": "wait", "with": {"signal": "{{ input.s }}"}}),
            "must be a name, not a template",
        ),
        (
            definition(
                {"id": "a", "kind": "http", "with": {"url": "https://x", "method": "FETCH"}}
            ),
            "step 'a': with.method: Input should be 'GET'",
        ),
        (
            definition({"id": "a", "kind": "http", "with": {"url": "ftp://x"}}),
            "step 'a': with.url: url must start with http:// or https://",
        ),
        (
            definition({"id": "a", "kind": "sleep", "with": {"seconds": "soon"}}),
            "step 'a': with.seconds: Input should be a valid number",
        ),
        (
            definition({"id": "a", "kind": "sleep", "with": {"seconds": -1}}),
            "step 'a': with.seconds: Input should be greater than or equal to 0",
        ),
        (
            definition({"id": "a", "kind": "sleep", "with": {"seconds": float("nan")}}),
            "step 'a': with.seconds: Input should be a finite number",
        ),
        (
            definition({"id": "a", "kind": "sleep", "with": {"seconds": float("inf")}}),
            "step 'a': with.seconds: Input should be a finite number",
        ),
        (
            definition({"id": "a", "kind": "sleep", "with": {"seconds": 1, "minutes": 2}}),
            "`with.minutes` is not a parameter of sleep steps (they take seconds)",
        ),
        (definition({"id": "a", "kind": "transform", "with": {}}), "needs `with.value`"),
        (definition(transform("a", "{{ input.x ")), "does not parse"),
        (definition(transform("a", "{{ now() }}")), "names now"),
        (
            definition(transform("a"), transform("b", "{{ steps.a.output }}")),
            "step 'b' reads steps.a, which is not upstream",
        ),
        (
            definition(transform("a"), transform("b", "{{ steps['a'].output }}")),
            "step 'b' reads steps.a",
        ),
        (definition(transform("a", **{"if": "steps.zz.output"})), "reads steps.zz"),
        (definition(transform("a"), output="{{ steps.nope.output }}"), "the workflow output"),
        (definition(transform("a"), input_schema={"type": "nonsense"}), "not a valid JSON Schema"),
        (
            definition({**transform("a"), "local": True}),
            "step 'a' has `local`, which only `http` and `activity` steps take",
        ),
        (
            definition(
                {
                    "id": "a",
                    "kind": "http",
                    "local": True,
                    "heartbeat_secs": 5,
                    "with": {"url": "https://x"},
                }
            ),
            "a local activity cannot heartbeat",
        ),
        (definition(), "at least 1 item"),
        (definition(transform("a"), extra_field=1), "Extra inputs are not permitted"),
    ],
)
def test_invalid_definitions_are_rejected_with_a_sentence(
    document: dict[str, Any], expected: str
) -> None:
    assert expected in rejected(document)


def test_transitive_ancestors_are_upstream() -> None:
    WorkflowDefinition.model_validate(
        definition(
            transform("a"),
            transform("b", depends_on=["a"]),
            transform("c", "{{ steps.a.output }}", depends_on=["b"]),
        )
    )


@pytest.mark.parametrize(
    ("backoff", "delays"),
    [
        ("exponential", [2, 4, 8, 10]),
        ("linear", [2, 4, 6, 8]),
        ("fixed", [2, 2, 2, 2]),
    ],
)
def test_backoff_delays_are_exact(backoff: str, delays: list[float]) -> None:
    policy = RetrySnapshot(max_attempts=5, backoff=backoff, initial_delay_secs=2, max_delay_secs=10)
    assert [policy.delay_before(attempt) for attempt in range(2, 6)] == delays


def test_single_expressions_keep_their_type_and_text_renders_as_text() -> None:
    context = {"input": {"items": [1, 2], "name": "ada"}}
    rendered = render({"list": "{{ input.items }}", "text": "hi {{ input.name }}", "n": 3}, context)
    assert rendered == {"list": [1, 2], "text": "hi ada", "n": 3}


def test_secrets_render_to_placeholders_never_values() -> None:
    assert render("{{ secrets.TOKEN }}", {}) == "${{secret:TOKEN}}"
    assert "${{secret:TOKEN}}" in render("Bearer {{ secrets.TOKEN }}", {})


@pytest.mark.parametrize("template", ["{{ [1,2] | random }}", "{{ lipsum() }}"])
def test_templates_have_no_randomness(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, {})


def test_missing_values_fail_loudly() -> None:
    with pytest.raises(TemplateError, match="template"):
        render("{{ input.missing.deeper }}", {"input": {}})


def test_sandbox_blocks_attribute_escapes() -> None:
    with pytest.raises(TemplateError):
        render("{{ input.__class__.__mro__ }}", {"input": {}})


def test_referenced_steps_reads_both_spellings() -> None:
    assert referenced_steps("{{ steps.a.output }} {{ steps['b'].output }}") == {"a", "b"}


def test_slugify() -> None:
    assert slugify("Welcome Email Workflow!") == "welcome-email-workflow"
    assert slugify("!!!") == "workflow"


def test_templated_parameters_are_checked_when_they_run_not_before() -> None:
    parsed = WorkflowDefinition.model_validate(
        definition(
            {"id": "a", "kind": "sleep", "with": {"seconds": "{{ input.delay }}"}},
            {
                "id": "b",
                "kind": "http",
                "with": {"url": "{{ input.url }}", "method": "{{ input.method }}"},
            },
        )
    )
    assert [step.id for step in parsed.steps] == ["a", "b"]


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_definition_is_valid(path: Path) -> None:
    """The README's examples register as written (their scripts run them)."""
    document = yaml.safe_load(path.read_text())
    definition = WorkflowDefinition.model_validate(document)
    assert definition.id == path.stem
