"""The execution domain: everything the API does with executions, for every surface.

It alone talks to Temporal about executions, returns domain objects (the read model is
`view.ExecutionView`), and knows nothing of HTTP: each surface (`ferryman.api.surfaces`)
serializes what it returns. Modules: `launch` (start), `reader` (read one, list pages),
`visibility` (queries, cursors), `control` (stop, pause, resume, signal), `restore`
(checkpoints, replay, rollback), `history` (the history fold), `events` (user events and
streams), `triage` (failed and stuck), `schedules` (cron schedules: Temporal Schedules
whose action starts runs), `ids`.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from ferryman.api.definitions import DefinitionService
from ferryman.api.executions import triage
from ferryman.api.executions.control import ExecutionControl
from ferryman.api.executions.events import ExecutionEvents
from ferryman.api.executions.launch import Launcher
from ferryman.api.executions.reader import ExecutionReader
from ferryman.api.executions.restore import Restorer
from ferryman.api.executions.schedules import Schedules
from ferryman.settings import Settings


@dataclass(frozen=True)
class Executions:
    reader: ExecutionReader
    launcher: Launcher
    control: ExecutionControl
    restorer: Restorer
    events: ExecutionEvents
    schedules: Schedules

    @classmethod
    def create(
        cls, client: Client, settings: Settings, definitions: DefinitionService
    ) -> Executions:
        reader = ExecutionReader(client, settings)
        launcher = Launcher(client, settings, definitions)
        control = ExecutionControl(reader, settings.control_timeout_secs)
        return cls(
            reader=reader,
            launcher=launcher,
            control=control,
            restorer=Restorer(reader, launcher, control),
            events=ExecutionEvents(reader),
            schedules=Schedules(client, settings.task_queue, launcher),
        )

    async def failures(
        self, project_id: str, workflow_id: str | None, limit: int, after: str | None
    ) -> triage.FailurePage:
        return await triage.failures(self.reader, project_id, workflow_id, limit, after)
