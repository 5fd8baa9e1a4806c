"""Every HTTP surface the app mounts: each registers its router and how it names statuses
(for the sentences of `InvalidState` errors) in `SURFACES`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter

from ferryman.api.surfaces.api_v1 import routes as api_v1
from ferryman.api.surfaces.dashboard import routes as dashboard
from ferryman.api.surfaces.v1 import routes as v1
from ferryman.statuses import Status


@dataclass(frozen=True)
class Surface:
    prefix: str
    router: APIRouter
    status_phrase: Callable[[Status], str]


SURFACES = (
    Surface(api_v1.PREFIX, api_v1.router, api_v1.status_phrase),
    Surface(v1.PREFIX, v1.router, v1.status_phrase),
    Surface(dashboard.PREFIX, dashboard.router, dashboard.status_phrase),
)
