"""The client's models are the API's wire models, and importing the client loads none of the
server (FastAPI, SQLAlchemy, the routes)."""

from __future__ import annotations

import subprocess
import sys

from ferryman.api.surfaces.api_v1 import schemas as api_v1
from ferryman.api.surfaces.v1 import job_schemas
from ferryman.api.surfaces.v1 import schemas as v1
from ferryman.client import models
from tests.support.paths import ROOT

SERVER_MODULES = ("fastapi", "starlette", "sqlalchemy", "uvicorn", "ferryman.api.app")


def test_the_client_imports_without_the_server() -> None:
    probe = (
        "import sys, ferryman.client, ferryman.cli.user; "
        f"print(sorted(m for m in {SERVER_MODULES!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]", loaded.stdout


def test_the_models_are_the_apis_own() -> None:
    assert models.Run is v1.Run and models.RunEvent is v1.RunEvent
    assert models.Job is job_schemas.Job and models.Schedule is job_schemas.ScheduleOut
    assert models.Execution is api_v1.Execution and models.Workflow is api_v1.WorkflowOut
