"""ferryman's dashboard, `/ui`: every run seen and driven in a browser.

Server-rendered pages (Jinja2, autoescaped) with htmx and its SSE extension for live rows,
steps and events; every asset is in the package (`static/`, vendored scripts with their
licenses in `static/vendor/`). Sign-in takes an API key (`session`); each page calls the
execution domain as the `/v1` routes do, with the key's project and scopes. One module per
page (routes only), `views` (the one view-model module), `rendering` (templates, static
files, refusals as HTML).
"""

from __future__ import annotations

from fastapi import APIRouter

from ferryman.api.surfaces.dashboard import (
    dead_letters,
    jobs,
    overview,
    run,
    runs,
    schedules,
    session,
)
from ferryman.api.surfaces.dashboard.rendering import PREFIX, STATIC_PATH, static_files
from ferryman.api.surfaces.v1.statuses import status_phrase

router = APIRouter(prefix=PREFIX, include_in_schema=False)
# `runs` before `run`, so that `/runs/stream` and `/runs/bulk` are not taken for run ids.
for module in (session, overview, runs, run, jobs, dead_letters, schedules):
    router.include_router(module.router)

__all__ = ["PREFIX", "STATIC_PATH", "router", "static_files", "status_phrase"]
