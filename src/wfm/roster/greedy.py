"""A fast constructive first roster, used as a hint for CP-SAT on large scenarios.

CP-SAT's presolve of a month-long roster for a hundred people takes longer than planners wait for a first
answer, and its first solution from scratch comes late. This builds one in about a second: employees one
after another, each given the days and one start time per week that cover most of the still-uncovered
requirement. The rules in force are checked by the independent validator (``wfm.roster.validate``), and
dates it flags are dropped until the employee's week is clean, so the hint is legal; CP-SAT then completes
it (breaks, coverage counts) with every assignment fixed, which takes about a second.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import pandas as pd

from wfm.roster.domain import Employee
from wfm.roster.model import NO_SKILL, RosterModel, activity_applies, employee_rules
from wfm.roster.options import ShiftOption, requirement_by_interval, roster_row
from wfm.roster.validate import REQUIRED_COLUMNS, validate_roster

_OVER_COVER_VALUE = -0.3  # value of one person-interval above the requirement (some slack beats a rest day)
_REPAIR_ROUNDS = 10


def _value(option: ShiftOption, skill: str, need: dict[tuple[int, str], float]) -> float:
    return sum(1.0 if need.get((t, skill), 0) > 0 else _OVER_COVER_VALUE for t in option.intervals)


def _days_per_week(built: RosterModel, e: int) -> int:
    rules = employee_rules(built.scenario, built.scenario.employees[e])
    days = rules.max_days_per_week or 7
    paid = [o.paid_min for d in range(min(7, built.scenario.days)) for _, o, _ in built.by_employee_day[e, d]]
    if paid:
        typical = sorted(paid)[len(paid) // 2]
        if rules.standard_minutes_per_week:
            days = min(days, max(1, round(rules.standard_minutes_per_week / typical)))
        if rules.max_minutes_per_week:
            days = min(days, rules.max_minutes_per_week // typical)
    return max(0, days)


def _proposal(built: RosterModel, e: int, need: dict[tuple[int, str], float]) -> dict[int, tuple[ShiftOption, str]]:
    """Per week: the start time (minute of day) whose best days cover most need, on the best days."""
    days = built.scenario.days
    per_week = _days_per_week(built, e)
    chosen: dict[int, tuple[ShiftOption, str]] = {}
    for first in range(0, days, 7):
        week = range(first, min(days, first + 7))
        by_start: dict[int, dict[int, tuple[float, ShiftOption, str]]] = defaultdict(dict)
        for d in week:
            for _, option, skill in built.by_employee_day[e, d]:
                value = _value(option, skill, need)
                start = option.start_min % 1440
                if value > by_start[start].get(d, (-math.inf,))[0]:
                    by_start[start][d] = (value, option, skill)
        best_total, best_days = 0.0, []
        for per_day in by_start.values():
            ranked = sorted(per_day.items(), key=lambda item: -item[1][0])[:per_week]
            ranked = [(d, v) for d, v in ranked if v[0] > 0]
            total = sum(v[0] for _, v in ranked)
            if total > best_total:
                best_total, best_days = total, ranked
        for d, (_, option, skill) in best_days:
            chosen[d] = (option, skill)
    return chosen


def _rows(built: RosterModel, e: int, chosen: dict[int, tuple[ShiftOption, str]]) -> pd.DataFrame:
    employee = built.scenario.employees[e]
    rows = [
        roster_row(
            built.origin, built.interval_min, employee, option, skill,
            option.break_starts[len(option.break_starts) // 2] if option.break_starts else None,
            {  # activities in the middle of their ranges, as the break; CP-SAT moves both afterwards
                block.activity: block.starts[len(block.starts) // 2]
                for block in option.activities
                if activity_applies(built.activities[block.activity], skill)
            },
        )
        for _, (option, skill) in sorted(chosen.items())
    ]
    return pd.DataFrame(rows, columns=[*REQUIRED_COLUMNS, "activities"])


_WEEKLY_RULES = {"max_minutes_per_week", "min_minutes_per_week", "max_days_per_week"}


def _repair(built: RosterModel, e: int, chosen: dict[int, tuple[ShiftOption, str]], violations: list) -> bool:
    """Drop shifts to mend the validator's findings; False when nothing can be dropped."""
    by_date = {built.dates[d].isoformat(): d for d in chosen}

    def weakest(days: list[int]) -> int | None:
        return min(days, key=lambda d: (chosen[d][0].n_intervals, d)) if days else None

    dropped = False
    for violation in violations:
        worked = [d for d in chosen]
        if violation.rule in _WEEKLY_RULES:
            first = built.dates.index(dt.date.fromisoformat(violation.date))
            day = weakest([d for d in worked if first <= d < first + 7])
        elif violation.date in by_date and by_date[violation.date] in chosen:
            day = by_date[violation.date]
        else:
            day = weakest(worked)
        if day is not None and day in chosen:
            del chosen[day]
            dropped = True
    return dropped


