"""Liveness and readiness probes, and the Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from tokenward.http.deps import TokenwardDep
from tokenward.http.schemas import ReadinessResponse
from tokenward.metrics import render

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers; touches nothing else."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=ReadinessResponse,
    responses={503: {"model": ReadinessResponse, "description": "A service is down"}},
)
async def readyz(tokenward: TokenwardDep) -> JSONResponse:
    """Ready when the database (and Redis, when configured) answer."""
    checks = await tokenward.readiness()
    ready = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
async def metrics(tokenward: TokenwardDep) -> Response:
    """Prometheus text format: auth event counters and this instance's gauges."""
    return Response(render(tokenward.metrics), media_type=CONTENT_TYPE_LATEST)
