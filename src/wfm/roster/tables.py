"""A solved roster as tables: one row per worked shift, and required against scheduled per interval."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pandas as pd
from ortools.sat.python import cp_model

from wfm.roster.domain import Scenario
from wfm.roster.model import RosterModel, activity_applies
from wfm.roster.options import roster_row

ROSTER_COLUMNS = [
    "employee_id", "date", "start", "end", "skill", "role", "breaks", "activities", "paid_minutes", "template",
]
COVERAGE_COLUMNS = ["interval_start", "skill", "required", "scheduled"]


def extract_roster(built: RosterModel, solver: cp_model.CpSolver) -> pd.DataFrame:
    """The solved roster, one row per worked shift, with breaks handed to named people."""
    scenario = built.scenario
    origin = dt.datetime.combine(scenario.start_date, dt.time())
    interval = built.interval_min
    workers: dict[tuple[int, str], list[int]] = defaultdict(list)
    chosen: dict[tuple[int, int], tuple] = {}
    for (e, day), entries in built.by_employee_day.items():
        for var, option, skill in entries:
            if solver.BooleanValue(var):
                chosen[e, day] = (option, skill)
                workers[option.index, skill].append(e)
    break_of: dict[tuple[int, int], int] = {}
    for (option_index, skill), people in workers.items():
        option = built.options[option_index]
        if not option.break_starts:
            continue
        counts = built.break_counts.get((option_index, skill))
        if counts is None:
            starts = [option.break_starts[len(option.break_starts) // 2]] * len(people)
        else:
            starts = [b for b, var in sorted(counts.items()) for _ in range(solver.Value(var))]
        for e, b in zip(sorted(people), starts, strict=True):
            break_of[e, option.day] = b
    activities_of: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    for (option_index, skill), people in workers.items():
        option = built.options[option_index]
        for block in option.activities:
            if not activity_applies(built.activities[block.activity], skill):
                continue
            counts = built.activity_counts.get((option_index, skill, block.activity))
            if counts is None:  # no interval requirement: the earliest place will do
                starts = [block.starts[0]] * len(people)
            else:
                starts = [b for b, var in sorted(counts.items()) for _ in range(solver.Value(var))]
            for e, b in zip(sorted(people), starts, strict=True):
                activities_of[e, option.day][block.activity] = b
    rows = [
        roster_row(
            origin, interval, scenario.employees[e], option, skill, break_of.get((e, day)), activities_of.get((e, day))
        )
        for (e, day), (option, skill) in sorted(chosen.items())
    ]
    return pd.DataFrame(rows, columns=ROSTER_COLUMNS)


def coverage_of(scenario: Scenario, roster: pd.DataFrame) -> pd.DataFrame:
    """Required against scheduled (on shift, not on break, on that skill) per requirement interval."""
    interval = dt.timedelta(minutes=scenario.site.interval_min)
    scheduled: dict[tuple[dt.datetime, str], int] = defaultdict(int)
    for row in roster.itertuples():
        start, end = dt.datetime.fromisoformat(row.start), dt.datetime.fromisoformat(row.end)
        off_queue = [break_span(span, start) for span in filter(None, str(row.breaks or "").split(";"))]
        activities = getattr(row, "activities", "")  # rosters from before activities existed lack the column
        for entry in filter(None, ("" if pd.isna(activities) else str(activities)).split(";")):
            off_queue.append(break_span(entry.split()[-1], start))  # "meeting 09:00-09:30"
        t = start
        while t < end:
            if not any(b_start <= t < b_end for b_start, b_end in off_queue):
                scheduled[t, row.skill] += 1
            t += interval
    rows = [
        {
            "interval_start": req.interval_start.isoformat(timespec="minutes"),
            "skill": req.skill,
            "required": req.required,
            "scheduled": scheduled.get((req.interval_start, req.skill), 0),
        }
        for req in scenario.requirements
    ]
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def break_span(span: str, shift_start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """A break 'HH:MM-HH:MM' as date-times on or after the shift start (breaks may fall after midnight)."""
    first, second = (dt.time.fromisoformat(part) for part in span.split("-"))
    b_start = dt.datetime.combine(shift_start.date(), first)
    if b_start < shift_start:
        b_start += dt.timedelta(days=1)
    b_end = dt.datetime.combine(b_start.date(), second)
    if b_end <= b_start:
        b_end += dt.timedelta(days=1)
    return b_start, b_end
