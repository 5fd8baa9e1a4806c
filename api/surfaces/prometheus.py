"""`GET /metrics`: the API process's Prometheus metrics (`ferryman.metrics`), without a key
like the probes; on a port of its own instead when `FERRYMAN_METRICS_PORT` is set."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ferryman import metrics

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {metrics.CONTENT_TYPE: {}}, "description": "Prometheus text"}},
    summary="The API's Prometheus metrics: requests, runs started, control calls, replays",
)
async def prometheus_metrics() -> Response:
    return Response(metrics.API.exposition(), media_type=metrics.CONTENT_TYPE)
