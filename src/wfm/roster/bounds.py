"""A lower bound on the under-coverage any roster of a scenario can reach.

The LP relaxation of anonymous shift covering: how many people of each kind (same skills and allowed
templates) work each shift option, as real numbers, limited per date by the people of that kind available
and over the horizon by their working days and paid minutes. Breaks are left out, so coverage can only be
higher than in a real roster and the shortfall lower: whatever a roster reaches, the LP reaches at least as
well. Planners read it as "the demand these people cannot cover however they are rostered"; the roster
benchmark measures the solver against it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from wfm.roster.domain import Employee, RuleSet, Scenario
from wfm.roster.model import employee_rules, site_rules
from wfm.roster.options import expand_options, requirement_by_interval


@dataclass(frozen=True)
class CoverageBound:
    under_agent_hours: float  # lower bound on the shortfall, in agent-hours
    required_agent_hours: float


def _minutes_cap(rules: RuleSet, days: int) -> float:
    caps = [math.inf]
    if rules.max_minutes_total is not None:
        caps.append(rules.max_minutes_total)
    if rules.max_minutes_per_week is not None:
        caps.append(rules.max_minutes_per_week * math.ceil(days / 7))
    if rules.max_average_minutes_per_week is not None:
        caps.append(rules.max_average_minutes_per_week * days / 7)
    if rules.max_overtime_minutes_per_month is not None and rules.standard_minutes_per_week is not None:
        weeks, rest = divmod(days, 7)
        standard = rules.standard_minutes_per_week * weeks + rules.standard_minutes_per_week * min(rest, 5) / 5
        caps.append(standard + rules.max_overtime_minutes_per_month * days / 30)
    return min(caps)


def _days_cap(rules: RuleSet, days: int) -> int:
    if rules.max_days_per_week is None:
        return days
    weeks, rest = divmod(days, 7)
    return rules.max_days_per_week * weeks + min(rest, rules.max_days_per_week)


def coverage_lower_bound(scenario: Scenario) -> CoverageBound:
    """Solve the LP relaxation (HiGHS through scipy) and return the shortfall bound in agent-hours."""
    interval_h = scenario.site.interval_min / 60
    required = {key: people for key, (people, _) in requirement_by_interval(scenario).items()}
    required_skills = {skill for _, skill in required}
    total_required = sum(required.values()) * interval_h
    options = expand_options(scenario, site_rules(scenario))
    dates = scenario.dates

    kinds: dict[tuple, list[Employee]] = defaultdict(list)
    for employee in scenario.employees:
        rules = employee_rules(scenario, employee)
        allowed = tuple(sorted(rules.allowed_templates)) if rules.allowed_templates is not None else None
        skills = tuple(sorted(k for k in employee.skills if k in required_skills))
        if skills:
            kinds[skills, allowed, rules.max_shift_minutes].append(employee)

    templates = {t.id: t for t in scenario.templates}
    columns: list[tuple[int, str, int]] = []  # (option index, skill, kind)
    for c, ((skills, allowed, max_shift), _) in enumerate(kinds.items()):
        for option in options:
            template = templates[option.template]
            if allowed is not None and option.template not in allowed:
                continue
            if max_shift is not None and option.paid_min > max_shift:
                continue
            for skill in skills:
                if template.skills is None or skill in template.skills:
                    columns.append((option.index, skill, c))
    cover_rows = {key: i for i, key in enumerate(sorted(required))}
    n_y, n_s = len(columns), len(cover_rows)
    rows, cols, vals, rhs = [], [], [], []

    def add(row: int, col: int, value: float) -> None:
        rows.append(row)
        cols.append(col)
        vals.append(value)

    # Coverage: -(sum of y over options covering t) - s_t <= -required_t
    for j, (o, skill, _) in enumerate(columns):
        for t in options[o].intervals:
            if (t, skill) in cover_rows:
                add(cover_rows[t, skill], j, -1.0)
    for key, i in cover_rows.items():
        add(i, n_y + i, -1.0)
        rhs.append(-float(required[key]))
    row = n_s
    members = list(kinds.values())
    for c, people in enumerate(members):
        mine = [j for j, (_, _, kind) in enumerate(columns) if kind == c]
        for d, date in enumerate(dates):  # people of this kind available that date
            for j in mine:
                if options[columns[j][0]].day == d:
                    add(row, j, 1.0)
            rhs.append(float(sum(date not in p.days_off and date not in p.pinned_rest_days for p in people)))
            row += 1
        for j in mine:  # working days and paid minutes over the horizon
            add(row, j, 1.0)
            add(row + 1, j, float(options[columns[j][0]].paid_min))
        rhs.append(float(sum(_days_cap(employee_rules(scenario, p), scenario.days) for p in people)))
        caps = [_minutes_cap(employee_rules(scenario, p), scenario.days) for p in people]
        rhs.append(float(sum(caps)) if all(math.isfinite(x) for x in caps) else 1e12)
        row += 2
    matrix = coo_matrix((vals, (rows, cols)), shape=(row, n_y + n_s)).tocsr()
    cost = np.concatenate([np.zeros(n_y), np.ones(n_s)])
    result = linprog(cost, A_ub=matrix, b_ub=np.array(rhs), bounds=(0, None), method="highs")
    if result.status != 0:
        raise RuntimeError(f"coverage bound LP failed: {result.message}")
    return CoverageBound(under_agent_hours=float(result.fun) * interval_h, required_agent_hours=total_required)
