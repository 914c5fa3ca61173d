"""Roster jobs (asynchronous solves), rosters (publish, lock, exports), re-rostering and validation."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request, Response

from wfm.plan.export import write_roster_xlsx
from wfm.roster.io import ScenarioError, scenario_from_dict
from wfm.roster.reroster import with_absence
from wfm.roster.validate import validate_roster
from wfm_api.db import JobRow, RosterRow, SiteRow, utc_now
from wfm_api.deps import SessionDep, SiteDep, owned
from wfm_api.jobs import new_id
from wfm_api.schemas import (
    AbsenceRequest,
    JobOut,
    RosterJobRequest,
    RosterOut,
    RosterSummary,
    ValidateOut,
    ValidateRequest,
)
from wfm_api.services import ServiceError, roster_frame, roster_job_input, site_scenario_data, violations_json

router = APIRouter(prefix="/sites/{site_id}")


def _queue(session: SessionDep, site: SiteRow, kind: str, body: dict) -> JobOut:
    job = JobRow(id=new_id(), site_id=site.id, kind=kind, status="queued", request=body)
    session.add(job)
    session.commit()
    return JobOut.model_validate(job, from_attributes=True)


@router.post("/roster-jobs", response_model=JobOut, status_code=202, tags=["roster jobs"])
def create_roster_job(site: SiteDep, session: SessionDep, body: RosterJobRequest, request: Request) -> JobOut:
    """Queue a roster solve; poll ``GET .../roster-jobs/{id}`` for progress and the roster id."""
    if body.time_limit_s > request.app.state.settings.max_time_limit_s:
        raise HTTPException(422, f"time_limit_s: at most {request.app.state.settings.max_time_limit_s} s")
    try:  # fail fast on a site that cannot make a scenario
        roster_job_input(session, site, body)
    except ServiceError as exc:
        raise HTTPException(422, str(exc)) from None
    return _queue(session, site, "roster", body.model_dump(mode="json"))


def _job(session: SessionDep, site: SiteRow, job_id: str) -> JobRow:
    return owned(session, JobRow, job_id, site, "job")


@router.get("/roster-jobs", response_model=list[JobOut], tags=["roster jobs"])
def list_jobs(site: SiteDep, session: SessionDep) -> list[JobOut]:
    rows = session.scalars(sa.select(JobRow).where(JobRow.site_id == site.id).order_by(JobRow.created_at.desc()))
    return [JobOut.model_validate(row, from_attributes=True) for row in rows.all()[:200]]


@router.get("/roster-jobs/{job_id}", response_model=JobOut, tags=["roster jobs"])
def get_job(site: SiteDep, session: SessionDep, job_id: str) -> JobOut:
    """Status, progress (objective and bound while searching), and the roster id when it succeeded."""
    return JobOut.model_validate(_job(session, site, job_id), from_attributes=True)


@router.delete(
    "/roster-jobs/{job_id}",
    response_model=JobOut,
    tags=["roster jobs"],
    responses={409: {"description": "The job has already finished."}},
)
def cancel_job(site: SiteDep, session: SessionDep, job_id: str, request: Request) -> JobOut:
    """Cancel a queued or running job (a running solve is stopped)."""
    job = _job(session, site, job_id)
    cancelled = session.execute(
        sa.update(JobRow)
        .where(JobRow.id == job_id, JobRow.status.in_(("queued", "running")))
        .values(status="cancelled", claim=None, finished_at=utc_now())
    ).rowcount
    session.commit()
    if not cancelled:
        session.refresh(job)
        raise HTTPException(409, f"job {job_id!r} is {job.status}; only queued or running jobs can be cancelled")
    request.app.state.jobs.cancel(job_id)
    session.refresh(job)
    return JobOut.model_validate(job, from_attributes=True)


def _roster(session: SessionDep, site: SiteRow, roster_id: str) -> RosterRow:
    return owned(session, RosterRow, roster_id, site, "roster")


@router.get("/rosters", response_model=list[RosterSummary], tags=["rosters"])
def list_rosters(site: SiteDep, session: SessionDep) -> list[RosterSummary]:
    rows = session.scalars(sa.select(RosterRow).where(RosterRow.site_id == site.id).order_by(RosterRow.created_at))
    return [RosterSummary.model_validate(row, from_attributes=True) for row in rows]


@router.get("/rosters/{roster_id}", response_model=RosterOut, tags=["rosters"])
def get_roster(site: SiteDep, session: SessionDep, roster_id: str) -> RosterOut:
    return RosterOut.model_validate(_roster(session, site, roster_id), from_attributes=True)


@router.get(
    "/rosters/{roster_id}/roster.csv",
    tags=["rosters"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per shift."}},
)
def roster_csv(site: SiteDep, session: SessionDep, roster_id: str) -> Response:
    frame = roster_frame(_roster(session, site, roster_id).shifts)
    return Response(frame.to_csv(index=False), media_type="text/csv")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/rosters/{roster_id}/roster.xlsx",
    tags=["rosters"],
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "One sheet per week, employees by days."}},
)
def roster_xlsx(site: SiteDep, session: SessionDep, roster_id: str) -> Response:
    roster = _roster(session, site, roster_id)
    scenario = scenario_from_dict(roster.scenario)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.xlsx"
        write_roster_xlsx(scenario, roster_frame(roster.shifts), path)
        content = io.BytesIO(path.read_bytes())
    return Response(content.getvalue(), media_type=XLSX)


def _transition(session: SessionDep, site: SiteRow, roster_id: str, allowed: str, target: str) -> RosterRow:
    roster = _roster(session, site, roster_id)
    if roster.status != allowed:
        raise HTTPException(409, f"roster {roster_id!r} is {roster.status}; only a {allowed} roster can be {target}")
    return roster


@router.post(
    "/rosters/{roster_id}/publish",
    response_model=RosterSummary,
    tags=["rosters"],
    responses={409: {"description": "Not a draft, or it would replace a locked roster."}},
)
def publish_roster(site: SiteDep, session: SessionDep, roster_id: str) -> RosterSummary:
    """Publish a draft; a published roster it overlaps is superseded in the same transaction."""
    roster = _transition(session, site, roster_id, "draft", "published")
    end = roster.start_date.toordinal() + roster.days
    overlapping = [
        other
        for other in session.scalars(
            sa.select(RosterRow).where(RosterRow.site_id == site.id, RosterRow.status.in_(("published", "locked")))
        )
        if other.start_date.toordinal() < end
        and roster.start_date.toordinal() < other.start_date.toordinal() + other.days
    ]
    locked = [other.id for other in overlapping if other.status == "locked"]
    if locked:
        raise HTTPException(409, f"roster {roster_id!r} overlaps locked roster(s) {locked}")
    for other in overlapping:
        other.status = "superseded"
    roster.status, roster.published_at = "published", utc_now()
    session.commit()
    return RosterSummary.model_validate(roster, from_attributes=True)


@router.post("/rosters/{roster_id}/lock", response_model=RosterSummary, tags=["rosters"], responses={409: {}})
def lock_roster(site: SiteDep, session: SessionDep, roster_id: str) -> RosterSummary:
    """Lock a published roster (e.g. for payroll): it can no longer be superseded or re-rostered."""
    roster = _transition(session, site, roster_id, "published", "locked")
    roster.status, roster.locked_at = "locked", utc_now()
    session.commit()
    return RosterSummary.model_validate(roster, from_attributes=True)


@router.post(
    "/rosters/{roster_id}/re-roster",
    response_model=JobOut,
    status_code=202,
    tags=["rosters"],
    responses={409: {"description": "Only a published roster can be re-rostered."}},
)
def re_roster(site: SiteDep, session: SessionDep, roster_id: str, body: AbsenceRequest, request: Request) -> JobOut:
    """Queue a re-roster after an absence: a new draft that changes as few shifts as it can."""
    roster = _transition(session, site, roster_id, "published", "re-rostered")
    try:  # fail fast on an unknown employee or dates outside the roster
        with_absence(scenario_from_dict(roster.scenario), roster_frame(roster.shifts), body.employee_id, body.dates)
    except ScenarioError as exc:
        raise HTTPException(422, str(exc)) from None
    payload = {"roster_id": roster.id, "absence": body.model_dump(mode="json")}
    return _queue(session, site, "re_roster", payload)


@router.post("/rosters/validate", response_model=ValidateOut, tags=["rosters"])
def validate(site: SiteDep, session: SessionDep, body: ValidateRequest) -> ValidateOut:
    """Check a roster made elsewhere against the site's rules and employees (the independent validator)."""
    try:
        scenario = scenario_from_dict(site_scenario_data(session, site, body.start_date, body.days))
    except (ServiceError, ScenarioError) as exc:
        raise HTTPException(422, str(exc)) from None
    violations = validate_roster(scenario, roster_frame([s.model_dump() for s in body.shifts]))
    return ValidateOut(valid=not violations, violations=violations_json(violations))
