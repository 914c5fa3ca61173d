"""One employee's best line by dynamic programming over the days, with prices on the horizon's limits.

A line (one person's shifts and rest days over the horizon) is a path through the days: which shift or rest day
today may follow yesterday's depends only on yesterday's shift and on how long the current run of work or rest
has lasted. Forbidden successions, maximum and minimum runs of work and minimum runs of rest (edge runs exempt or
not) are therefore exact in a shortest path over states (shift or rest, run length): ``shortest_line``. The
limits over the whole horizon (minimum and maximum total minutes, maximum shifts per template, maximum weekends)
are not: they get prices (Lagrange multipliers), searched by bisection or subgradient steps, and a line that
still misses a limit by a little is mended by swapping or dropping single days: ``best_line``. Where the prices
end on lines that break the weekend limit, the weekends are decided first (which are open) and the line searched
again with them exact. This is the pricing problem of column generation for rostering.

Uses: the employee-by-employee start (``wfm.roster.sequential``) takes a line the programme finds keeping every
rule as it is, and hints CP-SAT with it otherwise (Curtois 24: a 364-day line of 32 templates in ~0.3 s within
~10 of its LP bound, where CP-SAT alone was ~1400 above it after 1.5 s; Curtois 22: lines that CP-SAT alone did
not find in 3 s); then ``improve_lines`` re-solves each line against the cover of all the others.

No library solves resource-constrained shortest paths over a roster's day graph; the recursion is written here,
compiled by numba (``_linekernel``: ~1 ms a 364-day line, against ~15 ms as numpy operations per day). It is
used only on line models whose rules and objective it represents exactly (``line_problem`` says None
otherwise).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from wfm.roster.domain import ShiftDemand
from wfm.roster.model import RosterModel, employee_rules, weekend_groups

_INF = float("inf")
# Objective groups whose terms are linear in one employee's assignment and work variables (line models only).
_LINEAR_GROUPS = {"paid_hours", "requests", "shift_demand_under", "shift_demand_over"}
# Rule fields the recursion represents; a line model with any other rule set gets no dynamic programme.
_SUPPORTED_RULES = {
    "min_minutes_total", "max_minutes_total", "max_consecutive_days", "min_consecutive_days",
    "min_consecutive_rest_days", "edge_runs_exempt", "max_weekends", "weekend_days", "max_shifts_per_template",
    "forbidden_successions", "allowed_templates", "max_shift_minutes", "meal_break", "handover_min",
    "night_start", "night_end", "night_min_overlap_min",
}


@dataclass
class LineModel:
    """One employee's line as CP-SAT's model without the demand (its objective: the line's own terms), and per
    day its option variables in the positions of the line's ``LineProblem``: the exact pricing problem of column
    generation, where the programme only prices the horizon's limits."""

    model: cp_model.CpModel
    variables: list[list[int]]


@dataclass
class LineProblem:
    """One employee's line in array form: per day the options' model variables, costs, paid minutes and
    templates; the rules; and the cost of working a day (its work variable's objective coefficient)."""

    variables: list[list[int]]  # per day, proto indices of the option variables
    work_variables: list[int]  # per day, proto index of the work variable
    cost: list[np.ndarray]  # per day, objective coefficient of each option (work coefficient included)
    paid_min: list[np.ndarray]
    template: list[np.ndarray]  # per day, template number of each option
    templates: list[str]
    succession: list[np.ndarray]  # per day from the second: [option yesterday, option today] -> 0, or inf if forbidden
    max_run: int | None
    min_run: int
    min_rest: int
    edge_exempt: bool
    weekend_of: list[int | None]  # per day, its weekend's number
    max_weekends: int | None
    max_per_template: np.ndarray  # per template; a large number where unlimited
    min_total_min: int | None
    max_total_min: int | None
    demand_row: list[np.ndarray]  # per day, each option's row of the scenario's shift demand (-1: none)
    base_cost: list[np.ndarray]  # per day, each option's cost less what it adds to or takes off the cover
    # The recursion works the days of a weekend all or none, and the repairs and polish split no weekend it
    # worked whole (``sequential``: a heuristic, not a rule; a line held from before may keep a split one, and
    # the neighbourhood search's CP-SAT steps may split one). Without the repairs and polish kept to it, Curtois
    # 23's construction handed over 326 split weekends at 300 s; with them, 12 (fifty-third session).
    whole_weekends: bool = False
    # Not copied by ``dataclasses.replace``: a replaced problem lays itself out again.
    _layout: _Layout | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def layout(self) -> _Layout:
        """The options of every day in one flat array each (built once per problem)."""
        if self._layout is None:
            self._layout = _Layout(self)
        return self._layout

    def repriced(self, option_cost: np.ndarray) -> LineProblem:
        """The same line with each option costing ``option_cost`` (flat, in the order of ``layout``); the layout
        is kept but for the costs. Pricing reprices every line each round: laying each out again took a fifth
        of Curtois 19's pricing time."""
        layout = self.layout
        bounds = layout.start.tolist()
        priced = dataclasses.replace(self, cost=[option_cost[a:b] for a, b in itertools.pairwise(bounds)])
        priced._layout = layout.repriced(option_cost)
        return priced


class _Layout:
    """A line problem's options flat, in day order (day ``d``'s at ``start[d]:start[d + 1]``): their cost, paid
    minutes and template; the successions flat too (day ``d``'s matrix row-major from ``succession_start[d]``);
    per day its weekend's number (-1: none)."""

    def __init__(self, problem: LineProblem):
        days = len(problem.cost)
        self.start = np.r_[0, np.cumsum([len(c) for c in problem.cost], dtype=np.int64)]
        self.cost = _flat(problem.cost, float)
        self.paid = _flat(problem.paid_min, float)
        self.template = _flat(problem.template, np.int64)
        self.succession_start = np.r_[0, 0, np.cumsum([problem.succession[d].size for d in range(1, days)],
                                                       dtype=np.int64)][:days + 1]
        self.succession = _flat([np.ravel(problem.succession[d]) for d in range(1, days)], float)
        self.weekend_number = np.array([-1 if w is None else w for w in problem.weekend_of], np.int64)
        self.base_cost = _flat(problem.base_cost, float)
        self.demand_row = _flat(problem.demand_row, np.int64)

    def repriced(self, cost: np.ndarray) -> _Layout:
        """This layout with the options' costs replaced."""
        layout = copy.copy(self)
        layout.cost = cost
        layout.alternatives = self.alternatives.repriced(cost)  # laid out once, for every repriced copy
        return layout

    @functools.cached_property
    def alternatives(self) -> _Alternatives:
        """Every day's alternatives, the rest day with the options."""
        return _Alternatives(self)


def _flat(per_day: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(per_day).astype(dtype) if per_day else np.zeros(0, dtype)


@dataclass
class Line:
    """A line: per day the option position worked (-1 = rest day), its true cost (objective without the
    prices) and how far it breaks the limits over the horizon, in shifts (0: it keeps them all)."""

    choice: list[int]
    cost: float
    breach: float

    @property
    def feasible(self) -> bool:
        return self.breach == 0


def line_problem(built: RosterModel, demand: list[ShiftDemand] | None = None) -> LineProblem | None:
    """The line of a one-employee model as a ``LineProblem``; None where the model has rules or objective terms
    the recursion does not represent (more than one employee, interval requirements, weekly limits, pins,
    rules between people, skipped rule groups, ...). With ``demand``, the model was built without shift demand
    and the line covers ``demand``: the same problem as from the model with it, for less building (Curtois 24:
    0.3 s a line against 0.9 s with the demand's terms and the scenario of what is left)."""
    scenario = built.scenario
    if len(scenario.employees) != 1 or scenario.requirements or built.skip:
        return None
    if demand is not None and scenario.shift_demand:
        raise ValueError("line_problem: demand is given, but the model was built with shift demand of its own")
    if set(built.objective.terms) - _LINEAR_GROUPS:
        return None
    employee = scenario.employees[0]
    if employee.pinned:
        return None
    rules = employee_rules(scenario, employee)
    if any(getattr(rules, name) is not None for name in type(rules).model_fields if name not in _SUPPORTED_RULES):
        return None
    groups = weekend_groups(scenario, rules.weekend_days or [])
    if rules.max_weekends is not None and any(g != list(range(g[0], g[0] + len(g))) or len(g) > 2 for g in groups):
        return None  # weekends of more than two days, or not consecutive: not one step back in the recursion
    coefficient = dict(zip(built.model.proto.objective.vars, built.model.proto.objective.coeffs, strict=True))
    templates = sorted(built.templates)
    number = {name: i for i, name in enumerate(templates)}
    modelled = demand is None  # the model's objective holds the cover's terms
    demand = scenario.shift_demand if demand is None else demand
    rows = {(d.date, d.template): r for r, d in enumerate(demand)}
    if len(rows) < len(demand):
        return None  # two rows for one date and template: an option's cover would not be one row's
    wanted, under, over = demand_arrays(demand)  # a line model's demand: what is still missing
    variables, work_variables, cost, paid, template, demand_row, base_cost = [], [], [], [], [], [], []
    for day in range(scenario.days):
        entries = built.by_employee_day.get((0, day), [])
        work = built.work[0, day].Index()
        variables.append([v.Index() for v, _, _ in entries])
        work_variables.append(work)
        own = np.array([coefficient.get(v.Index(), 0) + coefficient.get(work, 0) for v, _, _ in entries], float)
        paid.append(np.array([o.paid_min for _, o, _ in entries], float))
        template.append(np.array([number[o.template] for _, o, _ in entries], int))
        demand_row.append(np.array([rows.get((built.dates[day], o.template), -1) for _, o, _ in entries], int))
        cover = _cover_cost(demand_row[-1], wanted, under, over)
        cost.append(own if modelled else own + cover)
        base_cost.append(own - cover if modelled else own)
    forbidden = np.zeros((len(templates), len(templates)), bool)
    for first, second in rules.forbidden_successions or []:
        if first in number and second in number:
            forbidden[number[first], number[second]] = True
    succession: list[np.ndarray] = [np.zeros((0, len(template[0])))]
    pairs: dict[tuple[bytes, bytes], np.ndarray] = {}  # days with the same options share their matrix
    for day in range(1, scenario.days):
        key = (template[day - 1].tobytes(), template[day].tobytes())
        if key not in pairs:
            pairs[key] = np.where(forbidden[np.ix_(template[day - 1], template[day])], _INF, 0.0)
        succession.append(pairs[key])
    weekend_of: list[int | None] = [None] * scenario.days
    if rules.max_weekends is not None and len(groups) > rules.max_weekends:
        for g, days in enumerate(groups):
            for day in days:
                weekend_of[day] = g
    unlimited = scenario.days + 1
    maxima = rules.max_shifts_per_template or {}
    _warmed_up()
    return LineProblem(
        variables=variables,
        work_variables=work_variables,
        cost=cost,
        paid_min=paid,
        template=template,
        templates=templates,
        succession=succession,
        max_run=rules.max_consecutive_days,
        min_run=rules.min_consecutive_days or 1,
        min_rest=rules.min_consecutive_rest_days or 1,
        edge_exempt=bool(rules.edge_runs_exempt),
        weekend_of=weekend_of,
        max_weekends=rules.max_weekends if any(w is not None for w in weekend_of) else None,
        max_per_template=np.array([maxima.get(name, unlimited) for name in templates], float),
        min_total_min=rules.min_minutes_total,
        max_total_min=rules.max_minutes_total,
        demand_row=demand_row,
        base_cost=base_cost,
    )


def demand_arrays(demand: list[ShiftDemand]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """People wanted, weight per person short and weight per person over, per shift-demand row."""
    return (
        np.array([d.required for d in demand], float),
        np.array([d.weight_under for d in demand], float),
        np.array([d.weight_over for d in demand], float),
    )


def _cover_cost(rows: np.ndarray, short: np.ndarray, under: np.ndarray, over: np.ndarray) -> np.ndarray:
    """What working each option adds to the objective through its shift-demand row (-1: none), as the line model
    has it: a person less short while the row still misses people (``short`` > 0), else a person over."""
    if not len(short):
        return np.zeros(len(rows))
    return np.where(rows >= 0, np.where(short[rows] > 0, -under[rows], over[rows]), 0.0)


def shortest_line(problem: LineProblem, option_price: np.ndarray, weekend_price: float) -> list[int]:
    """The cheapest line under the run and succession rules, each option costing ``option_price`` (flat, in the
    order of ``problem.layout``) and each weekend worked ``weekend_price``: per day the option position worked,
    -1 for a rest day. The recursion over (option or rest, run length) states is ``_linekernel``'s, compiled."""
    layout = problem.layout
    if len(option_price) != len(layout.cost):
        raise ValueError(f"shortest_line: {len(option_price)} option prices for {len(layout.cost)} options")
    choice = _compiled().shortest_line(
        np.asarray(option_price, float), layout.start, layout.succession, layout.succession_start,
        layout.weekend_number, float(weekend_price),
        problem.max_run if problem.max_run is not None else problem.min_run,
        problem.min_run, problem.min_rest, problem.max_run is None, problem.edge_exempt, problem.whole_weekends,
    )
    return choice.tolist()


@functools.cache
def _compiled() -> Any:
    """The compiled code, imported on first use: numba takes ~0.4 s to import."""
    from wfm.roster import _linekernel

    return _linekernel


@functools.cache
def _warmed_up() -> None:
    """The compiled code called once on a one-day line, so that loading it from numba's cache (or compiling it,
    once per machine) is not timed as the first line's search: the construction gives each line a share of
    time, and a first search cut short changes every line after it."""
    one = [np.ones(1)]
    tiny = LineProblem(
        variables=[[0]], work_variables=[0], cost=one, paid_min=one, template=[np.zeros(1, int)], templates=["t"],
        succession=[np.zeros((0, 1))], max_run=1, min_run=1, min_rest=1, edge_exempt=True, weekend_of=[None],
        max_weekends=None, max_per_template=np.ones(1), min_total_min=None, max_total_min=0,
        demand_row=[np.full(1, -1)], base_cost=one,
    )
    polish_line(tiny, shortest_line(tiny, tiny.layout.cost, 0.0))
    _repair_minutes(tiny, [0], 1.0)
    _repair_templates(tiny, [0])
    best_line(tiny, 1)


def _repair_templates(problem: LineProblem, choice: list[int]) -> list[int]:
    """Swap worked days' options of templates used more often than their maximum for options of templates with
    room, the cheapest swaps first, keeping the paid minutes in the window and successions; as far as swaps are
    found. Each pass collects every day's swaps and applies them in order of cost, each checked against the
    line as it stands then. Compiled (``_linekernel.repair_templates``): as Python it took 29 of a 94-s dive
    on Curtois 8, whose night shifts are limited to 4."""
    low, high = _minutes_window(problem)
    layout = problem.layout
    return _compiled().repair_templates(
        np.array(choice, np.int64), low, high, layout.start, layout.cost, layout.paid, layout.template,
        problem.max_per_template, layout.succession, layout.succession_start,
    ).tolist()


def _repair_minutes(problem: LineProblem, choice: list[int], paid: float) -> list[int]:
    """Bring a line's paid minutes into the horizon's window, one change at a time, the cheapest per minute
    first: a worked day's option swapped for a longer or shorter one, or a day at the end of a run of work
    turned into a rest day (or a rest day beside one worked), as far as the run, succession, template and
    weekend rules allow. A line priced at the breakpoint of the minute price often lies one shift outside a
    narrow window (Curtois 16: 16380-16860 minutes, every shift 480; Curtois 24: 111600-112320). Compiled
    (``_linekernel.repair_minutes``): a change costs a pass over every day's alternatives."""
    low, high = _minutes_window(problem)
    if low <= paid <= high:
        return list(choice)
    layout = problem.layout
    alts = layout.alternatives
    return _compiled().repair_minutes(
        np.array(choice, np.int64), float(paid), low, high, alts.start, alts.alt, alts.cost, alts.paid,
        alts.template, problem.max_per_template, layout.weekend_number, _or_none(problem.max_weekends),
        layout.start, layout.succession, layout.succession_start, *_run_rules(problem), problem.whole_weekends,
    ).tolist()


class _Alternatives:
    """Every day's alternatives flat, in day order: position -1 (rest day) then the options, with their cost,
    paid minutes and template (-1 for the rest day), and per day the flat index of its rest day."""

    def __init__(self, layout: _Layout):
        days = len(layout.start) - 1
        self.start = layout.start[:-1] + np.arange(days)
        self.day = np.repeat(np.arange(days), np.diff(layout.start) + 1)
        self.alt = np.arange(len(self.day)) - self.start[self.day] - 1
        self.options = self.alt >= 0
        self.cost, self.paid = np.zeros(len(self.alt)), np.zeros(len(self.alt))
        self.template = np.full(len(self.alt), -1, np.int64)
        self.cost[self.options], self.paid[self.options] = layout.cost, layout.paid
        self.template[self.options] = layout.template

    def repriced(self, cost: np.ndarray) -> _Alternatives:
        """These alternatives with the options' costs replaced."""
        alternatives = copy.copy(self)
        alternatives.cost = np.zeros(len(self.alt))
        alternatives.cost[self.options] = cost
        return alternatives


def _measure(problem: LineProblem, choice: list[int]) -> tuple[float, float, np.ndarray, int]:
    """Cost, paid minutes, shifts per template and weekends worked of a line."""
    layout = problem.layout
    held = np.asarray(choice, np.int64)
    worked = held >= 0
    at = layout.start[:-1][worked] + held[worked]
    weekends = layout.weekend_number[worked]
    worked_weekends = int(np.count_nonzero(np.bincount(weekends[weekends >= 0])))
    per_template = np.bincount(layout.template[at], minlength=len(problem.templates)).astype(float)
    return float(layout.cost[at].sum()), float(layout.paid[at].sum()), per_template, worked_weekends


def _judged(problem: LineProblem, choice: list[int], unit_min: float) -> Line:
    cost, paid, per_template, weekends = _measure(problem, choice)
    breach = float(np.clip(per_template - problem.max_per_template, 0, None).sum())
    if problem.max_total_min is not None:
        breach += max(0.0, paid - problem.max_total_min) / unit_min
    if problem.min_total_min is not None:
        breach += max(0.0, problem.min_total_min - paid) / unit_min
    if problem.max_weekends is not None:
        breach += max(0, weekends - problem.max_weekends)
    return Line(choice, cost, breach)


def best_line(
    problem: LineProblem, iterations: int = 15, until: float | None = None, current: list[int] | None = None
) -> Line:
    """The best line found in ``iterations`` rounds of pricing (fewer if ``until`` passes; at least one): the
    cheapest that keeps every limit over the horizon, else the one that breaks them least (in shifts). The
    prices of a paid minute and of a weekend worked are found by bisection (total minutes and weekends fall as
    they rise), those of shifts of a template by subgradient steps; lines outside the minutes' window are mended
    into it, those over a template's maximum out of it. Where every priced line breaks the weekends, the search
    is run again with the weekends decided beforehand (``weekends_decided``: those of ``current``, the line
    held, and the most valuable others up to the maximum). The rounds are ``_linekernel.best_line``, compiled:
    as Python around the compiled recursion, three quarters of a Curtois 19 line's 2.9 ms were the Python."""
    layout = problem.layout
    alts = layout.alternatives
    low, high = _minutes_window(problem)
    choice, cost, breach = _compiled().best_line(
        layout.cost, layout.paid, layout.template, layout.start, layout.succession, layout.succession_start,
        layout.weekend_number, problem.max_per_template, low, high, _or_none(problem.max_weekends),
        *_run_rules(problem), alts.start, alts.alt, alts.paid, alts.template, iterations,
        _INF if until is None else until, problem.whole_weekends,
    )
    best = Line(choice.tolist(), float(cost), float(breach))
    if not best.feasible and _weekends_broken(problem, best.choice):
        decided = best_line(weekends_decided(problem, current or []), iterations, until)
        paid_all = layout.paid if len(layout.paid) else np.ones(1)
        best = min(best, _judged(problem, decided.choice, float(paid_all.mean())), key=_rank)
    return best


def _weekends_broken(problem: LineProblem, choice: list[int]) -> bool:
    return problem.max_weekends is not None and _measure(problem, choice)[3] > problem.max_weekends


def weekends_decided(problem: LineProblem, current: list[int]) -> LineProblem:
    """The line's problem with its weekends decided, so the weekend limit holds by construction: open are the
    weekends ``current`` works (it keeps the limit) and, up to the maximum, those whose days are the most
    valuable (their cheapest options, where negative); the days of every other weekend have no options. The
    weekend price and the minute price interact (a weekend given up costs minutes the minute price then buys
    back), so bisecting both together often ends on lines that break the weekends: on Curtois 24, 13 of 25
    lines of a start, by 1-45 weekends; decided, all 25 keep every limit."""
    days_of: dict[int, list[int]] = {}
    for day, weekend in enumerate(problem.weekend_of):
        if weekend is not None:
            days_of.setdefault(weekend, []).append(day)
    worked = {problem.weekend_of[d] for d, k in enumerate(current) if k >= 0} - {None}
    value = {w: sum(float(problem.cost[d].min(initial=0.0)) for d in days) for w, days in days_of.items()}
    room = max(0, (problem.max_weekends or 0) - len(worked))
    opened = worked | set(sorted(set(days_of) - worked, key=lambda w: value[w])[:room])
    closed = {d for w, days in days_of.items() if w not in opened for d in days}

    def kept(per_day: list) -> list:
        return [values[:0] if d in closed else values for d, values in enumerate(per_day)]

    succession = list(problem.succession)
    for d in closed:
        if d > 0:
            succession[d] = succession[d][:, :0]
        if d + 1 < len(succession):
            succession[d + 1] = succession[d + 1][:0, :]
    return dataclasses.replace(
        problem,
        variables=kept(problem.variables),
        cost=kept(problem.cost),
        paid_min=kept(problem.paid_min),
        template=kept(problem.template),
        succession=succession,
        # Open weekends keep their numbers where they are planned whole, so the programme keeps them whole.
        weekend_of=[w if problem.whole_weekends and w in opened else None for w in problem.weekend_of],
        max_weekends=None,
        demand_row=kept(problem.demand_row),
        base_cost=kept(problem.base_cost),
    )


def _rank(line: Line) -> tuple[float, float]:
    return line.breach, line.cost


# Moves of ``polish_line``: the best single-day changes tried as moves of their own, and as the first of a pair.
_POLISH_ANCHORS = 100
_POLISH_TRIES = 30  # per anchor, the cheapest partners checked against every rule


def polish_line(problem: LineProblem, choice: list[int], until: float | None = None) -> list[int]:
    """A line improved by local moves that keep every rule, the best move first, until none gains (or ``until``
    passes): a single day changed (another option, a rest day worked, a worked day rested) or two days changed
    together (a shift moved to another day, a run moved by a day, an option swapped with the minutes made up
    elsewhere). ``best_line`` prices the horizon's limits, so the lines it finds can miss such moves: at the end
    of the best responses on Curtois 21, 5 of 15 lines had a pair worth ~100 (a person short covered). Each
    step's search over the moves is ``_linekernel.best_move``, compiled."""
    held = np.array(choice, np.int64)
    low, high = _minutes_window(problem)
    layout = problem.layout
    alts = layout.alternatives
    near = (problem.max_run or problem.min_run) + problem.min_rest + 1  # pairs this close may share a run
    while until is None or time.perf_counter() < until:
        _, total_min, per_template, weekends = _measure(problem, held)
        current = alts.start + held + 1
        delta = alts.cost - alts.cost[current][alts.day]
        minutes = alts.paid - alts.paid[current][alts.day]
        delta[current] = _INF
        alone = _compiled().locally_kept(
            held, alts.start, alts.alt, layout.start, layout.succession, layout.succession_start, *_run_rules(problem)
        )
        rules = (
            per_template, problem.max_per_template, layout.weekend_number, weekends, _or_none(problem.max_weekends),
            layout.start, layout.template, layout.succession, layout.succession_start, *_run_rules(problem),
            problem.whole_weekends,
        )
        _, best = _compiled().best_move(
            delta, minutes, alone, alts.day, alts.alt, total_min, low, high, near, _POLISH_ANCHORS, _POLISH_TRIES,
            held, rules,
        )
        if not len(best):
            break
        held[alts.day[best]] = alts.alt[best]
    return held.tolist()


def _minutes_window(problem: LineProblem) -> tuple[float, float]:
    """The horizon's paid minutes allowed: minimum and maximum, -inf / inf where there is none."""
    low = float(problem.min_total_min) if problem.min_total_min is not None else -_INF
    high = float(problem.max_total_min) if problem.max_total_min is not None else _INF
    return low, high


def _or_none(limit: int | None) -> int:
    """A limit for the compiled code: -1 for none."""
    return -1 if limit is None else limit


def _run_rules(problem: LineProblem) -> tuple[int, int, int, bool]:
    """The run rules for the compiled code: maximum run of work (-1: none), minimum run of work and of rest,
    edge runs exempt."""
    return _or_none(problem.max_run), problem.min_run, problem.min_rest, problem.edge_exempt


def hint_values(problem: LineProblem, line: Line) -> list[tuple[int, int]]:
    """A line as hint values (proto index, value) of its model's option and work variables. A line that breaks
    a limit slightly is still worth hinting: CP-SAT mends it faster than it finds one (Curtois 22, 3-s lines
    with 2 workers: 8 of 8 found within ~20 of their bounds with the hint, 1 of 8 without)."""
    values = []
    for day, k in enumerate(line.choice):
        values.extend((v, int(i == k)) for i, v in enumerate(problem.variables[day]))
        values.append((problem.work_variables[day], int(k >= 0)))
    return values


def line_choice(problem: LineProblem | LineModel, solution: list[int]) -> list[int]:
    """A solved line model's line: per day the option position worked, -1 for a rest day (``problem``'s
    variables: those of the model solved)."""
    return [next((k for k, v in enumerate(day) if solution[v]), -1) for day in problem.variables]


def priced_line(problem: LineProblem, short: np.ndarray, under: np.ndarray, over: np.ndarray) -> LineProblem:
    """The line's problem against the cover of the others: each option costs its own terms plus what it adds to
    or takes off the cover where ``short`` people are still missing per shift-demand row (weights per person
    ``under`` and ``over``)."""
    layout = problem.layout
    return problem.repriced(layout.base_cost + _cover_cost(layout.demand_row, short, under, over))


def covered_rows(problem: LineProblem, choice: list[int]) -> np.ndarray:
    """The shift-demand rows a line covers: one per worked day whose option counts toward the demand."""
    rows = np.array([problem.demand_row[d][k] for d, k in enumerate(choice) if k >= 0], int)
    return rows[rows >= 0]


# Perturbed best responses (``improve_lines``' ``perturbed``): each option's price raised by a random amount up
# to this share of the mean weight of a person short, the programme run this many times on such prices, each
# line polished against the true ones. Curtois 24, from the construction's equilibrium, 100 s with plain rounds
# between: 12767 taken off with 0.3, 10090 with 0.1, 10277 with 1.0; with 3.0 the perturbed rounds took off
# nothing; 3 tries 10090 against 9080 with 1 (at 0.1). benchmarks/curtois/NOTES.md, thirty-fourth session.
PERTURBED_SHARE = 0.3
PERTURBED_TRIES = 3
# Substitution chains (``improve_lines``' ``chains``): a line gives up places another line could take over, and
# the lines that could respond. An equilibrium's lines each hold places (a day and shift) whose last person they
# are, where someone working an over-covered shift that day could stand in; priced at full weight, no line moves
# off them, though the move and the stand-in together gain (Curtois 24: short on weekends, over on weekdays).
# The line's response is priced with such places discounted by this share of a person's weights, and kept with
# the stand-ins' best responses where together they gain. From Curtois 24's construction, past its perturbed
# rounds (70429), 100 s of chain and plain rounds: 7356 taken off with 0.25, 8469 with 0.5, 10464 with 0.75,
# 11964 with 0.9; with 1.0 (priced as covered) 3891 in 150 s, the line's response changed on ~200 days and its
# stand-ins took the time (benchmarks/curtois/NOTES.md, thirty-fifth session).
CHAIN_DISCOUNT = 0.9
CHAIN_STAND_INS = 3  # per place given up, the lines asked to stand in


def improve_lines(
    problems: list[LineProblem],
    choices: list[list[int]],
    demand: list[ShiftDemand],
    deadline: float,
    *,
    seed: int = 0,
    ruined: list[int] | None = None,
    perturbed: bool = False,
    chains: bool = False,
    chains_first: bool = False,
    threads: int = 1,
) -> float:
    """Re-solve lines one at a time against the cover of all the others (a best response each), in random
    order, while some line gets cheaper and until ``deadline``; ``choices`` are changed in place. Exact where
    the objective is each line's own terms plus the shift-demand cover, as in every model ``line_problem``
    represents. ``ruined`` lines are first taken out of the cover together and put back one at a time, each
    its best response to what is there then, whatever it costs (ruin and recreate: a way out of an
    equilibrium). With ``perturbed``, an equilibrium is not the end: a round follows where each line is priced
    on randomly raised prices (``PERTURBED_SHARE``, ``PERTURBED_TRIES``) and the programme's lines polished
    against the true prices, and the plain rounds go on after any round that gains, until one of these rounds
    gains nothing. With ``chains``, a round of substitution chains (``_chain_round``) follows where neither
    gains, and the plain rounds go on after it if it gains; with ``chains_first`` too, the first round is one of
    chains (for a short search step, where a plain round would take all of it). With ``threads`` above one, the
    plain and perturbed rounds take the lines that many at a time, each's response searched on its own thread
    against the cover before any of them moves; a response whose cover an earlier line of its batch changed
    is polished and weighed again against the cover as it is then (every move kept still gains). The chains'
    stand-ins are asked that many at a time in the same way. Returns the objective the rounds after the ruin
    take off."""
    required, under, over = demand_arrays(demand)
    noise = PERTURBED_SHARE * float(under.mean()) if perturbed and len(under) else 0.0
    noise_rng = np.random.default_rng(seed)

    def rows_of(e: int) -> np.ndarray:
        return covered_rows(problems[e], choices[e])

    def respond(
        e: int, forced: bool = False, noises: list[np.ndarray] | None = None, short: np.ndarray | None = None
    ) -> tuple[list[int], float, float]:
        """Line ``e``'s best response to the cover as it is (its own rows out of it; or to ``short``, the
        people still missing per row without it), priced perturbed by ``noises`` where given: the line, its
        cost and the cost of the line held."""
        priced = priced_line(problems[e], required - cover if short is None else short, under, over)
        current = _measure(priced, choices[e])[0]
        if noises is not None:
            option_cost = priced.layout.cost
            lines = [best_line(priced.repriced(option_cost + noise), current=choices[e]) for noise in noises]
            starts = [line.choice for line in lines if line.feasible]
        else:
            line = best_line(priced, current=choices[e])
            # Both lines polished, the priced one and the one held: the programme's line, dearer than the held
            # one, can still polish to a cheaper line (Curtois 24, at the construction's equilibrium: 3557
            # taken off in 26 s, where the held line's polish alone takes off nothing).
            starts = [line.choice] if line.feasible else []
            if not forced:
                starts.append(choices[e])
        polished = [polish_line(priced, start, until=deadline) for start in starts or [choices[e]]]
        costs = [_measure(priced, choice)[0] for choice in polished]
        best = int(np.argmin(costs))
        return polished[best], costs[best], current

    cover = lines_cover(problems, choices, len(demand))
    rng = random.Random(seed)
    recreated = list(ruined or [])
    for e in recreated:
        np.add.at(cover, rows_of(e), -1)
    rng.shuffle(recreated)
    for e in recreated:
        choices[e] = respond(e, forced=True)[0]
        np.add.at(cover, rows_of(e), 1)

    pool = ThreadPoolExecutor(threads) if threads > 1 else None

    def batch_responses(batch: list[int], perturbing: bool) -> list[tuple[list[int], float, float]]:
        """The batch's best responses, each to the cover as it is without its own line."""
        asks = []
        for e in batch:
            short = required - cover
            np.add.at(short, rows_of(e), 1)
            # Drawn here, in the batch's order: the same draws whatever thread searches the line.
            size = len(problems[e].layout.cost)
            noises = [noise_rng.uniform(0, noise, size) for _ in range(PERTURBED_TRIES)] if perturbing else None
            asks.append((e, noises, short))
        if pool is None:
            return [respond(e, noises=noises, short=short) for e, noises, short in asks]
        return list(pool.map(lambda ask: respond(ask[0], noises=ask[1], short=ask[2]), asks))

    def take(batch: list[int], perturbing: bool = False) -> list[tuple[int, list[int], float]]:
        """The batch's best responses, each taken where it gains: the lines moved, their lines before and
        what each took off."""
        moves = []
        for e, (polished, cost, current) in zip(batch, batch_responses(batch, perturbing), strict=True):
            np.add.at(cover, rows_of(e), -1)
            if moves:  # an earlier line of the batch moved: this one's cover changed
                priced = priced_line(problems[e], required - cover, under, over)
                polished = polish_line(priced, polished, until=deadline)
                cost, current = _measure(priced, polished)[0], _measure(priced, choices[e])[0]
            if cost < current - 1e-9:
                moves.append((e, choices[e], current - cost))
                choices[e] = polished
            np.add.at(cover, rows_of(e), 1)
        return moves

    def chain_round() -> float:
        """A round of substitution chains where ``chains`` asks for them; the objective it took off."""
        if not chains:
            return 0.0
        return _chain_round(problems, choices, cover, (required, under, over), deadline, rng, threads, take)

    perturbing = False  # this round prices perturbed
    try:
        gained = chain_round() if chains_first else 0.0
        while time.perf_counter() < deadline:
            improved = False
            order = list(range(len(problems)))
            rng.shuffle(order)
            for first in range(0, len(order), threads):
                if time.perf_counter() >= deadline:
                    break
                for _, _, gain in take(order[first:first + threads], perturbing):
                    gained += gain
                    improved = True
            if not improved and (perturbing or not noise):
                chained = chain_round()
                if not chained:
                    break  # an equilibrium, and neither the perturbed round nor the chains after it gained
                gained += chained
                improved = True
            perturbing = not improved
    finally:
        if pool is not None:
            pool.shutdown()
    return gained


# Guided phases (a guided local search on the cover): where best responses and chains are left to go on, each
# row short at the start of a phase has its weight per person short raised by this share of it for every phase
# it was short at; the lines respond to the raised prices for a while, then to the true ones, and the cheapest
# roster seen is kept. A line at an equilibrium will not leave a place where it is the last person for a short
# one (it gains 100 there and loses 100 where it leaves); raised prices make it, and the true rounds after it
# fill what it left from lines on over-covered shifts. From Curtois 24's construction at 300 s (38710), 240 s:
# plain, perturbed and chain rounds 36978, guided phases 34587 with 0.5 and 35863 with 1.0. In the construction,
# 600 s: Curtois 24 53915 / 53652 (seeds 0 / 1) against 56016 / 56256, Curtois 22 33112 against 33288
# (benchmarks/curtois/NOTES.md, fifty-first session).
GUIDED_RAISE = 0.5
# Of the time given: the plain, perturbed and chain rounds first; then each phase's raised and true rounds.
GUIDED_SHARES = (0.25, 0.06, 0.12)
# The phases end after this many in a row without a cheaper roster: the time left goes to the neighbourhood
# search. Curtois 20's cheapest came at phase 13 (32 s) of 110 (295 s), Curtois 22's at phase 7 (167 s) of 15;
# on Curtois 23 and 24 each phase or every other one gives a cheaper roster up to the deadline. 600 s, seed 0:
# Curtois 20 4942 against 5010, Curtois 22 32806 against 33257 (benchmarks/curtois/NOTES.md, fifty-second
# session).
GUIDED_PATIENCE = 4


def lines_cover(problems: list[LineProblem], choices: list[list[int]], rows: int) -> np.ndarray:
    """People on each of the ``rows`` shift-demand rows."""
    cover = np.zeros(rows)
    for problem, choice in zip(problems, choices, strict=True):
        np.add.at(cover, covered_rows(problem, choice), 1)
    return cover


def own_cost(problem: LineProblem, choice: list[int]) -> float:
    """A line's own terms (requests, paid hours): its objective less what it adds to or takes off the cover."""
    return float(sum(problem.base_cost[d][k] for d, k in enumerate(choice) if k >= 0))


def lines_cost(problems: list[LineProblem], choices: list[list[int]], demand: list[ShiftDemand]) -> float:
    """The objective of a roster of lines, less its constant: each line's own terms, and the cover's shortfall
    and excess."""
    required, under, over = demand_arrays(demand)
    cover = lines_cover(problems, choices, len(required))
    own = sum(own_cost(problem, choice) for problem, choice in zip(problems, choices, strict=True))
    return own + float(under @ np.clip(required - cover, 0, None) + over @ np.clip(cover - required, 0, None))


def guided_lines(
    problems: list[LineProblem],
    choices: list[list[int]],
    demand: list[ShiftDemand],
    deadline: float,
    *,
    seed: int = 0,
    threads: int = 1,
) -> float:
    """Best responses with perturbed rounds and chains (``improve_lines``) for the first of ``GUIDED_SHARES``
    of the time to ``deadline``, then guided phases until it: the rows short so far priced higher
    (``GUIDED_RAISE``), plain rounds against those prices for the second share at most, then plain and chain
    rounds against the true ones for the third; ended early after ``GUIDED_PATIENCE`` phases in a row without
    a cheaper roster. ``choices`` are changed in place and left at the cheapest roster seen. Returns the
    objective taken off."""
    start = time.perf_counter()
    first_s, raised_s, true_s = (share * (deadline - start) for share in GUIDED_SHARES)
    required = demand_arrays(demand)[0]
    start_cost = lines_cost(problems, choices, demand)
    improve_lines(
        problems, choices, demand, min(deadline, start + first_s), seed=seed, perturbed=True, chains=True,
        threads=threads,
    )
    best_cost, best = lines_cost(problems, choices, demand), [list(choice) for choice in choices]
    times_short = np.zeros(len(demand))
    phase = idle = 0
    while time.perf_counter() < deadline and idle < GUIDED_PATIENCE:
        phase += 1
        short = lines_cover(problems, choices, len(demand)) < required
        if not short.any():
            break  # nothing to guide the lines to
        times_short += short
        raised = [
            row.model_copy(update={"weight_under": round(row.weight_under * (1 + GUIDED_RAISE * times_short[r]))})
            for r, row in enumerate(demand)
        ]
        improve_lines(
            problems, choices, raised, min(deadline, time.perf_counter() + raised_s), seed=seed + phase,
            threads=threads,
        )
        improve_lines(
            problems, choices, demand, min(deadline, time.perf_counter() + true_s), seed=seed + phase, chains=True,
            threads=threads,
        )
        cost = lines_cost(problems, choices, demand)
        idle += 1
        if cost < best_cost:
            best_cost, best, idle = cost, [list(choice) for choice in choices], 0
    choices[:] = best
    return start_cost - best_cost


def _worked_rows(problem: LineProblem, choice: list[int]) -> np.ndarray:
    """Per day, the shift-demand row the line covers (-1: none)."""
    return np.array([problem.demand_row[d][k] if k >= 0 else -1 for d, k in enumerate(choice)], np.int64)


def _chain_round(
    problems: list[LineProblem],
    choices: list[list[int]],
    cover: np.ndarray,
    prices: tuple[np.ndarray, np.ndarray, np.ndarray],
    deadline: float,
    rng: random.Random,
    threads: int,
    take: Callable[[list[int]], list[tuple[int, list[int], float]]],
) -> float:
    """A round of substitution chains, each line once in random order: its response priced with the places it
    is the last person of discounted (``CHAIN_DISCOUNT``) where a line working an over-covered shift that day
    has the place among its options; the places it then leaves short offered to up to ``CHAIN_STAND_INS`` such
    lines each, whose best responses (``take``: true prices, ``threads`` lines at a time, each taken where it
    gains) follow; the whole chain kept if together they gain, else undone. ``prices``: each shift-demand
    row's requirement and under- and over-cover weights (``demand_arrays``). ``choices`` and ``cover`` are
    changed in place. Returns the objective taken off."""
    required, under, over = prices
    if not len(required):
        return 0.0  # no place to give up or stand in on
    owner = np.concatenate([np.full(len(p.layout.demand_row), e) for e, p in enumerate(problems)])
    day = np.concatenate([np.repeat(np.arange(len(p.cost)), np.diff(p.layout.start)) for p in problems])
    row = np.concatenate([p.layout.demand_row for p in problems])
    counted = row >= 0
    owner, day, row = owner[counted], day[counted], row[counted]
    worked = np.array([_worked_rows(p, c) for p, c in zip(problems, choices, strict=True)])
    gained = 0.0
    order = list(range(len(problems)))
    rng.shuffle(order)
    for a in order:
        if time.perf_counter() >= deadline:
            break
        # The options of every other line working an over-covered shift on the option's day.
        held = worked[owner, day]
        spare = (held >= 0) & (cover[np.maximum(held, 0)] > required[np.maximum(held, 0)]) & (owner != a)
        standable = np.zeros(len(required), bool)
        standable[row[spare]] = True
        before = covered_rows(problems[a], choices[a])
        np.add.at(cover, before, -1)
        short = required - cover
        priced = priced_line(problems[a], short, under, over)
        rows = np.maximum(priced.layout.demand_row, 0)
        last = (priced.layout.demand_row >= 0) & standable[rows] & (short[rows] == 1)
        discounted = priced.repriced(priced.layout.cost + np.where(last, CHAIN_DISCOUNT * (under + over)[rows], 0.0))
        line = best_line(discounted, current=choices[a])
        if not line.feasible or line.choice == choices[a]:
            np.add.at(cover, before, 1)
            continue
        moved = polish_line(discounted, line.choice, until=deadline)
        change = _measure(priced, moved)[0] - _measure(priced, choices[a])[0]
        held_before = {a: choices[a]}
        choices[a] = moved
        after = covered_rows(problems[a], moved)
        np.add.at(cover, after, 1)
        left = [r for r in np.setdiff1d(before, after) if cover[r] < required[r]]
        for r in left:
            stand_ins = [int(b) for b in np.unique(owner[spare & (row == r)]) if int(b) not in held_before]
            rng.shuffle(stand_ins)
            stand_ins = stand_ins[:CHAIN_STAND_INS]
            for first in range(0, len(stand_ins), threads):
                if change < 0 or time.perf_counter() >= deadline:
                    break
                for b, choice, gain in take(stand_ins[first:first + threads]):
                    held_before[b] = choice
                    change -= gain
            if change < 0:
                break
        if change < -1e-9:
            gained -= change
            for e in held_before:
                worked[e] = _worked_rows(problems[e], choices[e])
        else:
            for e, choice in held_before.items():
                np.add.at(cover, covered_rows(problems[e], choices[e]), -1)
                choices[e] = choice
                np.add.at(cover, covered_rows(problems[e], choice), 1)
    return gained
