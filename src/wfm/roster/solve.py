"""Solving a roster scenario: always a roster, with an explanation when the hard rules clash."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from wfm.roster import lns
from wfm.roster.columns import Dive, dived_lines
from wfm.roster.domain import Scenario
from wfm.roster.greedy import greedy_assignments
from wfm.roster.lns import LnsStats
from wfm.roster.model import NO_SKILL, RosterModel, RuleGroup, employee_rules
from wfm.roster.progress import Progress, ProgressCallback, stop_on_stall
from wfm.roster.sequential import Lines, sequential_assignments
from wfm.roster.tables import ROSTER_COLUMNS, coverage_of, extract_roster

_RELAX_PENALTY = 10_000_000  # cost of breaking one clashing rule group in a best-effort roster


@dataclass(frozen=True)
class SolveSettings:
    """Solver controls. ``num_workers`` None means all cores of the machine."""

    time_limit_s: float = 30.0
    num_workers: int | None = None
    seed: int = 0
    relative_gap: float = 0.0
    hint: pd.DataFrame | None = None
    log: bool = False
    explain: bool = True
    lns: bool = True
    # Plain CP-SAT (not after a dive, nor above ``plain_max_variables``: those go straight to the neighbourhood
    # search) runs for at least ``lns_start_share`` of the time limit, then on while it keeps improving: it
    # hands over to the neighbourhood search once it found nothing better for ``lns_stall_share``.
    lns_start_share: float = 0.3
    lns_stall_share: float = 0.15
    # ... unless its best roster is within this share of the proven bound: the neighbourhood search could gain at
    # most that, and it cannot prove a roster optimal (Curtois 3, 60 s: one run in ~30 handed over at 1003 with
    # bound 1001 and ended there; the plain search proves 1001 in 2-21 s).
    lns_min_gap: float = 0.01
    greedy_start: bool = True  # start from a greedy roster when no hint is given
    # A model up to this many variables first goes to plain CP-SAT alone, for up to ``probe_share`` of the time
    # limit, and is done if that proves a roster optimal: CP-SAT settles such a model sooner than a constructed
    # start does (Curtois 1, 260 variables: proven in 0.3 s; its dives' LP bound, 558, cannot prove the optimum
    # 607, so they repeated for 15 s first). 0: off.
    probe_max_variables: int = 500
    probe_share: float = 0.05
    # When the greedy start gives up on a model above ``plain_max_variables``, a roster built one employee at a
    # time (``wfm.roster.sequential``) in up to this share of the time limit: CP-SAT on the whole of Curtois 21
    # found no roster in 600 s, the employee-by-employee construction one in 60 s. Time spent on the lines pays
    # more than neighbourhood search on such a model (Curtois 21: 55k built in 61 s, 51k after 140 s more of
    # LNS, 44k built in 280 s).
    sequential_share: float = 0.5
    # ... its lines planned with their weekends whole (both days worked or neither) where employees have a weekend
    # limit (``sequential_assignments``' ``whole_weekends``): a weekend worked on one day uses up one of the
    # employee's weekends for one shift. Curtois 22 after 300 s had 185 such weekends, so at least 266 weekend
    # shifts short where 81 must be (its weekend demand is 1.03 times what the staff's weekends allow).
    # Construction alone (60 s): 41247 with 75 split weekends against 42337 with 231; 300 s, seeds 0 / 1:
    # 34508 / 35121 against 36653 / 35932; 600 s, seed 0: Curtois 20, 22, 23, 24 4974, 34080, 23076, 76287
    # against 5184, 34442, 26063, 78684 (benchmarks/curtois/NOTES.md, thirty-first session). The neighbourhood
    # search after such a start then splits no weekend it finds whole (``RosterModel.weekend_joints``): Curtois
    # 22, 300 s, seeds 0 / 1: 35252 / 35368 with 47 / 62 split weekends against 35799 / 35882 with 80 / 75;
    # 600 s, seed 0: 34189 against 34478 (thirty-second session). Not after a dive's start (Curtois 8 lost), nor
    # where the weekends are not short (``_keeps_weekends_whole``).
    whole_weekends: bool = True
    # ... and its best responses going on in guided phases (``linedp.guided_lines``: rows left short priced
    # higher for a while) instead of ending at an equilibrium, while they gain, up to this share of the time
    # limit (not less than the construction's); 0: off.
    guided_share: float = 0.5
    # When the greedy start gives up on a smaller model whose lines all have their dynamic programme (cover per
    # day and shift), a roster by column generation and diving (``wfm.roster.columns``) in up to this share of
    # the time limit, as the neighbourhood search's start; 0: off. Curtois at 60 s, medians of 3: 5 1146,
    # 6 1961, 7 1059, 8 1343, 9 441, 10 4631, 11 3449 against 1248, 2150, 1071, 1628, 442, 4833, 3553 without
    # (benchmarks/curtois/NOTES.md, seventeenth to twentieth sessions); 12 4255 and 4669 against 4854-5987
    # (twenty-fourth, once its root fitted). Half the time, since the neighbourhood search follows the dive
    # directly: Curtois 12 ends its dive at the deadline, and the search gains ~100 a step after it (4044 / 4058 /
    # 4056 at 60 s; 4254 / 4254 with 0.75 and plain CP-SAT stopped after 1.8 s without a better roster).
    columns_share: float = 0.5
    # ... on horizons up to this many days. Curtois at 600 s, one run each (nineteenth and twentieth sessions):
    # 14 and 15 (42 days) 1299 and 3938, 16 and 17 (56 days) 3235 and 5758, 18 and 19 (84 days) 4567 and 3468,
    # against 1288, 4999, 3640, 6287, 5381 and 4387 by plain CP-SAT's start.
    columns_max_days: int = 84
    # The lines a dive fixed last, this share of its employees, are solved again by CP-SAT with every other line
    # kept, for as long as the dive took over them: its last fixings raise its LP most (Curtois 8: 1303 -> 1400
    # over the last seven of 30). 0: off. Curtois 8, the same dives (ad hoc ``tail.py``, 60 s): 1443 -> 1341,
    # 1549 -> 1340, 1397 -> 1369, 1355 -> 1343, 1563 -> 1458 with CP-SAT's 10 s on the last 12 (the dive took
    # ~10 s over them).
    dive_mend_share: float = 0.4
    # Where a dive ends early, further dives from lines built with the next seeds, for up to this share of the
    # time limit in all, and the best roster of them kept: the dive's roster depends on its start (Curtois 6,
    # eight seeds, ~1.8 s each: 1954-2160).
    dive_repeat_share: float = 0.25
    # Above this many model variables, a greedy start goes straight to the neighbourhood search: plain CP-SAT's
    # presolve alone would take most of a minute.
    plain_max_variables: int = 30_000
    # Up to this many model variables, the neighbourhood search's steps search with the LP, as plain CP-SAT
    # does (and two windows apart are a kind of step); above it, light steps without it, whose many more steps
    # pay more on the largest models (Curtois 21-24, 114k-1.1M). Curtois at 600 s, seeds 0 / 1 against light
    # steps: 13 (45k variables) 1960 / 1770 against 2105 / 2607; 20 (48k) 5184 against 5329 (seed 0).
    lp_steps_max_variables: int = 50_000
    # The full-problem search of the plain phases when fewer than ``PORTFOLIO_WORKERS`` workers run. CP-SAT's
    # small portfolio searches without the LP's guidance, yet the LP of a roster's cover is often tight: on
    # Curtois 10 (2 cores, 40 s) the default search ends at 5177 with bound 10, the reduced-cost search at
    # 4642 with bound 4625 (best known 4631). benchmarks/curtois/NOTES.md has the comparison.
    small_portfolio_search: str | None = "reduced_costs"

    @property
    def workers(self) -> int:
        """CP-SAT workers: ``num_workers``, or all cores of the machine."""
        return self.num_workers or os.cpu_count() or 1


@dataclass
class Conflict:
    """Hard rules that cannot hold together, and what was done about it."""

    employee_ids: list[str]
    rules: list[str]
    message: str


@dataclass
class RosterResult:
    status: str
    objective: float | None
    bound: float | None
    roster: pd.DataFrame
    coverage: pd.DataFrame
    breakdown: dict[str, int]
    conflicts: list[Conflict] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        return abs(self.objective - self.bound) / max(1.0, abs(self.objective))

    @property
    def unmet_demand(self) -> pd.DataFrame:
        """Intervals and skills scheduled below their requirement."""
        if self.coverage.empty:
            return self.coverage
        short = self.coverage[self.coverage["scheduled"] < self.coverage["required"]].copy()
        short["missing"] = short["required"] - short["scheduled"]
        return short


PORTFOLIO_WORKERS = 8  # from this many workers on, CP-SAT's own portfolio already runs the LP-guided searches


def _solver(settings: SolveSettings, time_limit_s: float, *, search: bool = False) -> cp_model.CpSolver:
    """A CP-SAT solver with the settings' limits; ``search`` for the phases that optimise the whole model."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, time_limit_s)
    workers = settings.workers
    solver.parameters.num_workers = workers
    if search:
        solver.parameters.subsolvers.extend(_search_subsolvers(settings))
    solver.parameters.random_seed = settings.seed
    solver.parameters.relative_gap_limit = settings.relative_gap
    solver.parameters.log_search_progress = settings.log
    return solver


