"""The HTTP surfaces over the execution domain: one package each, plus health.

`api_v1` is `/api/v1` (seeds 000, 002, 003), `v1` is `/v1` (seed 001), `dashboard` is `/ui`
(pages for people, answering its refusals as HTML itself). Each surface
registers its router and how it names statuses (for the sentences of `InvalidState`
errors) in `SURFACES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter

from ferryman.api.surfaces import api_v1, dashboard, v1
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
