"""What the endpoints and the worker processes do with stored site data, in terms of wfm service functions:
the scenario a site's data makes, the roster or plan solve, and roster rows as stored JSON."""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from wfm.forecast import History, events_from_frame, history_from_frame
from wfm.plan.pipeline import plan_from_dict, run_plan
from wfm.roster import Progress, RosterResult, Scenario, SolveSettings, solve_roster
from wfm.roster.io import scenario_from_dict, summary_of
from wfm.roster.tables import ROSTER_COLUMNS
from wfm.roster.validate import Violation, validate_roster
from wfm_api.db import EmployeeRow, EventsRow, HistoryRow, ShiftTemplateRow, SiteRow
from wfm_api.schemas import RosterJobRequest, SiteConfig


class ServiceError(ValueError):
    """A request that cannot be served as asked; the message names the field (answered with 422)."""


def parse_history_csv(text: str, interval_min: int, timezone: str) -> History:
    """An uploaded history CSV (``timestamp,volume[,aht_s]``) on the site's interval grid."""
    try:
        frame = pd.read_csv(io.StringIO(text), dtype={"timestamp": str, "interval_start": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ServiceError(f"history: not a readable CSV ({exc})") from None
    return history_from_frame(frame, interval_min=interval_min, timezone=timezone)


def parse_events_csv(text: str) -> pd.DataFrame:
    """An uploaded daily driver file (``date`` + numeric columns such as ``promotion``, ``tv_grp``)."""
    try:
        frame = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ServiceError(f"events: not a readable CSV ({exc})") from None
    return events_from_frame(frame)


def source_events(session: Session, site: SiteRow) -> dict[str, str]:
    """The uploaded driver files of a site, by demand series."""
    rows = session.scalars(sa.select(EventsRow).where(EventsRow.site_id == site.id))
    return {row.source: row.csv for row in rows}


def site_scenario_data(session: Session, site: SiteRow, start_date: dt.date, days: int) -> dict:
    """The scenario (as a dict, no requirement yet) that a site's stored data makes for a horizon."""
    config = SiteConfig.model_validate(site.config)
    templates = session.scalars(
        sa.select(ShiftTemplateRow.data).where(ShiftTemplateRow.site_id == site.id).order_by(ShiftTemplateRow.position)
    ).all()
    employees = session.scalars(
        sa.select(EmployeeRow.data).where(EmployeeRow.site_id == site.id).order_by(EmployeeRow.external_id)
    ).all()
    if not templates:
        raise ServiceError("shift_templates: the site has none; PUT /sites/{site}/shift-templates first")
    if not employees:
        raise ServiceError("employees: the site has none; PUT /sites/{site}/employees first")
    return {
        "site": {
            "name": config.name or site.id,
            "business": config.business,
            "timezone": config.timezone,
            "interval_min": config.interval_min,
            "opening_hours": config.model_dump(mode="json")["opening_hours"],
        },
        "start_date": start_date.isoformat(),
        "days": days,
        "preset": config.preset,
        "rules": config.rules.model_dump(mode="json", exclude_unset=True) if config.rules else None,
        "roles": config.roles.model_dump(mode="json"),
        "weights": config.weights.model_dump(mode="json"),
        "templates": list(templates),
        "employees": list(employees),
        "activities": [a.model_dump(mode="json", exclude_unset=True) for a in config.activities],
    }


def roster_records(roster: pd.DataFrame) -> list[dict]:
    """Roster rows as JSON-ready dicts (numpy numbers become plain ones)."""
    return json.loads(roster.to_json(orient="records"))


def roster_frame(shifts: list[dict]) -> pd.DataFrame:
    """Stored or posted shifts as the roster table the validator and exports read (ISO text times)."""
    rows = []
    for shift in shifts:
        row = dict(shift)
        for key in ("date", "start", "end"):
            value = row.get(key)
            if isinstance(value, dt.date):
                row[key] = value.isoformat(timespec="minutes") if isinstance(value, dt.datetime) else value.isoformat()
        rows.append(row)
    return pd.DataFrame(rows, columns=ROSTER_COLUMNS)


def violations_json(violations: list[Violation]) -> list[dict]:
    return [v.__dict__ for v in violations]


def check_demand(session: Session, site: SiteRow, request: RosterJobRequest) -> dict[str, str]:
    """A roster job needs a requirement: given in the request, or forecast through the site's demand settings
    from uploaded histories. Returns those histories (CSV text by source) when they are needed."""
    if request.requirements is not None or request.shift_demand is not None:
        return {}
    config = SiteConfig.model_validate(site.config)
    if not config.demand:
        raise ServiceError("requirements: give the interval requirement, or set the site's 'demand' to forecast it")
    rows = session.scalars(sa.select(HistoryRow).where(HistoryRow.site_id == site.id))
    histories = {row.source: row.csv for row in rows}
    for spec in config.demand:
        if spec.source is not None and spec.source not in histories:
            raise ServiceError(
                f"demand.source: no history uploaded for {spec.source!r} (PUT .../history/{spec.source})"
            )
    return histories


@dataclass
class RosterJobInput:
    """What a roster job reads from the database, so that the solve itself holds no connection."""

    scenario_data: dict
    config: SiteConfig
    histories: dict[str, str]
    events: dict[str, str]


def roster_job_input(session: Session, site: SiteRow, request: RosterJobRequest) -> RosterJobInput:
    return RosterJobInput(
        site_scenario_data(session, site, request.start_date, request.days),
        SiteConfig.model_validate(site.config),
        check_demand(session, site, request),
        source_events(session, site),
    )


def solve_roster_job(
    job: RosterJobInput,
    request: RosterJobRequest,
    settings: SolveSettings,
    progress: Callable[[Progress], None],
) -> tuple[Scenario, RosterResult, list[Violation]]:
    """A roster for the request: on the given requirement, or through the whole plan pipeline (forecast from
    the site's histories, staffing by its demand settings) when none is given."""
    data = dict(job.scenario_data)
    if request.requirements is not None or request.shift_demand is not None:
        data["requirements"] = [r.model_dump(mode="json") for r in request.requirements or []]
        data["shift_demand"] = [d.model_dump(mode="json") for d in request.shift_demand or []]
        scenario = scenario_from_dict(data)
        result = solve_roster(scenario, settings, progress)
        return scenario, result, validate_roster(scenario, result.roster)
    config = job.config
    with tempfile.TemporaryDirectory(prefix="wfm-plan-") as folder:
        sources = {}
        for spec in config.demand:
            if spec.source is None or spec.source in sources:
                continue
            (Path(folder) / f"{spec.source}.csv").write_text(job.histories[spec.source])
            source = config.sources.get(spec.source)
            sources[spec.source] = {"history": f"{spec.source}.csv", **(source.model_dump() if source else {})}
            if spec.source in job.events:
                (Path(folder) / f"{spec.source}.events.csv").write_text(job.events[spec.source])
                sources[spec.source]["events"] = f"{spec.source}.events.csv"
        data.update(sources=sources, demand=[s.model_dump(mode="json") for s in config.demand])
        plan = plan_from_dict(data, Path(folder))
        result = run_plan(plan, settings=settings, progress=progress, simulate=False)
    return result.scenario, result.roster, result.violations


def roster_payload(scenario: Scenario, result: RosterResult, violations: list[Violation]) -> dict:
    """What a finished job stores: the scenario (only what was set, so that reading it back gives the same rules:
    a dumped default of None would read as an explicit "rule off"), the shifts and the summary."""
    return {
        "scenario": scenario.model_dump(mode="json", exclude_unset=True),
        "shifts": roster_records(result.roster),
        "summary": json.loads(json.dumps(summary_of(result, violations), default=str)),
    }
