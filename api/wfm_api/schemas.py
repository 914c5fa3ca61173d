"""Request and response bodies. Site data reuses the wfm domain models, so the API accepts exactly what the
roster engine understands and rejects unknown fields by name."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wfm.plan.demand import DemandSpec, Targets
from wfm.roster.domain import Activity, IntervalRequirement, RoleRules, RuleSet, ShiftDemand, Weights

SITE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfig(_Body):
    """How one uploaded history is forecast."""

    model: str = Field("auto", description="Forecast model: auto, daily_profile, seasonal_naive, historical_average.")
    country: str | None = Field("CN", description="Public holidays of this country are forecast drivers.")


class SiteConfig(_Body):
    """A site: its business, clock, rules and how its demand becomes a requirement."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Hotline Shanghai",
                    "business": "call_centre",
                    "timezone": "Asia/Shanghai",
                    "interval_min": 30,
                    "preset": "cn",
                    "rules": {"max_consecutive_days": 6, "min_rest_minutes": 660},
                    "demand": [
                        {
                            "skill": "inbound",
                            "method": "erlang_a",
                            "source": "calls",
                            "patience_s": 60,
                            "targets": {"service_level": 0.8, "answer_s": 20, "shrinkage": 0.3},
                        }
                    ],
                    "sources": {"calls": {"model": "auto", "country": "CN"}},
                }
            ]
        },
    )
    name: str = Field("", max_length=200)
    business: Literal["call_centre", "spa", "store", "generic"] = "generic"
    timezone: str = "Asia/Shanghai"
    interval_min: Literal[15, 30, 60] = 30
    opening_hours: dict[dt.date, tuple[dt.time, dt.time]] | None = None
    preset: Literal["cn", "eu", "none"] = "cn"
    rules: RuleSet | None = None
    roles: RoleRules = Field(default_factory=RoleRules)
    weights: Weights = Field(default_factory=Weights)
    activities: list[Activity] = Field(default_factory=list, max_length=50, description="Meetings, training.")
    demand: list[DemandSpec] = Field(default_factory=list, max_length=50)
    sources: dict[str, SourceConfig] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
        return value


class SiteOut(BaseModel):
    id: str
    config: SiteConfig
    employees: int
    shift_templates: int
    histories: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime


class UpsertResult(BaseModel):
    created: int
    updated: int


class HistoryOut(BaseModel):
    source: str
    interval_min: int
    first_interval: dt.datetime
    last_interval: dt.datetime
    intervals: int


class EventsOut(BaseModel):
    source: str
    days: int
    drivers: list[str]


class ForecastRequest(_Body):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"source": "calls", "start_date": "2024-03-04", "days": 7}]}
    )
    source: str = Field(description="An uploaded history.")
    start_date: dt.date
    days: int = Field(7, ge=1, le=92)
    model: str | None = Field(None, description="Default: the site's model for this source.")


class ForecastOut(BaseModel):
    id: str
    source: str
    model: str
    start_date: dt.date
    days: int
    rows: list[dict]


class StaffingInterval(_Body):
    interval_start: dt.datetime | None = None
    volume: float = Field(ge=0, le=1e7, description="Contacts offered in the interval.")
    aht_s: float = Field(gt=0, le=86400, description="Average handle time, seconds.")


class StaffingRequest(_Body):
    """Erlang C (or Erlang A with ``patience_s``) per interval."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "interval_min": 30,
                    "patience_s": 60,
                    "targets": {"service_level": 0.8, "answer_s": 20, "shrinkage": 0.3},
                    "intervals": [{"interval_start": "2024-03-04T09:00", "volume": 120, "aht_s": 240}],
                }
            ]
        },
    )
    interval_min: float = Field(30, ge=1, le=1440)
    patience_s: float | None = Field(None, gt=0, le=86400, description="Mean patience: Erlang A; absent: Erlang C.")
    targets: Targets = Field(default_factory=Targets)
    intervals: list[StaffingInterval] = Field(min_length=1, max_length=50_000)


class StaffingRow(BaseModel):
    interval_start: dt.datetime | None
    volume: float
    aht_s: float
    agents: int = Field(description="Agents on the phones needed for the targets.")
    scheduled: int = Field(description="Agents to schedule after shrinkage.")
    service_level: float | None
    asa_s: float | None
    p_abandon: float | None
    occupancy: float | None


class StaffingOut(BaseModel):
    method: Literal["erlang_c", "erlang_a"]
    intervals: list[StaffingRow]


class RosterJobRequest(_Body):
    """A roster for ``days`` from ``start_date``. The requirement is given here, or forecast from the site's
    histories through its demand settings when ``requirements`` and ``shift_demand`` are both absent."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "start_date": "2024-03-04",
                    "days": 7,
                    "time_limit_s": 30,
                    "requirements": [{"interval_start": "2024-03-04T09:00", "skill": "inbound", "required": 3}],
                }
            ]
        },
    )
    start_date: dt.date
    days: int = Field(7, ge=1, le=62)
    time_limit_s: float = Field(60, gt=0)
    requirements: list[IntervalRequirement] | None = Field(None, max_length=200_000)
    shift_demand: list[ShiftDemand] | None = Field(None, max_length=100_000)


class AbsenceRequest(_Body):
    """An absence in a published roster: the employee is off on these dates; others stand in with few changes."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"employee_id": "A001", "dates": ["2024-03-05"]}]}
    )
    employee_id: str
    dates: list[dt.date] = Field(min_length=1, max_length=62)
    time_limit_s: float = Field(30, gt=0)


class JobOut(BaseModel):
    id: str
    kind: Literal["roster", "re_roster"]
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: dict | None = Field(None, description="objective, bound and elapsed_s of the search so far")
    error: str | None
    roster_id: str | None
    attempts: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class RosterShift(_Body):
    employee_id: str
    date: dt.date
    start: dt.datetime
    end: dt.datetime
    skill: str = ""
    role: str = ""
    breaks: str = Field("", description="Breaks as HH:MM-HH:MM, several separated by ';'.")
    activities: str = Field("", description="Off-queue activities as 'id HH:MM-HH:MM', separated by ';'.")
    paid_minutes: int = Field(ge=0, le=1440)
    template: str


class RosterSummary(BaseModel):
    id: str
    status: Literal["draft", "published", "locked", "superseded"]
    start_date: dt.date
    days: int
    based_on: str | None
    job_id: str | None
    created_at: dt.datetime
    published_at: dt.datetime | None
    locked_at: dt.datetime | None


class RosterOut(RosterSummary):
    shifts: list[RosterShift]
    summary: dict = Field(description="Objective, bound, rule violations, unmet demand, changes (re-roster).")


class ValidateRequest(_Body):
    """A roster made elsewhere, checked against the site's rules and employees."""

    start_date: dt.date
    days: int = Field(ge=1, le=62)
    shifts: list[RosterShift] = Field(max_length=100_000)


class ViolationOut(BaseModel):
    rule: str
    employee_id: str
    date: str
    message: str


class ValidateOut(BaseModel):
    valid: bool
    violations: list[ViolationOut]
