"""Concrete shift options: every template expanded to each date, start time and length on the interval grid.

Times are minutes from midnight of the first date of the horizon; interval ``t`` covers
``[t * interval_min, (t + 1) * interval_min)``. An option covers the intervals between its start and end;
its break (if any) may start at any grid point of ``break_starts`` (interval indices) and lasts
``break_intervals`` intervals. Off-queue activities (``ActivityBlock``) are placed the same way, outside the
break window.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace

from wfm.roster.domain import Activity, BreakRule, Employee, RuleSet, Scenario, ShiftTemplate, minutes_of


@dataclass(frozen=True)
class ActivityBlock:
    """An activity a shift option holds: its possible start intervals and its length in intervals."""

    activity: str
    starts: tuple[int, ...]
    n_intervals: int


@dataclass(frozen=True)
class ShiftOption:
    index: int
    template: str
    day: int
    start_min: int
    end_min: int
    paid_min: int
    night: bool
    first_interval: int
    n_intervals: int
    break_starts: tuple[int, ...]
    break_intervals: int
    break_paid: bool
    activities: tuple[ActivityBlock, ...] = ()

    @property
    def length_min(self) -> int:
        return self.end_min - self.start_min

    @property
    def intervals(self) -> range:
        return range(self.first_interval, self.first_interval + self.n_intervals)

    def start_time(self) -> dt.time:
        minute = self.start_min % 1440
        return dt.time(minute // 60, minute % 60)


def _break_rule(template: ShiftTemplate, rules: RuleSet, length: int) -> BreakRule | None:
    candidates = template.breaks if template.breaks is not None else ([rules.meal_break] if rules.meal_break else [])
    eligible = [b for b in candidates if length >= b.min_shift_min]
    return max(eligible, key=lambda b: b.min_shift_min) if eligible else None


def is_night(start_min: int, end_min: int, rules: RuleSet) -> bool:
    """Whether a shift overlaps the night window by at least ``night_min_overlap_min``."""
    if rules.night_start is None or rules.night_end is None or rules.night_min_overlap_min is None:
        return False
    night_start, night_end = minutes_of(rules.night_start), minutes_of(rules.night_end)
    overlap = 0
    first_day = start_min // 1440 - 1
    for day in range(first_day, end_min // 1440 + 1):
        window_start = day * 1440 + night_start
        window_end = (day + 1) * 1440 + night_end if night_end <= night_start else day * 1440 + night_end
        overlap += max(0, min(end_min, window_end) - max(start_min, window_start))
    return overlap >= rules.night_min_overlap_min


def expand_options(scenario: Scenario, rules: RuleSet) -> list[ShiftOption]:
    """All shift options of the horizon, in a stable order (date, template, start, length)."""
    interval = scenario.site.interval_min
    options: list[ShiftOption] = []
    for day, date in enumerate(scenario.dates):
        for template in scenario.templates:
            if template.weekdays is not None and date.weekday() not in template.weekdays:
                continue
            step = template.start_step_min or interval
            first = minutes_of(template.earliest_start)
            last = minutes_of(template.latest_start) if template.latest_start else first
            activities = [a for a in scenario.activities if a.on(date)]
            for start in range(first, last + 1, step):
                for length in template.lengths:
                    option = _option(len(options), template, rules, day, start, length, interval)
                    blocks = tuple(b for a in activities if (b := _activity_block(option, a, interval)) is not None)
                    options.append(replace(option, activities=blocks) if blocks else option)
    return options


def _activity_block(option: ShiftOption, activity: Activity, interval: int) -> ActivityBlock | None:
    """Where ``activity`` fits in the option: inside the shift and its window, clear of the break window."""
    n = max(1, -(-activity.length_min // interval))
    day_start = option.day * 1440
    lowest = max(option.start_min, day_start + minutes_of(activity.earliest_start))
    highest = min(option.end_min, day_start + minutes_of(activity.latest_end))
    first, last = -(-lowest // interval), highest // interval - n
    if option.break_starts:
        blocked = range(option.break_starts[0], option.break_starts[-1] + option.break_intervals)
        starts = tuple(t for t in range(first, last + 1) if t + n <= blocked.start or t >= blocked.stop)
    else:
        starts = tuple(range(first, last + 1))
    return ActivityBlock(activity.id, starts, n) if starts else None


def _option(
    index: int, template: ShiftTemplate, rules: RuleSet, day: int, start: int, length: int, interval: int
) -> ShiftOption:
    start_min = day * 1440 + start
    end_min = start_min + length
    first_interval = start_min // interval
    n_intervals = max(0, -(-end_min // interval) - first_interval)
    rule = _break_rule(template, rules, length)
    break_starts: tuple[int, ...] = ()
    break_intervals = 0
    unpaid = 0
    if rule is not None:
        break_intervals = max(1, -(-rule.length_min // interval))
        earliest = -(-(start_min + rule.earliest_after_start_min) // interval)
        latest = (end_min - rule.latest_end_before_end_min) // interval - break_intervals
        break_starts = tuple(range(earliest, latest + 1)) or (first_interval + (n_intervals - break_intervals) // 2,)
        unpaid = 0 if rule.paid else rule.length_min
    handover = rules.handover_min or 0
    night = template.night if template.night is not None else is_night(start_min, end_min, rules)
    return ShiftOption(
        index=index,
        template=template.id,
        day=day,
        start_min=start_min,
        end_min=end_min,
        paid_min=length - unpaid + handover,
        night=night,
        first_interval=first_interval,
        n_intervals=n_intervals,
        break_starts=break_starts,
        break_intervals=break_intervals,
        break_paid=bool(rule and rule.paid),
    )


def interval_index(scenario: Scenario, moment: dt.datetime) -> int:
    """The grid interval holding ``moment`` (interval 0 starts at midnight of the first date)."""
    origin = dt.datetime.combine(scenario.start_date, dt.time())
    return int((moment - origin).total_seconds() // 60) // scenario.site.interval_min


def requirement_by_interval(scenario: Scenario) -> dict[tuple[int, str], tuple[int, int | None]]:
    """Required headcount (rounded up: people are whole) and maximum per (interval, skill)."""
    return {
        (interval_index(scenario, row.interval_start), row.skill): (math.ceil(row.required), row.maximum)
        for row in scenario.requirements
    }


def roster_row(
    origin: dt.datetime,
    interval_min: int,
    employee: Employee,
    option: ShiftOption,
    skill: str,
    break_start: int | None,
    activity_starts: dict[str, int] | None = None,
) -> dict:
    """One roster.csv row for an employee working ``option`` (break from interval ``break_start``, if any;
    activities from their start intervals, as ``id HH:MM-HH:MM`` separated by ';')."""
    start = origin + dt.timedelta(minutes=option.start_min)

    def span(first: int, n: int) -> str:
        begin = origin + dt.timedelta(minutes=first * interval_min)
        return f"{begin:%H:%M}-{begin + dt.timedelta(minutes=n * interval_min):%H:%M}"

    breaks = span(break_start, option.break_intervals) if break_start is not None else ""
    blocks = {b.activity: b.n_intervals for b in option.activities}
    activities = ";".join(f"{a} {span(t, blocks[a])}" for a, t in sorted((activity_starts or {}).items()))
    return {
        "employee_id": employee.id,
        "date": (origin + dt.timedelta(days=option.day)).date().isoformat(),
        "start": start.isoformat(timespec="minutes"),
        "end": (origin + dt.timedelta(minutes=option.end_min)).isoformat(timespec="minutes"),
        "skill": skill,
        "role": employee.roles[0] if employee.roles else "",
        "breaks": breaks,
        "activities": activities,
        "paid_minutes": option.paid_min,
        "template": option.template,
    }
