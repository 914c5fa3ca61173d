"""Roster solves in worker processes, never in the event loop.

The server's ``JobRunner`` starts queued jobs up to the concurrency limit, each in a fresh process (spawned:
CP-SAT and the server's threads do not mix with fork). A job is claimed with a token; the worker writes
progress and its result only while its claim holds, in one transaction with the new roster. Cancelling
kills the process. On start, jobs left running by a dead server are re-queued (or failed after
``max_job_attempts``), so no job stays "running" without a process behind it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
import secrets
import threading
import time
import traceback
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from wfm.erlang import StaffingInputError
from wfm.forecast import ForecastInputError
from wfm.roster import Progress, SolveSettings
from wfm.roster.io import ScenarioError, scenario_from_dict
from wfm.roster.reroster import re_roster
from wfm.roster.validate import validate_roster
from wfm_api.db import JobRow, RosterRow, SiteRow, make_engine, session_factory, utc_now
from wfm_api.schemas import AbsenceRequest, RosterJobRequest
from wfm_api.services import ServiceError, roster_frame, roster_job_input, roster_payload, solve_roster_job
from wfm_api.settings import Settings

log = logging.getLogger("wfm_api.jobs")
_CONTEXT = multiprocessing.get_context("spawn")


def new_id() -> str:
    return uuid.uuid4().hex


class JobRunner:
    """Starts, watches and cancels the worker processes of one server."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session]) -> None:
        self.settings = settings
        self.factory = factory
        self.running: dict[str, multiprocessing.process.BaseProcess] = {}
        self._lock = threading.Lock()

    def recover(self) -> None:
        """Jobs marked running belong to a server that is gone: queue them again, or fail them."""
        with self.factory.begin() as session:
            for job in session.scalars(sa.select(JobRow).where(JobRow.status == "running")):
                job.claim = None
                job.progress = None
                if job.attempts < self.settings.max_job_attempts:
                    job.status = "queued"
                    job.error = "interrupted by a server restart; queued again"
                else:
                    job.status, job.finished_at = "failed", utc_now()
                    job.error = f"interrupted by a server restart {job.attempts} times; not retried"

    def tick(self) -> None:
        """Reap finished workers, then start queued jobs while there is room."""
        with self._lock:
            for job_id, process in list(self.running.items()):
                if process.is_alive():
                    continue
                process.join()
                del self.running[job_id]
                with self.factory.begin() as session:
                    session.execute(
                        sa.update(JobRow)
                        .where(JobRow.id == job_id, JobRow.status == "running")
                        .values(
                            status="failed",
                            finished_at=utc_now(),
                            claim=None,
                            error=f"the worker process ended without a result (exit code {process.exitcode})",
                        )
                    )
            while len(self.running) < self.settings.max_concurrent_jobs:
                if not self._start_next():
                    break

    def _start_next(self) -> bool:
        with self.factory.begin() as session:
            job_id = session.scalar(
                sa.select(JobRow.id).where(JobRow.status == "queued").order_by(JobRow.created_at).limit(1)
            )
            if job_id is None:
                return False
            claim = secrets.token_hex(16)
            claimed = session.execute(
                sa.update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == "queued")
                .values(status="running", claim=claim, attempts=JobRow.attempts + 1, started_at=utc_now())
            ).rowcount
        if claimed:  # another server process may have taken it first
            process = _CONTEXT.Process(
                target=run_job,
                args=(self.settings.database_url, job_id, claim, self.settings.solver_workers, os.getpid()),
                name=f"wfm-job-{job_id}",
                daemon=True,
            )
            process.start()
            self.running[job_id] = process
        return True

    def cancel(self, job_id: str) -> None:
        """Stop the worker of a job (its row is already marked cancelled)."""
        with self._lock:
            process = self.running.pop(job_id, None)
        if process is not None:
            process.kill()
            process.join(timeout=10)

    async def serve(self) -> None:
        """The dispatcher loop of the server (an asyncio task; database work happens in a thread)."""
        while True:
            try:
                await asyncio.to_thread(self.tick)
            except Exception:  # a database hiccup must not end the dispatcher
                log.exception("job dispatcher tick failed")
            await asyncio.sleep(self.settings.poll_interval_s)

    def shutdown(self) -> None:
        """On a clean stop: kill the workers and queue their jobs again."""
        with self._lock:
            running, self.running = self.running, {}
        for process in running.values():
            process.kill()
            process.join(timeout=10)
        if running:
            with self.factory.begin() as session:
                session.execute(
                    sa.update(JobRow)
                    .where(JobRow.id.in_(list(running)), JobRow.status == "running")
                    .values(status="queued", claim=None, progress=None, error="server stopped; queued again")
                )