def _search_subsolvers(settings: SolveSettings) -> tuple[str, ...]:
    """CP-SAT's subsolvers for searches of the whole model or a neighbourhood with the LP: the settings' small
    portfolio search under ``PORTFOLIO_WORKERS`` workers, else () for CP-SAT's own portfolio."""
    if settings.small_portfolio_search and settings.workers < PORTFOLIO_WORKERS:
        return (settings.small_portfolio_search,)
    return ()


def _above_plain(built: RosterModel, settings: SolveSettings) -> bool:
    """Whether the model is above ``plain_max_variables``: too large for plain CP-SAT's search of the whole
    model."""
    return len(built.model.proto.variables) > settings.plain_max_variables


def precheck(scenario: Scenario) -> tuple[list[Conflict], frozenset[RuleGroup]]:
    """Clashes visible without search (pins on days off, minimum hours above what availability allows).

    Returns the conflicts and the rule groups to leave out of the model so the rest can still be solved.
    """
    conflicts: list[Conflict] = []
    skip: set[RuleGroup] = set()
    templates = {t.id: t for t in scenario.templates}
    dates = set(scenario.dates)
    for employee in scenario.employees:
        rules = employee_rules(scenario, employee)
        blocked = set(employee.days_off) | set(employee.pinned_rest_days)
        for pin in employee.pinned:
            if pin.date not in dates:
                continue
            reason = None
            if pin.date in blocked:
                reason = "falls on a day off or a leader-pinned rest day"
            elif rules.allowed_templates is not None and pin.template not in rules.allowed_templates:
                reason = f"uses template {pin.template!r}, not allowed by the contract"
            elif pin.skill is not None and pin.skill not in employee.skills:
                reason = f"needs skill {pin.skill!r}, which the employee lacks"
            elif templates[pin.template].skills is not None and not set(templates[pin.template].skills) & set(
                employee.skills
            ):
                reason = f"template {pin.template!r} needs a skill the employee lacks"
            if reason:
                skip.add(RuleGroup(employee.id, "pinned", str(pin.date)))
                conflicts.append(
                    Conflict(
                        [employee.id],
                        ["pinned", "days_off"],
                        f"{employee.id}: pinned shift on {pin.date} {reason}; the pin was dropped",
                    )
                )
        if (
            rules.min_minutes_total is not None
            and rules.max_minutes_total is not None
            and rules.min_minutes_total > rules.max_minutes_total
        ):
            skip.add(RuleGroup(employee.id, "min_minutes_total"))
            conflicts.append(
                Conflict(
                    [employee.id],
                    ["min_minutes_total", "max_minutes_total"],
                    f"{employee.id}: minimum {rules.min_minutes_total} min exceeds maximum "
                    f"{rules.max_minutes_total} min; the minimum was dropped",
                )
            )
        if rules.min_minutes_total:
            longest = max((max(t.lengths) for t in scenario.templates), default=0) + (rules.handover_min or 0)
            if rules.max_shift_minutes is not None:
                longest = min(longest, rules.max_shift_minutes)
            free_days = [d for d in scenario.dates if d not in blocked]
            workable = len(free_days)
            if rules.max_days_per_week is not None:
                workable = min(workable, rules.max_days_per_week * (-(-scenario.days // 7)))
            if workable * longest < rules.min_minutes_total:
                skip.add(RuleGroup(employee.id, "min_minutes_total"))
                conflicts.append(
                    Conflict(
                        [employee.id],
                        ["min_minutes_total", "days_off"],
                        f"{employee.id}: minimum {rules.min_minutes_total} min over the horizon cannot be reached "
                        f"with {len(free_days)} available days (at most {workable * longest} min); "
                        "the minimum was dropped",
                    )
                )
    return conflicts, frozenset(skip)


def _explain(scenario: Scenario, skip: frozenset[RuleGroup], settings: SolveSettings) -> tuple[list[Conflict], set]:
    """Find clashing rule groups with CP-SAT assumptions, one core at a time."""
    conflicts: list[Conflict] = []
    soft: set[RuleGroup] = set()
    for _ in range(20):
        built = RosterModel(scenario, explain=True, skip=skip)
        built.model.ClearObjective()
        hard = [lit for group, lit in built.group_literals.items() if group not in soft]
        for group, lit in built.group_literals.items():
            if group in soft:
                built.model.Add(lit == 0)
        built.model.AddAssumptions(hard)
        solver = _solver(settings, min(30.0, settings.time_limit_s))
        status = solver.Solve(built.model)
        if status != cp_model.INFEASIBLE:
            break
        by_index = {lit.Index(): group for group, lit in built.group_literals.items()}
        core = [by_index[i] for i in solver.SufficientAssumptionsForInfeasibility() if i in by_index]
        if not core:
            break
        soft.update(core)
        conflicts.append(
            Conflict(
                sorted({g.employee_id for g in core}),
                sorted({g.rule for g in core}),
                "these rules cannot all hold: "
                + "; ".join(f"{g.employee_id} {g.rule}{' (' + g.detail + ')' if g.detail else ''}" for g in core)
                + ". The roster keeps as many of them as it can.",
            )
        )
    return conflicts, soft


def solve_roster(
    scenario: Scenario, settings: SolveSettings | None = None, progress: Callable[[Progress], None] | None = None
) -> RosterResult:
    """Solve a scenario. Coverage is soft; hard rules that clash are explained and relaxed as little as possible.

    A tiny model without a hint goes to plain CP-SAT first (``probe_max_variables``), and is done if that proves
    a roster optimal. Otherwise, without a hint, a greedy roster (``wfm.roster.greedy``; on large scenarios where
    it gives up, one built employee by employee, ``wfm.roster.sequential``) is completed by CP-SAT with its
    assignments fixed, so a first roster exists early even for large scenarios; with a hint (a previous roster,
    as when re-rostering), that roster is the first solution wherever it can be kept. Plain CP-SAT, hinted with
    it, then runs for at least ``lns_start_share`` of the time limit and on while it improves; if it stalls
    without a proof of optimality, large neighbourhood search (``wfm.roster.lns``) improves the best roster for
    the rest of the time. A dive's roster, and any start on a model above ``plain_max_variables``, go to the
    neighbourhood search directly.
    """
    settings = settings or SolveSettings()
    started = time.perf_counter()
    deadline = started + settings.time_limit_s
    conflicts, skip = precheck(scenario)
    built = RosterModel(scenario, skip=skip)
    callback = ProgressCallback(progress)
    start_solver = None
    responses = None  # best responses for the neighbourhood search, where the constructed lines have them
    floor = -math.inf  # a lower bound proven while constructing the start
    dived = False  # the start is a dive's roster (``columns_share``)
    if settings.hint is not None and not settings.hint.empty:
        # A previous roster (re-rostering): kept as it is where still possible, as the first solution.
        values = _hint_values(built, settings.hint)
        start_solver = _fixed_start(built, settings, deadline, callback, values)
        if start_solver is None:  # it cannot be kept whole: let CP-SAT start from it
            built.model.proto.solution_hint.vars.extend(i for i, _ in values)
            built.model.proto.solution_hint.values.extend(v for _, v in values)
    elif settings.greedy_start and (probe := _optimal_probe(built, settings, callback)) is not None:
        start_solver, floor = probe, probe.BestObjectiveBound()
    elif settings.greedy_start and (start := _start_values(built, settings, skip, deadline)) is not None:
        responses, dived = start.responses, start.dived
        if start.bound is not None:  # a search that reaches the bound stops there
            floor = callback.target = start.bound
        start_solver = _fixed_start(built, settings, deadline, callback, start.values)
        if start_solver is not None and start.mended:
            start_solver = _mended_start(built, settings, start_solver, callback, start.mended, start.mend_until)
    # Straight to the neighbourhood search: above ``plain_max_variables`` plain CP-SAT's presolve alone would eat
    # the time; after a dive, the search's LP-guided steps gain more than plain CP-SAT's (Curtois 12 at 60 s:
    # 4044 / 4058 / 4056, against 4247 / 4364 / 4268 with plain CP-SAT run on while it kept improving by a few
    # units at a time; benchmarks/curtois/NOTES.md, twenty-ninth session).
    straight_to_lns = start_solver is not None and settings.lns and (_above_plain(built, settings) or dived)
    if start_solver is not None and start_solver.ObjectiveValue() <= floor:  # proven optimal already
        solver, status, bound = start_solver, cp_model.OPTIMAL, floor
    elif straight_to_lns:  # no bound from plain CP-SAT: the dive's, if any, is the floor
        solver, status, bound = start_solver, cp_model.UNKNOWN, None
    else:
        solver = _solver(settings, deadline - time.perf_counter(), search=True)
        if settings.lns:
            earliest = started + settings.time_limit_s * settings.lns_start_share
            stall_s = settings.time_limit_s * settings.lns_stall_share
            with stop_on_stall(solver, callback, earliest, stall_s, min_gap=settings.lns_min_gap):
                status = solver.Solve(built.model, callback)
        else:
            status = solver.Solve(built.model, callback)
        bound = solver.BestObjectiveBound() if status != cp_model.INFEASIBLE else None
    start_better = start_solver is not None and (
        status == cp_model.UNKNOWN
        or (status == cp_model.FEASIBLE and start_solver.ObjectiveValue() < solver.ObjectiveValue())
    )
    if start_better:
        solver, status = start_solver, cp_model.FEASIBLE
    elif settings.lns and status == cp_model.UNKNOWN and deadline - time.perf_counter() > 1.0:
        solver = _solver(settings, deadline - time.perf_counter(), search=True)  # no roster yet: keep searching plainly
        status = solver.Solve(built.model, callback)
        bound = solver.BestObjectiveBound()
    if status == cp_model.INFEASIBLE and settings.explain:
        found, soft = _explain(scenario, skip, settings)
        conflicts.extend(found)
        floor = -math.inf  # the start's bound holds for the rules kept, not for a model that may break them
        built = RosterModel(scenario, explain=True, skip=skip)
        for group, lit in built.group_literals.items():
            if group in soft:
                built.objective.add("broken_rules", 1 - lit, _RELAX_PENALTY)
            else:
                built.model.add(lit == 1)
        built.model.minimize(built.objective.expression())
        callback = ProgressCallback(progress)
        solver = _solver(settings, max(1.0, deadline - time.perf_counter()), search=True)
        status = solver.Solve(built.model, callback)
        bound = solver.BestObjectiveBound()
    status_name = "FEASIBLE" if solver is start_solver else solver.StatusName(status)
    found_roster = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    objective = solver.ObjectiveValue() if found_roster else None
    if found_roster and floor > (bound if bound is not None else -math.inf):
        bound = floor
    lns_stats = None
    at_bound = found_roster and bound is not None and objective <= bound
    if settings.lns and status_name == "FEASIBLE" and not at_bound and deadline - time.perf_counter() > 1.0:
        solver, objective, lns_stats = _neighbourhood_search(
            built, solver, settings, deadline, callback, bound, responses, floor
        )
    if found_roster and bound is not None and objective <= bound:  # also at a bound proven outside the search
        status_name = "OPTIMAL"
    stats = {
        "wall_time_s": time.perf_counter() - started,
        "first_solution_s": callback.first_solution_s if callback.first_solution_s is not None else float("nan"),
        "solutions": float(callback.solutions),
        "variables": float(len(built.model.Proto().variables)),
        "constraints": float(len(built.model.Proto().constraints)),
    }
    if lns_stats is not None:
        stats.update(lns_steps=float(lns_stats.steps), lns_improvements=float(lns_stats.improvements),
                     lns_walk_moves=float(lns_stats.walk_moves), lns_request_share=lns_stats.request_share)
        stats.update({f"lns_gain_{kind}": gain for kind, gain in lns_stats.gain_by_kind.items()})
        stats.update({f"lns_seconds_{kind}": s for kind, s in lns_stats.seconds_by_kind.items()})
    if not found_roster:
        empty = pd.DataFrame(columns=ROSTER_COLUMNS)
        return RosterResult(status_name, None, None, empty, coverage_of(scenario, empty), {}, conflicts, stats)
    roster = extract_roster(built, solver)
    return RosterResult(
        status=status_name,
        objective=objective,
        bound=bound,
        roster=roster,
        coverage=coverage_of(scenario, roster),
        breakdown=built.objective.breakdown(solver),
        conflicts=conflicts,
        stats=stats,
    )


def _optimal_probe(
    built: RosterModel, settings: SolveSettings, callback: ProgressCallback
) -> cp_model.CpSolver | None:
    """Plain CP-SAT on a model of at most ``probe_max_variables`` for ``probe_share`` of the time limit: the
    solver if it proved a roster optimal, else None (the construction and the later phases then take over)."""
    if len(built.model.proto.variables) > settings.probe_max_variables or settings.probe_share <= 0:
        return None
    solver = _solver(settings, settings.time_limit_s * settings.probe_share, search=True)
    return solver if solver.Solve(built.model, callback) == cp_model.OPTIMAL else None


def _fixed_solve(built: RosterModel, settings: SolveSettings, values: list[tuple[int, int]], limit_s: float):
    """Solve with the given (proto index, value) pairs fixed: completes a partial roster, or re-creates one."""
    proto = built.model.proto
    proto.solution_hint.vars.clear()  # a hint left by an earlier phase would clash with these values
    proto.solution_hint.values.clear()
    proto.solution_hint.vars.extend(i for i, _ in values)
    proto.solution_hint.values.extend(v for _, v in values)
    solver = _solver(settings, limit_s)
    solver.parameters.fix_variables_to_their_hinted_value = True
    status = solver.Solve(built.model)
    proto.solution_hint.vars.clear()
    proto.solution_hint.values.clear()
    return solver, status


def _fixed_start(
    built: RosterModel,
    settings: SolveSettings,
    deadline: float,
    callback: ProgressCallback,
    values: list[tuple[int, int]],
) -> cp_model.CpSolver | None:
    """A roster with the given assignments fixed, completed by CP-SAT (breaks, counts), reported as the first
    solution and left as the hint of the later phases; None if those assignments cannot be completed."""
    solver, status = _fixed_solve(built, settings, values, max(1.0, (deadline - time.perf_counter()) / 2))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    callback.external(solver.ObjectiveValue(), float("-inf"))
    solution = list(solver.ResponseProto().solution)
    built.model.proto.solution_hint.vars.extend(range(len(solution)))
    built.model.proto.solution_hint.values.extend(solution)
    return solver


@dataclass
class _Start:
    """A constructed first roster: assignment values (proto index, value), its lines' best responses for the
    neighbourhood search where it has them, the employees whose lines CP-SAT solves again before the search,
    by ``mend_until`` (a dive's last fixings), and a lower bound where a dive's root proved one."""

    values: list[tuple[int, int]]
    responses: lns.LineResponses | None = None
    mended: list[int] = field(default_factory=list)
    mend_until: float = 0.0
    bound: int | None = None  # a lower bound on the objective, proven while constructing it
    dived: bool = False  # the roster is a dive's


def _start_values(
    built: RosterModel, settings: SolveSettings, skip: frozenset[RuleGroup], deadline: float
) -> _Start | None:
    """A constructed first roster: the greedy one (``wfm.roster.greedy``), or on a large model where that gives
    up, one built employee by employee (``wfm.roster.sequential``), with its lines' best responses, or on a
    smaller one a dive over the lines (``wfm.roster.columns``); None if none of them."""
    chosen = greedy_assignments(built)
    responses = None
    mended: list[int] = []
    mend_until = 0.0
    bound = None
    dive: Dive | None = None
    scenario = built.scenario
    if chosen is None and _above_plain(built, settings):
        now = time.perf_counter()
        until = min(deadline, now + settings.time_limit_s * settings.sequential_share)
        guided_until = (
            min(deadline, now + settings.time_limit_s * settings.guided_share) if settings.guided_share > 0 else None
        )
        # Lines get their floor of search time past ``until`` only up to half the time after it: the rest is the
        # neighbourhood search's, which a 24-agent fortnight of CP-SAT lines (no programmes) otherwise lost on a
        # slow machine (its lines, at the floor, ran to a second before the deadline).
        construction = sequential_assignments(
            scenario, until, workers=settings.workers, seed=settings.seed, skip=skip, give_up=deadline - 1.0,
            floor_until=until + (deadline - until) / 2, whole_weekends=settings.whole_weekends,
            guided_until=guided_until,
        )
        if construction is None:
            return None
        chosen = construction.chosen
        if construction.lines is not None:
            responses = _line_responses(built, construction.lines)
    elif (
        chosen is None and settings.columns_share > 0 and scenario.days <= settings.columns_max_days
        and scenario.shift_demand and not scenario.requirements
    ):
        until = min(deadline, time.perf_counter() + settings.time_limit_s * settings.columns_share)
        found = _dived_start(scenario, settings, skip, until)
        if found is not None:
            chosen, dive, bound = found
            mended, mend_s = dive.last_fixed(settings.dive_mend_share)
            mend_until = min(until, time.perf_counter() + mend_s)
    if chosen is None:
        return None
    values = [(var.Index(), int(key in chosen)) for key, var in built.x.items()]
    return _Start(values, responses, mended, mend_until, bound, dived=dive is not None)


def _dived_start(
    scenario: Scenario, settings: SolveSettings, skip: frozenset[RuleGroup], until: float
) -> tuple[dict[tuple[int, int, str], int], Dive, int | None] | None:
    """A first roster by column generation and diving over the lines (``wfm.roster.columns``) by ``until``,
    from lines built employee by employee (a tenth of that time), the dive, and the best lower bound of the
    dives' roots on the objective (None if none was priced to proof); None where the lines have no dynamic
    programme or the dive would not finish in time (plain CP-SAT is then left the time from there). While a
    dive would fit again in ``dive_repeat_share`` of the time limit, it is repeated from lines built with the
    next seed, and the best roster kept."""
    began = time.perf_counter()
    repeat_until = min(until, began + settings.time_limit_s * settings.dive_repeat_share)
    best: tuple[dict[tuple[int, int, str], int], Dive] | None = None
    bound: int | None = None
    seed, deadline = settings.seed, until
    while True:
        now = time.perf_counter()
        construction = sequential_assignments(
            scenario, now + (deadline - now) / 10, workers=settings.workers, seed=seed, skip=skip, give_up=deadline,
            keep_models=True,
        )
        if construction is None or construction.lines is None:
            break
        lines = construction.lines
        dived = dived_lines(lines.problems, lines.choices, lines.demand, deadline, seed=seed, models=lines.models)
        if dived is None:
            break
        if dived.bound is not None:  # the objective is integral
            found = math.ceil(dived.bound - 1e-6 * max(1.0, abs(dived.bound)))
            bound = found if bound is None else max(bound, found)
        if best is None or dived.cost < best[1].cost:
            best = (lines.chosen(dived.lines), dived)
        if bound is not None and best[1].offset is not None and best[1].cost + best[1].offset <= bound + 1e-6:
            break  # proven optimal
        # Another dive where one as long as this one, and half again, fits before ``repeat_until``.
        ended = time.perf_counter()
        if ended + 1.5 * (ended - now) > repeat_until:
            break
        seed, deadline = seed + 1, repeat_until
    return None if best is None else (*best, bound)


def _mended_start(
    built: RosterModel,
    settings: SolveSettings,
    start_solver: cp_model.CpSolver,
    callback: ProgressCallback,
    mended: list[int],
    until: float,
) -> cp_model.CpSolver:
    """The first roster with the lines of the ``mended`` employees solved again by CP-SAT, every other
    employee's assignments kept, by ``until``; the solver of the better roster, whose solution is left as the
    hint of the later phases. A dive's last fixings are where its roster is furthest from its LP, and a few
    employees against fixed others are a model CP-SAT's LP guides well (Curtois 8: the sub-model's bound
    1282-1314, the best known 1300)."""
    if until - time.perf_counter() < 1.0:
        return start_solver
    start = list(start_solver.ResponseProto().solution)
    model = built.model.clone()  # carries the first roster as its hint
    free = set(mended)
    for (e, _, _), var in built.x.items():
        if e not in free:
            domain = model.proto.variables[var.Index()].domain
            domain.clear()
            domain.extend([start[var.Index()]] * 2)
    solver = _solver(settings, until - time.perf_counter(), search=True)
    status = solver.Solve(model, callback)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE) or solver.ObjectiveValue() >= start_solver.ObjectiveValue():
        return start_solver
    hint = built.model.proto.solution_hint
    hint.values.clear()
    hint.values.extend(solver.ResponseProto().solution)  # the same variables, in the same order
    return solver


def _line_responses(built: RosterModel, lines: Lines) -> lns.LineResponses:
    """The constructed lines' best responses on the whole model's variables."""
    employees, days = len(lines.problems), built.scenario.days
    width = max((len(options) for keys in lines.keys for options in keys), default=0)
    option_vars = np.full((employees, days, max(1, width)), -1, dtype=np.int64)
    for e, keys in enumerate(lines.keys):
        for day, options in enumerate(keys):
            option_vars[e, day, : len(options)] = [built.x[e, option, skill].Index() for option, skill in options]
    work_vars = np.array([[built.work[e, day].Index() for day in range(days)] for e in range(employees)])
    return lns.LineResponses(lines.problems, lines.demand, option_vars, work_vars)


def _neighbourhood_search(
    built: RosterModel,
    solver: cp_model.CpSolver,
    settings: SolveSettings,
    deadline: float,
    callback: ProgressCallback,
    bound: float | None,
    responses: lns.LineResponses | None = None,
    target: float = -math.inf,
) -> tuple[cp_model.CpSolver, float, LnsStats]:
    """Improve a roster by LNS (with ``responses``, best responses of its lines as one kind of step) until the
    deadline or a roster at ``target`` (a proven bound), then solve once more with it fixed, so a solver holds
    it for extraction. Returns that solver, the objective and the search statistics."""

    def report(objective: float, _solution: list[int]) -> None:
        callback.external(objective, bound if bound is not None else float("-inf"))

    # Steps search with the LP up to ``lp_steps_max_variables`` (Curtois 8: a roster one under-covered shift
    # above the best, which light steps never left, left in 5-20 s; ``lns.PAIR_MIN_DAYS``).
    lp_steps = len(built.model.proto.variables) <= settings.lp_steps_max_variables
    best, objective, stats = lns.improve(
        built, list(solver.ResponseProto().solution), solver.ObjectiveValue(), deadline - 0.5,
        workers=settings.workers, seed=settings.seed, on_improvement=report, lines=responses, target=target,
        lp_subsolvers=_search_subsolvers(settings) if lp_steps else None,
        joined=built.weekend_joints() if _keeps_weekends_whole(built, settings, responses) else None,
    )
    holder, status = _fixed_solve(built, settings, list(enumerate(best)), 30.0)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"the neighbourhood search's roster breaks the model ({holder.StatusName(status)})")
    return holder, objective, stats


def _keeps_weekends_whole(built: RosterModel, settings: SolveSettings, responses: lns.LineResponses | None) -> bool:
    """Whether the neighbourhood search keeps whole weekends whole: after the whole-weekend construction, where
    the weekend demand is at least what the staff's weekends allow (a split weekend then wastes a weekend day
    that is wanted). Curtois 22 (1.03) gains (see ``SolveSettings.whole_weekends``); Curtois 24 (0.95) lost,
    600 s, seed 0: 78265 with the joints against 74636 without (benchmarks/curtois/NOTES.md)."""
    return settings.whole_weekends and responses is not None and built.weekend_demand_share() >= 1.0


def _hint_values(built: RosterModel, hint: pd.DataFrame) -> list[tuple[int, int]]:
    """Assignment values of a previous roster (rows as in roster.csv); its shifts that no longer exist as
    options (e.g. on a new day off) are left out."""
    index = {emp.id: e for e, emp in enumerate(built.scenario.employees)}
    wanted = set()
    for row in hint.itertuples():
        e = index.get(str(row.employee_id))
        day = built.date_index.get(pd.Timestamp(row.date).date())
        if e is None or day is None:
            continue
        start = pd.Timestamp(row.start).time()
        wanted.add((e, day, str(row.template), start, str(row.skill) if row.skill else NO_SKILL))
    return [
        (var.Index(), int((e, day, option.template, option.start_time(), skill) in wanted))
        for (e, day), entries in built.by_employee_day.items()
        for var, option, skill in entries
    ]
