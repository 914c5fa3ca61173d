"""Roster domain: the scenario a planner gives (site, templates, employees, rules, requirement).

Times are local wall-clock times of the site. A day is 24 h on the interval grid; shifts may end on the next
date (overnight). Every model here rejects unknown fields, so a typo in a scenario file is an error naming it.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


def minutes_of(value: dt.time) -> int:
    """Minutes after midnight of a clock time."""
    return value.hour * 60 + value.minute


class BreakRule(_Model):
    """A break the solver places inside a shift, on the interval grid, against intraday need."""

    min_shift_min: int = Field(361, description="Shifts at least this long get the break ('over 6 h').")
    length_min: int = Field(30, gt=0)
    earliest_after_start_min: int = Field(120, ge=0, description="Earliest break start after the shift start.")
    latest_end_before_end_min: int = Field(120, ge=0, description="The break ends at least this long before the end.")
    paid: bool = False


class RuleSet(_Model):
    """Labour and business rules. Every field is optional: presets fill them, sites and contracts override them.

    Weeks are 7-day blocks from the first date of the horizon. Minutes are paid minutes.
    """

    standard_minutes_per_week: int | None = Field(None, ge=0, description="Above this, time is overtime.")
    min_minutes_per_week: int | None = Field(None, ge=0)
    max_minutes_per_week: int | None = Field(None, ge=0)
    min_minutes_total: int | None = Field(None, ge=0, description="Over the whole horizon.")
    max_minutes_total: int | None = Field(None, ge=0, description="Over the whole horizon.")
    max_average_minutes_per_week: int | None = Field(None, ge=0, description="Average over the horizon (EU 48 h).")
    max_overtime_minutes_per_month: int | None = Field(
        None,
        ge=0,
        description="Paid time over the horizon may exceed its standard time by this, prorated per 30 days. "
        "Standard time = standard week x full weeks + a fifth of it per remaining day (at most 5).",
    )
    max_shift_minutes: int | None = Field(None, gt=0, description="Longest shift (standard day + daily overtime).")
    max_days_per_week: int | None = Field(None, ge=0, le=7)
    max_consecutive_days: int | None = Field(None, ge=1)
    min_consecutive_days: int | None = Field(None, ge=1)
    min_consecutive_rest_days: int | None = Field(None, ge=1)
    edge_runs_exempt: bool | None = Field(
        None, description="Runs of work or rest touching the horizon start or end are exempt from the minimums."
    )
    min_rest_minutes: int | None = Field(None, ge=0, description="Between the end of a shift and the next start.")
    max_weekends: int | None = Field(None, ge=0, description="Weekends with any work, over the horizon.")
    max_nights: int | None = Field(None, ge=0, description="Night shifts over the horizon.")
    allowed_templates: list[str] | None = None
    max_shifts_per_template: dict[str, int] | None = None
    forbidden_successions: list[tuple[str, str]] | None = Field(
        None, description="(template, template) pairs: the second may not be worked the day after the first."
    )
    meal_break: BreakRule | None = None
    weekend_days: list[int] | None = Field(None, description="Weekday numbers counted as weekend (0 = Monday).")
    night_start: dt.time | None = None
    night_end: dt.time | None = None
    night_min_overlap_min: int | None = Field(
        None, ge=1, description="Overlap with the night window that makes a shift a night shift."
    )
    handover_min: int | None = Field(None, ge=0, description="The incoming person starts this much early (paid).")

    def merged(self, override: RuleSet | None) -> RuleSet:
        """These rules with every field that ``override`` sets explicitly replaced (an explicit null switches a
        rule off, e.g. ``meal_break: null``)."""
        if override is None:
            return self
        values = self.model_dump()
        values.update(override.model_dump(exclude_unset=True))
        return RuleSet.model_validate(values)


class ShiftTemplate(_Model):
    """A kind of shift: a start window on the grid, one or more lengths, the days it may be used."""

    id: str
    earliest_start: dt.time
    latest_start: dt.time | None = None
    start_step_min: int | None = Field(None, gt=0, description="Default: the site's interval.")
    length_min: int | list[int] = Field(description="Shift length(s) in minutes, breaks included.")
    weekdays: list[int] | None = Field(None, description="0 = Monday; default every day.")
    skills: list[str] | None = Field(None, description="Skills this template may be worked on; default any.")
    night: bool | None = Field(None, description="Default: from the night window of the rules.")
    breaks: list[BreakRule] | None = Field(None, description="Default: the rules' meal break if the shift is long.")

    @property
    def lengths(self) -> list[int]:
        return [self.length_min] if isinstance(self.length_min, int) else list(self.length_min)

    @model_validator(mode="after")
    def _check(self) -> ShiftTemplate:
        if any(length <= 0 or length > 24 * 60 for length in self.lengths):
            raise ValueError(f"length_min of template {self.id!r} must be between 1 and 1440 minutes")
        if self.latest_start is not None and self.latest_start < self.earliest_start:
            raise ValueError(f"latest_start of template {self.id!r} is before its earliest_start")
        return self


class TimeOff(_Model):
    """Approved time off or unavailability (hard): from ``start`` to ``end`` local time, or whole dates."""

    start: dt.datetime
    end: dt.datetime

    @model_validator(mode="after")
    def _check(self) -> TimeOff:
        if self.end <= self.start:
            raise ValueError("time off must end after it starts")
        return self


class Request(_Model):
    """A weighted wish: to work (``on``) or not (``off``) on a date, optionally a given template."""

    date: dt.date
    kind: Literal["on", "off"]
    template: str | None = None
    weight: int = Field(1, ge=0)


class Pin(_Model):
    """A fixed assignment on a date: a template (optionally a start time and skill)."""

    date: dt.date
    template: str
    start: dt.time | None = None
    skill: str | None = None


class Employee(_Model):
    id: str
    name: str = ""
    skills: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=lambda: ["agent"])
    gender: Literal["F", "M"] | None = None
    team: str | None = None
    hourly_cost: float = Field(0.0, ge=0)
    target_minutes_total: int | None = Field(None, ge=0, description="Contract hours over the horizon (fairness).")
    rules: RuleSet | None = Field(None, description="Contract: overrides of the site rules for this person.")
    days_off: list[dt.date] = Field(default_factory=list, description="Dates with no work (approved leave).")
    time_off: list[TimeOff] = Field(default_factory=list)
    requests: list[Request] = Field(default_factory=list)
    pinned: list[Pin] = Field(default_factory=list)
    pinned_rest_days: list[dt.date] = Field(default_factory=list, description="Rest days fixed by the leader.")

    @field_validator("id")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("employee id must not be empty")
        return value


class IntervalRequirement(_Model):
    """Required (and optionally maximum) headcount on a skill in one interval."""

    interval_start: dt.datetime
    skill: str
    required: float = Field(ge=0)
    maximum: int | None = Field(None, ge=0)


class ShiftDemand(_Model):
    """Wanted number of people on a template on a date, with penalties per person short and over."""

    date: dt.date
    template: str
    required: int = Field(ge=0)
    weight_under: int = Field(100, ge=0)
    weight_over: int = Field(1, ge=0)


class RoleRules(_Model):
    """Leaders and supervisors on duty: soft rules with their own weights."""

    leader_role: str = "shift_leader"
    leader_whenever_on_duty: bool = False
    leader_per_team: bool = Field(
        False, description="With leader_whenever_on_duty: a leader of the same team (area) whenever a member of a "
        "team is on duty; people without a team are not counted.",
    )
    supervisor_role: str = "supervisor"
    agents_per_supervisor: int | None = Field(None, gt=0)
    agent_role: str = "agent"


class Weights(_Model):
    """Objective weights (integers). Coverage weights are per person per interval of the grid."""

    under_coverage: int = 1000
    under_coverage_steps: int = Field(
        4, ge=1, description="Convexity: the k-th missing person costs k times more, up to this many."
    )
    over_coverage: int = 20
    over_maximum: int = 5000
    paid_hour: int = 2
    overtime_hour: int = 20
    cost_per_currency: int = 0
    request: int = 50
    contract_deviation_hour: int = 10
    weekend_fairness: int = 100
    night_fairness: int = 100
    stable_start: int = 20
    isolated_rest_day: int = 30
    leader_missing: int = 2000
    supervisor_missing: int = 500
    change: int = 2000


class Site(_Model):
    name: str = "site"
    business: Literal["call_centre", "spa", "store", "generic"] = "generic"
    timezone: str = "Asia/Shanghai"
    interval_min: int = Field(30, description="Planning interval: 15, 30 or 60 minutes.")
    opening_hours: dict[dt.date, tuple[dt.time, dt.time]] | None = Field(
        None, description="Per date (open, close); outside them no requirement applies."
    )

    @field_validator("interval_min")
    @classmethod
    def _grid(cls, value: int) -> int:
        if value <= 0 or 1440 % value:
            raise ValueError(f"interval_min must divide the day (e.g. 15, 30, 60), got {value}")
        return value


class Activity(_Model):
    """An off-queue activity inside shifts: team meeting, training, coaching. Paid, away from the queue.

    On matching dates, every shift worked on one of ``skills`` that can hold the block gets it: ``length_min``
    inside both the shift and the window ``earliest_start``-``latest_end``, clear of the shift's meal-break window
    (so it never clashes with the break). The solver places the blocks against intraday need, like breaks.
    """

    id: str
    length_min: int = Field(gt=0, le=600)
    earliest_start: dt.time
    latest_end: dt.time
    weekdays: list[int] | None = Field(None, description="0 = Monday; default every day (with ``dates``: either).")
    dates: list[dt.date] | None = None
    skills: list[str] | None = Field(None, description="Shifts on these skills hold it; default any.")

    @model_validator(mode="after")
    def _check(self) -> Activity:
        if minutes_of(self.latest_end) - minutes_of(self.earliest_start) < self.length_min:
            raise ValueError(f"activity {self.id!r}: the window is shorter than length_min")
        return self

    def on(self, date: dt.date) -> bool:
        """Whether the activity takes place on ``date``."""
        if self.weekdays is None and self.dates is None:
            return True
        return (self.weekdays is not None and date.weekday() in self.weekdays) or date in (self.dates or [])


class PublishedShift(_Model):
    """A shift of the published roster (for re-rostering with few changes)."""

    employee_id: str
    date: dt.date
    template: str
    start: dt.time
    skill: str | None = None


class Scenario(_Model):
    """Everything the roster engine needs."""

    site: Site = Field(default_factory=Site)
    start_date: dt.date
    days: int = Field(ge=1, le=400)
    preset: Literal["cn", "eu", "none"] = "cn"
    rules: RuleSet | None = None
    roles: RoleRules = Field(default_factory=RoleRules)
    weights: Weights = Field(default_factory=Weights)
    templates: list[ShiftTemplate]
    employees: list[Employee]
    requirements: list[IntervalRequirement] = Field(default_factory=list)
    shift_demand: list[ShiftDemand] = Field(default_factory=list)
    activities: list[Activity] = Field(default_factory=list)
    published: list[PublishedShift] = Field(default_factory=list)

    @property
    def dates(self) -> list[dt.date]:
        return [self.start_date + dt.timedelta(days=i) for i in range(self.days)]

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        template_ids = [t.id for t in self.templates]
        duplicated = {t for t in template_ids if template_ids.count(t) > 1}
        if duplicated:
            raise ValueError(f"templates: duplicated id(s) {sorted(duplicated)}")
        employee_ids = [e.id for e in self.employees]
        duplicated = {e for e in employee_ids if employee_ids.count(e) > 1}
        if duplicated:
            raise ValueError(f"employees: duplicated id(s) {sorted(duplicated)}")
        known = set(template_ids)
        for employee in self.employees:
            for pin in employee.pinned:
                if pin.template not in known:
                    raise ValueError(f"employees[{employee.id}].pinned: unknown template {pin.template!r}")
            for request in employee.requests:
                if request.template is not None and request.template not in known:
                    raise ValueError(f"employees[{employee.id}].requests: unknown template {request.template!r}")
        activity_ids = [a.id for a in self.activities]
        if len(set(activity_ids)) < len(activity_ids):
            duplicated = sorted({a for a in activity_ids if activity_ids.count(a) > 1})
            raise ValueError(f"activities: duplicated id(s) {duplicated}")
        for demand in self.shift_demand:
            if demand.template not in known:
                raise ValueError(f"shift_demand: unknown template {demand.template!r} on {demand.date}")
        return self
