"""Lines as columns: column generation over employees' lines, as a way out of a roster no single line improves.

Re-solving lines one at a time against the others' cover (``linedp.improve_lines``) stops at a roster no single
line can improve. The linear programme over all lines generated so far (the restricted master: a convex mix of
lines per employee; per day and shift the cover, its shortfall and its excess) prices each day and shift by its
dual: what one more person there is worth to the whole roster, not to one line. Each employee's dynamic
programme (``linedp.best_line``) against these prices gives the next lines (the pricing problem of column
generation). The last lines generated, taken together, cover badly (each line goes where the prices are
best), but re-solving them one at a time from there ends far lower than from where the prices started: Curtois
21, 24050 (the start, re-solved to a standstill) -> 21197 after 150 s of pricing and 120 s of re-solving (best
known 21133). The integer programme over the lines generated (price-and-branch) found nothing better than the
start in 60 s, with HiGHS or CP-SAT, so it is not used. The master's programmes go to HiGHS (``scipy.optimize``).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from scipy import optimize, sparse

from wfm.roster.domain import ShiftDemand
from wfm.roster.linedp import LineProblem, _demand_arrays, best_line, improve_lines


def _rows(problem: LineProblem, choice: list[int]) -> np.ndarray:
    """The shift-demand rows a line covers (one per day worked on a demanded shift)."""
    rows = [problem.demand_row[d][k] for d, k in enumerate(choice) if k >= 0]
    return np.array([r for r in rows if r >= 0], int)


def _own_cost(problem: LineProblem, choice: list[int]) -> float:
    """A line's cost less its cover: requests, paid hours."""
    return float(sum(problem.base_cost[d][k] for d, k in enumerate(choice) if k >= 0))


def roster_cost(problems: list[LineProblem], choices: list[list[int]], demand: list[ShiftDemand]) -> float:
    """The objective of a roster of lines: each line's own cost, and the cover's shortfall and excess."""
    required, under, over = _demand_arrays(demand)
    cover = np.zeros(len(demand))
    for problem, choice in zip(problems, choices, strict=True):
        np.add.at(cover, _rows(problem, choice), 1)
    own = sum(_own_cost(p, c) for p, c in zip(problems, choices, strict=True))
    return own + float((under * np.clip(required - cover, 0, None) + over * np.clip(cover - required, 0, None)).sum())


@dataclasses.dataclass
class _Column:
    employee: int
    choice: list[int]
    rows: np.ndarray
    cost: float


def _master(columns: list[_Column], employees: int, demand: list[ShiftDemand]) -> tuple:
    """The restricted master as (c, A, b): columns, then shortfall and excess per row; equalities: one line per
    employee, and per row the lines' cover plus the shortfall less the excess equals the people wanted."""
    required, under, over = _demand_arrays(demand)
    n, r = len(columns), len(demand)
    rows, cols = [], []
    for j, column in enumerate(columns):
        rows.append(np.concatenate([[column.employee], employees + column.rows]))
        cols.append(np.full(len(column.rows) + 1, j))
    slack = np.arange(r)
    rows += [employees + slack, employees + slack]
    cols += [n + slack, n + r + slack]
    values = np.concatenate([np.ones(n + sum(len(c.rows) for c in columns) + r), -np.ones(r)])
    a = sparse.csr_array((values, (np.concatenate(rows), np.concatenate(cols))), shape=(employees + r, n + 2 * r))
    c = np.concatenate([[column.cost for column in columns], under, over])
    b = np.concatenate([np.ones(employees), required])
    return c, a, b


def price_lines(
    problems: list[LineProblem], choices: list[list[int]], demand: list[ShiftDemand], until: float
) -> list[list[int]]:
    """Column generation from the roster ``choices`` until ``until``, or until no line has a negative reduced
    cost: per round the master's linear programme over all lines so far, then each employee's best line against
    its duals. Returns per employee the last line generated (its line in ``choices`` where none was)."""
    employees = len(problems)
    columns = [
        _Column(e, list(choice), _rows(problem, choice), _own_cost(problem, choice))
        for e, (problem, choice) in enumerate(zip(problems, choices, strict=True))
    ]
    last = [list(choice) for choice in choices]
    seen = {(c.employee, tuple(c.choice)) for c in columns}
    while time.perf_counter() < until:
        c, a, b = _master(columns, employees, demand)
        lp = optimize.linprog(c, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        if lp.status != 0:
            break
        duals = lp.eqlin.marginals
        convexity, cover_price = duals[:employees], duals[employees:]
        added = 0
        for e, problem in enumerate(problems):
            if time.perf_counter() >= until:
                break
            priced = dataclasses.replace(problem, cost=[
                base - np.where(rows >= 0, cover_price[np.maximum(rows, 0)], 0.0)
                for base, rows in zip(problem.base_cost, problem.demand_row, strict=True)
            ])
            line = best_line(priced)
            key = (e, tuple(line.choice))
            if line.feasible and line.cost < convexity[e] - 1e-6 and key not in seen:
                seen.add(key)
                columns.append(_Column(e, line.choice, _rows(problem, line.choice), _own_cost(problem, line.choice)))
                last[e] = line.choice
                added += 1
        if not added:
            break
    return last


def restart_from_prices(
    problems: list[LineProblem],
    choices: list[list[int]],
    demand: list[ShiftDemand],
    deadline: float,
    *,
    pricing_share: float = 0.5,
    seed: int = 0,
) -> float:
    """Leave the roster ``choices`` by column generation (``price_lines``, ``pricing_share`` of the time to
    ``deadline``), then re-solve the last lines generated one at a time against all the others
    (``linedp.improve_lines``) up to ``deadline``. The new roster replaces ``choices`` where cheaper. Returns
    the objective taken off."""
    now = time.perf_counter()
    lines = price_lines(problems, choices, demand, now + (deadline - now) * pricing_share)
    improve_lines(problems, lines, demand, deadline, seed=seed)
    before, after = roster_cost(problems, choices, demand), roster_cost(problems, lines, demand)
    if after >= before:
        return 0.0
    choices[:] = lines
    return before - after
