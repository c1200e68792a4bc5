"""Liveness and readiness.

`GET /healthz` answers 200 while the process serves HTTP, and says whether the database answers
(`database_up`, `status` "ok" or "degraded"): restarting the process would not bring a database
back, so liveness must not fail with it. `GET /readyz` is for a load balancer: 200 when this node
can serve requests, 503 SERVICE_UNAVAILABLE (error body, Retry-After) while its database is down,
so traffic goes to nodes that can take it."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State

import backend
from backend.core.availability import database_unavailable, probe
from backend.core.http import domain_error_handler


async def _database_problem(state: State) -> str | None:
    # A read-only session: on SQLite a health probe must not queue behind writers.
    return await probe(state.read_sessionmaker, sqlite=state.settings.is_sqlite)


@get("/healthz", tags=["health"], exclude_from_auth=True)
async def healthz(state: State) -> dict[str, Any]:
    problem = await _database_problem(state)
    body: dict[str, Any] = {"status": "ok" if problem is None else "degraded",
                            "database": "sqlite" if state.settings.is_sqlite else "postgresql",
                            "database_up": problem is None, "version": backend.__version__}
    if problem is not None:
        body["database_error"] = problem
    return body


@get("/readyz", tags=["health"], exclude_from_auth=True)
async def readyz(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    problem = await _database_problem(state)
    if problem is not None:
        return domain_error_handler(request, database_unavailable(problem))
    return Response(content={"status": "ready"}, status_code=200)