def greedy_assignments(built: RosterModel) -> dict[tuple[int, int, str], int] | None:
    """A legal roster as hint values for the model's ``x`` variables (keys of ``built.x`` set to 1).

    None when some employee cannot be given a clean schedule this way (e.g. minimum hours per week).
    """
    scenario = built.scenario
    need = {key: required for key, (required, _) in requirement_by_interval(scenario).items()}
    roles = scenario.roles
    ratio = roles.agents_per_supervisor
    agents_on: dict[int, int] = defaultdict(int)
    supervisors_on: dict[int, int] = defaultdict(int)
    chosen_x: dict[tuple[int, int, str], int] = {}
    # Leaders follow the agents of their own team (area) with leader_per_team, else of the whole site.
    team_agents_on: dict[tuple[str | None, int], int] = defaultdict(int)
    leaders_on: dict[tuple[str | None, int], int] = defaultdict(int)

    def team_of(employee: Employee) -> str | None:
        return employee.team if roles.leader_per_team else None

    def rank(e: int) -> int:  # agents first; leaders and supervisors follow the agents on duty
        held = scenario.employees[e].roles
        return 2 if roles.supervisor_role in held else 1 if roles.leader_role in held else 0

    for e in sorted(range(len(scenario.employees)), key=rank):
        employee = scenario.employees[e]
        is_supervisor = roles.supervisor_role in employee.roles
        wanted = dict(need)
        if is_supervisor and ratio:
            for t, n in agents_on.items():
                wanted[t, NO_SKILL] = math.ceil(n / ratio) - supervisors_on[t]
        if roles.leader_role in employee.roles and roles.leader_whenever_on_duty:
            team = team_of(employee)
            for (agents_team, t), count in team_agents_on.items():  # a missing leader outweighs a missing agent
                if agents_team == team and count and not leaders_on[team, t]:
                    for skill in [*employee.skills, NO_SKILL]:
                        wanted[t, skill] = max(wanted.get((t, skill), 0), 1)
        chosen = _proposal(built, e, wanted)
        single = scenario.model_copy(update={"employees": [employee]})
        for _ in range(_REPAIR_ROUNDS):
            violations = validate_roster(single, _rows(built, e, chosen))
            if not violations:
                break
            if not _repair(built, e, chosen, violations):
                return None  # even no work breaks a rule (minimum hours): leave it to CP-SAT
        else:
            if validate_roster(single, _rows(built, e, chosen)):
                return None
        for option, skill in chosen.values():
            chosen_x[e, option.index, skill] = 1
            for t in option.intervals:
                need[t, skill] = need.get((t, skill), 0) - 1
                if roles.agent_role in employee.roles:
                    agents_on[t] += 1
                    team_agents_on[team_of(employee), t] += 1
                if is_supervisor:
                    supervisors_on[t] += 1
                if roles.leader_role in employee.roles:
                    leaders_on[team_of(employee), t] += 1
    return chosen_x
