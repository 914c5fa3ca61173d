"""Sites and what HR systems push into them: employees, time off, shift templates, histories; forecasts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import pandas as pd
import sqlalchemy as sa
from fastapi import APIRouter, Body, HTTPException, Path, Response, UploadFile, status

from wfm.forecast import ForecastInputError, forecast_demand
from wfm.roster.domain import Employee, ShiftTemplate, TimeOff
from wfm_api.db import EmployeeRow, EventsRow, ForecastRow, HistoryRow, ShiftTemplateRow, SiteRow
from wfm_api.deps import CallerDep, SessionDep, SiteDep, SiteId, owned
from wfm_api.schemas import (
    EventsOut,
    ForecastOut,
    ForecastRequest,
    HistoryOut,
    SiteConfig,
    SiteOut,
    UpsertResult,
)
from wfm_api.security import grant_site
from wfm_api.services import ServiceError, parse_events_csv, parse_history_csv, source_events

router = APIRouter(prefix="/sites", tags=["sites"])
EMPLOYEE_EXAMPLES = {
    "agents": {
        "summary": "Two agents, one part-time with approved leave",
        "value": [
            {"id": "A001", "name": "Li Na", "skills": ["inbound", "outbound"], "hourly_cost": 30},
            {
                "id": "A002",
                "name": "Wang Wei",
                "skills": ["inbound"],
                "rules": {"allowed_templates": ["part"], "max_minutes_per_week": 1500},
                "days_off": ["2026-03-04"],
                "requests": [{"date": "2026-03-07", "kind": "off", "weight": 5}],
            },
        ],
    }
}
TEMPLATE_EXAMPLES = {
    "call_centre": {
        "summary": "Early and late 9-h shifts, a part-time 4.5-h shift",
        "value": [
            {"id": "early", "earliest_start": "07:30", "latest_start": "09:00", "length_min": 540},
            {"id": "late", "earliest_start": "12:00", "latest_start": "13:30", "length_min": 540},
            {"id": "part", "earliest_start": "09:00", "latest_start": "17:30", "length_min": 270},
        ],
    }
}
SourceName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Name of the demand series.")]


def _site_out(session: SessionDep, site: SiteRow) -> SiteOut:
    def count(table: type) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(table).where(table.site_id == site.id)) or 0

    histories = session.scalars(sa.select(HistoryRow.source).where(HistoryRow.site_id == site.id)).all()
    return SiteOut(
        id=site.id,
        config=SiteConfig.model_validate(site.config),
        employees=count(EmployeeRow),
        shift_templates=count(ShiftTemplateRow),
        histories=sorted(histories),
        created_at=site.created_at,
        updated_at=site.updated_at,
    )


@router.get("", response_model=list[SiteOut], summary="The sites this key may use")
def list_sites(session: SessionDep, caller: CallerDep) -> list[SiteOut]:
    rows = session.scalars(sa.select(SiteRow).where(SiteRow.id.in_(caller.sites)).order_by(SiteRow.id)).all()
    return [_site_out(session, row) for row in rows]


@router.put(
    "/{site_id}",
    response_model=SiteOut,
    summary="Create or update a site",
    responses={409: {"description": "The id belongs to a site of another key."}},
)
def put_site(
    site_id: SiteId, config: SiteConfig, session: SessionDep, caller: CallerDep, response: Response
) -> SiteOut:
    stored = config.model_dump(mode="json", exclude_unset=True)  # read back, unset rules stay unset
    site = session.get(SiteRow, site_id)
    if site is not None and site_id not in caller.sites:
        raise HTTPException(409, f"site id {site_id!r} is taken; choose another")
    if site is None:
        site = SiteRow(id=site_id, business=config.business, config=stored)
        session.add(site)
        grant_site(session, caller, site_id)
        response.status_code = status.HTTP_201_CREATED
    else:
        site.business, site.config = config.business, stored
    session.commit()
    return _site_out(session, site)


@router.get("/{site_id}", response_model=SiteOut, summary="A site")
def get_site(site: SiteDep, session: SessionDep) -> SiteOut:
    return _site_out(session, site)


@router.put(
    "/{site_id}/employees",
    response_model=UpsertResult,
    tags=["employees"],
    summary="Bulk upsert employees by their HR id",
)
def upsert_employees(
    site: SiteDep,
    session: SessionDep,
    employees: Annotated[list[Employee], Body(max_length=20_000, openapi_examples=EMPLOYEE_EXAMPLES)],
) -> UpsertResult:
    ids = [e.id for e in employees]
    duplicated = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) < len(ids) else []
    if duplicated:
        raise HTTPException(422, f"employees: duplicated id(s) {duplicated[:10]}")
    existing = {
        row.external_id: row for row in session.scalars(sa.select(EmployeeRow).where(EmployeeRow.site_id == site.id))
    }
    created = 0
    for employee in employees:
        data = employee.model_dump(mode="json", exclude_unset=True)
        data["id"] = employee.id
        row = existing.get(employee.id)
        if row is None:
            session.add(EmployeeRow(site_id=site.id, external_id=employee.id, data=data))
            created += 1
        else:
            row.data = data
    session.commit()
    return UpsertResult(created=created, updated=len(employees) - created)


@router.get("/{site_id}/employees", response_model=list[Employee], tags=["employees"], summary="Employees")
def list_employees(site: SiteDep, session: SessionDep) -> list[dict]:
    query = sa.select(EmployeeRow.data).where(EmployeeRow.site_id == site.id).order_by(EmployeeRow.external_id)
    return list(session.scalars(query))


def _employee(session: SessionDep, site: SiteRow, employee_id: str) -> EmployeeRow:
    row = session.get(EmployeeRow, (site.id, employee_id))
    if row is None:
        raise HTTPException(404, f"employee {employee_id!r} not found in site {site.id!r}")
    return row


@router.get("/{site_id}/employees/{employee_id}", response_model=Employee, tags=["employees"], summary="An employee")
def get_employee(site: SiteDep, session: SessionDep, employee_id: str) -> dict:
    return _employee(session, site, employee_id).data


@router.delete("/{site_id}/employees/{employee_id}", status_code=204, tags=["employees"], summary="Remove")
def delete_employee(site: SiteDep, session: SessionDep, employee_id: str) -> None:
    session.delete(_employee(session, site, employee_id))
    session.commit()


@router.post(
    "/{site_id}/employees/{employee_id}/time-off",
    response_model=Employee,
    tags=["employees"],
    summary="Add approved time off (dates and/or periods)",
)
def add_time_off(
    site: SiteDep,
    session: SessionDep,
    employee_id: str,
    days_off: Annotated[list[dt.date], Body(max_length=400)] = (),
    periods: Annotated[list[TimeOff], Body(max_length=400)] = (),
) -> dict:
    row = _employee(session, site, employee_id)
    employee = Employee.model_validate(row.data)
    employee.days_off = sorted({*employee.days_off, *days_off})
    employee.time_off = [*employee.time_off, *periods]
    data = dict(row.data)
    data.update(
        days_off=[d.isoformat() for d in employee.days_off],
        time_off=[t.model_dump(mode="json") for t in employee.time_off],
    )
    row.data = data
    session.commit()
    return row.data


@router.put(
    "/{site_id}/shift-templates",
    response_model=list[ShiftTemplate],
    tags=["shift templates"],
    summary="Replace the site's shift templates",
)
def put_templates(
    site: SiteDep,
    session: SessionDep,
    templates: Annotated[list[ShiftTemplate], Body(min_length=1, max_length=500, openapi_examples=TEMPLATE_EXAMPLES)],
) -> list[ShiftTemplate]:
    ids = [t.id for t in templates]
    if len(set(ids)) < len(ids):
        raise HTTPException(422, f"shift templates: duplicated id(s) {sorted({i for i in ids if ids.count(i) > 1})}")
    session.execute(sa.delete(ShiftTemplateRow).where(ShiftTemplateRow.site_id == site.id))
    for position, template in enumerate(templates):
        data = template.model_dump(mode="json", exclude_unset=True)
        session.add(ShiftTemplateRow(site_id=site.id, template_id=template.id, position=position, data=data))
    session.commit()
    return templates


@router.get("/{site_id}/shift-templates", response_model=list[ShiftTemplate], tags=["shift templates"])
def list_templates(site: SiteDep, session: SessionDep) -> list[dict]:
    query = sa.select(ShiftTemplateRow.data).where(ShiftTemplateRow.site_id == site.id)
    return list(session.scalars(query.order_by(ShiftTemplateRow.position)))


@router.put(
    "/{site_id}/history/{source}",
    response_model=HistoryOut,
    tags=["history"],
    summary="Upload a demand history: a CSV file timestamp,volume[,aht_s] on the site's interval grid or finer",
)
def put_history(site: SiteDep, session: SessionDep, source: SourceName, file: UploadFile) -> HistoryOut:
    config = SiteConfig.model_validate(site.config)
    raw = file.file.read()
    try:
        text = raw.decode("utf-8-sig")
        history = parse_history_csv(text, config.interval_min, config.timezone)
    except UnicodeDecodeError:
        raise HTTPException(422, "file: the CSV must be UTF-8 text") from None
    except (ServiceError, ForecastInputError) as exc:
        raise HTTPException(422, f"file: {exc}") from None
    index = history.frame.index
    values = {
        "csv": text,
        "interval_min": history.interval_min,
        "first_interval": index[0].to_pydatetime().replace(tzinfo=None),
        "last_interval": index[-1].to_pydatetime().replace(tzinfo=None),
        "intervals": len(index),
    }
    row = session.get(HistoryRow, (site.id, source))
    if row is None:
        row = HistoryRow(site_id=site.id, source=source, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    session.commit()
    return HistoryOut.model_validate(row, from_attributes=True)


@router.put(
    "/{site_id}/events/{source}",
    response_model=EventsOut,
    tags=["history"],
    summary="Upload the daily forecast drivers of a demand series (CSV: date + numeric columns, e.g. promotion)",
)
def put_events(site: SiteDep, session: SessionDep, source: SourceName, file: UploadFile) -> EventsOut:
    try:
        text = file.file.read().decode("utf-8-sig")
        events = parse_events_csv(text)
    except UnicodeDecodeError:
        raise HTTPException(422, "file: the CSV must be UTF-8 text") from None
    except (ServiceError, ForecastInputError) as exc:
        raise HTTPException(422, f"file: {exc}") from None
    row = session.get(EventsRow, (site.id, source))
    if row is None:
        session.add(EventsRow(site_id=site.id, source=source, csv=text))
    else:
        row.csv = text
    session.commit()
    return EventsOut(source=source, days=len(events), drivers=list(events.columns))


@router.get("/{site_id}/history", response_model=list[HistoryOut], tags=["history"])
def list_histories(site: SiteDep, session: SessionDep) -> list[HistoryOut]:
    rows = session.scalars(sa.select(HistoryRow).where(HistoryRow.site_id == site.id).order_by(HistoryRow.source))
    return [HistoryOut.model_validate(row, from_attributes=True) for row in rows]


@router.post("/{site_id}/forecasts", response_model=ForecastOut, status_code=201, tags=["forecasts"])
def create_forecast(site: SiteDep, session: SessionDep, request: ForecastRequest) -> ForecastOut:
    """Forecast volume and handle time per interval from an uploaded history (runs in a worker thread)."""
    row = session.get(HistoryRow, (site.id, request.source))
    if row is None:
        raise HTTPException(404, f"source: no history {request.source!r} uploaded for site {site.id!r}")
    config = SiteConfig.model_validate(site.config)
    source = config.sources.get(request.source)
    model = request.model or (source.model if source else "auto")
    try:
        history = parse_history_csv(row.csv, row.interval_min, config.timezone)
        last = history.frame.index[-1].date()
        if request.start_date <= last:
            raise ServiceError(f"start_date: {request.start_date} is inside the history (it runs to {last})")
        horizon = (request.start_date - last).days - 1 + request.days
        if horizon > 366:
            raise ServiceError(f"start_date: {request.start_date} is more than a year after the history ends")
        events_text = source_events(session, site).get(request.source)
        events = parse_events_csv(events_text) if events_text else None
        country = source.country if source else "CN"
        result = forecast_demand(history, horizon, model=model, events=events, country=country)
    except (ServiceError, ForecastInputError) as exc:
        raise HTTPException(422, str(exc)) from None
    frame = result.frame
    stamps = pd.to_datetime(frame["interval_start"]).dt.tz_localize(None)
    first = pd.Timestamp(request.start_date)
    frame = frame[(stamps >= first) & (stamps < first + pd.Timedelta(days=request.days))]
    frame = frame.assign(interval_start=stamps[frame.index].dt.strftime("%Y-%m-%dT%H:%M"))
    rows = [{k: (None if pd.isna(v) else v) for k, v in record.items()} for record in frame.to_dict("records")]
    forecast = ForecastRow(
        id=uuid.uuid4().hex,
        site_id=site.id,
        source=request.source,
        model=result.model,
        start_date=request.start_date,
        days=request.days,
        rows=rows,
    )
    session.add(forecast)
    session.commit()
    return ForecastOut.model_validate(forecast, from_attributes=True)


@router.get("/{site_id}/forecasts/{forecast_id}", response_model=ForecastOut, tags=["forecasts"])
def get_forecast(site: SiteDep, session: SessionDep, forecast_id: str) -> ForecastOut:
    return ForecastOut.model_validate(owned(session, ForecastRow, forecast_id, site, "forecast"), from_attributes=True)
