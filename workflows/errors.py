"""The two ways a definition goes wrong: refused at registration, or failing a step at run time."""

from __future__ import annotations

from ferryman.statuses import Status


class DefinitionError(ValueError):
    """A definition that cannot run; `step` names the step at fault when there is one."""

    def __init__(self, message: str, step: str | None = None) -> None:
        super().__init__(message)
        self.step = step


class StepFailed(Exception):
    """A step that will not succeed; ends the execution as `status`."""

    def __init__(
        self, step: str, message: str, error_type: str, status: Status, attempts: int
    ) -> None:
        super().__init__(message)
        self.step = step
        self.error_type = error_type
        self.status = status
        self.attempts = attempts


class RunExpired(Exception):
    """The run's `expires_at` passed before its first step started (while `phase`)."""

    def __init__(self, phase: str) -> None:
        super().__init__(f"expired while {phase}: expires_at passed before its first step started")
        self.phase = phase
