"""Step kinds behind one registry: a module per kind (its params, checks, run, primary value).

A new kind is one new module here and one line in `KINDS`.
"""

from __future__ import annotations

from ferryman.workflows.steps.activity import Activity
from ferryman.workflows.steps.base import StepKind, StepRun
from ferryman.workflows.steps.http import Http
from ferryman.workflows.steps.llm import Llm
from ferryman.workflows.steps.sleep import Sleep
from ferryman.workflows.steps.transform import Transform
from ferryman.workflows.steps.wait import Wait
from ferryman.workflows.steps.workflow import Workflow

KINDS: dict[str, StepKind] = {
    kind.name: kind
    for kind in (Activity(), Http(), Transform(), Sleep(), Wait(), Workflow(), Llm())
}
__all__ = ["KINDS", "StepKind", "StepRun"]