def _exit_with_parent(parent_pid: int) -> None:
    """A worker whose server died (SIGKILL) stops too: the restarted server owns its job now."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(3)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def run_job(database_url: str, job_id: str, claim: str, solver_workers: int | None, parent_pid: int) -> None:
    """Worker process entry: solve one job and store its roster under the claim."""
    _exit_with_parent(parent_pid)
    engine = make_engine(database_url)
    factory = session_factory(engine)
    mine = (JobRow.id == job_id) & (JobRow.claim == claim) & (JobRow.status == "running")
    last_write = [0.0]

    def progress(point: Progress) -> None:
        now = time.monotonic()
        if now - last_write[0] < 1.0:
            return
        last_write[0] = now
        values = {"objective": _finite(point.objective), "bound": _finite(point.bound), "elapsed_s": point.elapsed_s}
        with factory.begin() as session:
            session.execute(sa.update(JobRow).where(mine).values(progress=values))

    def finish(**values: object) -> bool:
        with factory.begin() as session:
            return bool(session.execute(sa.update(JobRow).where(mine).values(claim=None, **values)).rowcount)

    try:
        with factory() as session:  # read what the job needs, then solve without holding a connection
            job = session.get(JobRow, job_id)
            site_id, based_on = job.site_id, None
            if job.kind == "roster":
                request = RosterJobRequest.model_validate(job.request)
                job_input = roster_job_input(session, session.get(SiteRow, site_id), request)
            else:
                absence = AbsenceRequest.model_validate(job.request["absence"])
                original = session.get(RosterRow, job.request["roster_id"])
                based_on, original_scenario, before = original.id, original.scenario, roster_frame(original.shifts)
        if based_on is None:
            settings = SolveSettings(time_limit_s=request.time_limit_s, num_workers=solver_workers)
            scenario, result, violations = solve_roster_job(job_input, request, settings, progress)
        else:
            settings = SolveSettings(time_limit_s=absence.time_limit_s, num_workers=solver_workers)
            scenario, result, changes = re_roster(
                scenario_from_dict(original_scenario), before, absence.employee_id, absence.dates, settings, progress
            )
            violations = validate_roster(scenario, result.roster)
        payload = roster_payload(scenario, result, violations)
        if based_on is not None:
            payload["summary"]["changes"] = changes.to_dict("records")
        with factory.begin() as session:
            done = session.execute(
                sa.update(JobRow).where(mine).values(status="succeeded", finished_at=utc_now(), claim=None)
            ).rowcount
            if not done:  # cancelled or taken over meanwhile: nothing was written, keep nothing
                return
            roster_id = new_id()
            session.add(
                RosterRow(
                    id=roster_id,
                    site_id=site_id,
                    job_id=job_id,
                    based_on=based_on,
                    status="draft",
                    start_date=scenario.start_date,
                    days=scenario.days,
                    **payload,
                )
            )
            session.execute(sa.update(JobRow).where(JobRow.id == job_id).values(roster_id=roster_id))
    except (ServiceError, ScenarioError, ForecastInputError, StaffingInputError) as exc:
        finish(status="failed", finished_at=utc_now(), error=str(exc))
    except Exception:
        traceback.print_exc()
        finish(status="failed", finished_at=utc_now(), error="internal error in the solve (logged by the server)")
    finally:
        engine.dispose()
