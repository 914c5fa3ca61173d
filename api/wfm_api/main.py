"""The FastAPI application: ``create_app()``; ``wfm serve`` runs it with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wfm_api.db import make_engine, migrate, session_factory
from wfm_api.jobs import JobRunner
from wfm_api.routers import rosters, sites, staffing
from wfm_api.settings import Settings

log = logging.getLogger("wfm_api")

DESCRIPTION = """HR systems push sites, employees, time off, shift templates and demand history; ask for staffing
figures and rosters; publish, lock and pull them. Every request needs an API key (`X-API-Key`, made with
`wfm apikey create --site SITE`); a key sees only its own sites. Roster solves are jobs: `POST` returns 202 and a
job id, `GET` shows progress, `DELETE` cancels."""


class BodyLimit:
    """Answers 413 to a request body over ``limit`` bytes, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._reject(send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLargeError:
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        response = JSONResponse({"detail": f"request body over {self.limit} bytes"}, status_code=413)
        await response({"type": "http"}, _no_body, send)


class _BodyTooLargeError(Exception):
    pass


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def create_app(settings: Settings | None = None, *, run_jobs: bool = True) -> FastAPI:
    """The API app. ``run_jobs=False`` leaves queued jobs alone (for tests of the HTTP layer only)."""
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    migrate(engine)
    sessions = session_factory(engine)
    runner = JobRunner(settings, sessions)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = None
        if run_jobs:
            runner.recover()
            task = asyncio.create_task(runner.serve())
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                runner.shutdown()

    app = FastAPI(title="wfm", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings, app.state.sessions, app.state.jobs = settings, sessions, runner
    app.include_router(sites.router)
    app.include_router(staffing.router)
    app.include_router(rosters.router)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, exc: Exception) -> JSONResponse:
        error_id = uuid.uuid4().hex[:12]
        log.error("internal error %s", error_id, exc_info=exc)
        return JSONResponse({"detail": "internal error", "error_id": error_id}, status_code=500)

    return app
