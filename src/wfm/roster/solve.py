"""Solving a roster scenario: always a roster, with an explanation when the hard rules clash."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from ortools.sat.python import cp_model

from wfm.roster import lns
from wfm.roster.domain import Scenario
from wfm.roster.greedy import greedy_assignments
from wfm.roster.lns import LnsStats
from wfm.roster.model import NO_SKILL, RosterModel, RuleGroup, activity_applies, employee_rules
from wfm.roster.options import roster_row

ROSTER_COLUMNS = [
    "employee_id", "date", "start", "end", "skill", "role", "breaks", "activities", "paid_minutes", "template",
]
COVERAGE_COLUMNS = ["interval_start", "skill", "required", "scheduled"]
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
    # Plain CP-SAT runs for at least ``lns_start_share`` of the time limit, then on while it keeps improving:
    # it hands over to the neighbourhood search once it found nothing better for ``lns_stall_share``.
    lns_start_share: float = 0.3
    lns_stall_share: float = 0.15
    greedy_start: bool = True  # start from a greedy roster when no hint is given
    # Above this many model variables, a greedy start goes straight to the neighbourhood search: plain CP-SAT's
    # presolve alone would take most of a minute.
    plain_max_variables: int = 30_000
    # The full-problem search of the plain phases when fewer than ``PORTFOLIO_WORKERS`` workers run. CP-SAT's
    # small portfolio searches without the LP's guidance, yet the LP of a roster's cover is often tight: on
    # Curtois 10 (2 cores, 40 s) the default search ends at 5177 with bound 10, the reduced-cost search at
    # 4642 with bound 4625 (best known 4631). benchmarks/curtois/NOTES.md has the comparison.
    small_portfolio_search: str | None = "reduced_costs"


@dataclass(frozen=True)
class Progress:
    objective: float
    bound: float
    elapsed_s: float


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


class _ProgressCallback(cp_model.CpSolverSolutionCallback):
    def __init__(self, report: Callable[[Progress], None] | None) -> None:
        super().__init__()
        self.report = report
        self.start = time.perf_counter()
        self.first_solution_s: float | None = None
        self.last_solution_at = self.start
        self.solutions = 0

    def on_solution_callback(self) -> None:
        self.external(self.ObjectiveValue(), self.BestObjectiveBound())

    def external(self, objective: float, bound: float) -> None:
        """Record a roster found by this solve or outside it (greedy start, neighbourhood search)."""
        self.last_solution_at = time.perf_counter()
        elapsed = self.last_solution_at - self.start
        self.solutions += 1
        if self.first_solution_s is None:
            self.first_solution_s = elapsed
        if self.report is not None:
            self.report(Progress(objective, bound, elapsed))


PORTFOLIO_WORKERS = 8  # from this many workers on, CP-SAT's own portfolio already runs the LP-guided searches


def _solver(settings: SolveSettings, time_limit_s: float, *, search: bool = False) -> cp_model.CpSolver:
    """A CP-SAT solver with the settings' limits; ``search`` for the phases that optimise the whole model."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, time_limit_s)
    workers = settings.num_workers or os.cpu_count() or 1
    solver.parameters.num_workers = workers
    if search and settings.small_portfolio_search and workers < PORTFOLIO_WORKERS:
        solver.parameters.subsolvers.append(settings.small_portfolio_search)
    solver.parameters.random_seed = settings.seed
    solver.parameters.relative_gap_limit = settings.relative_gap
    solver.parameters.log_search_progress = settings.log
    return solver


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

    Without a hint, a greedy roster (``wfm.roster.greedy``) is completed by CP-SAT with its assignments fixed,
    so a first roster exists within seconds even for large scenarios; with a hint (a previous roster, as when
    re-rostering), that roster is the first solution wherever it can be kept. Plain CP-SAT, hinted with it, then runs
    for at least ``lns_start_share`` of the time limit and on while it improves; if it stalls without a proof of
    optimality, large neighbourhood search (``wfm.roster.lns``) improves the best roster for the rest of the time.
    """
    settings = settings or SolveSettings()
    started = time.perf_counter()
    deadline = started + settings.time_limit_s
    conflicts, skip = precheck(scenario)
    built = RosterModel(scenario, skip=skip)
    callback = _ProgressCallback(progress)
    start_solver = None
    if settings.hint is not None and not settings.hint.empty:
        # A previous roster (re-rostering): kept as it is where still possible, as the first solution.
        values = _hint_values(built, settings.hint)
        start_solver = _fixed_start(built, settings, deadline, callback, values)
        if start_solver is None:  # it cannot be kept whole: let CP-SAT start from it
            built.model.proto.solution_hint.vars.extend(i for i, _ in values)
            built.model.proto.solution_hint.values.extend(v for _, v in values)
    elif settings.greedy_start and (values := _greedy_values(built)) is not None:
        start_solver = _fixed_start(built, settings, deadline, callback, values)
    straight_to_lns = (
        start_solver is not None and settings.lns and len(built.model.proto.variables) > settings.plain_max_variables
    )
    if straight_to_lns:  # plain CP-SAT's presolve alone would eat the time: no bound from it either
        solver, status, bound = start_solver, cp_model.UNKNOWN, None
    else:
        solver = _solver(settings, deadline - time.perf_counter(), search=True)
        if settings.lns:
            earliest = started + settings.time_limit_s * settings.lns_start_share
            stall_s = settings.time_limit_s * settings.lns_stall_share
            with _stop_on_stall(solver, callback, earliest, stall_s):
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
        built = RosterModel(scenario, explain=True, skip=skip)
        for group, lit in built.group_literals.items():
            if group in soft:
                built.objective.add("broken_rules", 1 - lit, _RELAX_PENALTY)
            else:
                built.model.add(lit == 1)
        built.model.minimize(built.objective.expression())
        callback = _ProgressCallback(progress)
        solver = _solver(settings, max(1.0, deadline - time.perf_counter()), search=True)
        status = solver.Solve(built.model, callback)
        bound = solver.BestObjectiveBound()
    status_name = "FEASIBLE" if solver is start_solver else solver.StatusName(status)
    found_roster = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    objective = solver.ObjectiveValue() if found_roster else None
    lns_stats = None
    if settings.lns and status_name == "FEASIBLE" and deadline - time.perf_counter() > 1.0:
        solver, objective, lns_stats = _neighbourhood_search(built, solver, settings, deadline, callback, bound)
    stats = {
        "wall_time_s": time.perf_counter() - started,
        "first_solution_s": callback.first_solution_s if callback.first_solution_s is not None else float("nan"),
        "solutions": float(callback.solutions),
        "variables": float(len(built.model.Proto().variables)),
        "constraints": float(len(built.model.Proto().constraints)),
    }
    if lns_stats is not None:
        stats.update(lns_steps=float(lns_stats.steps), lns_improvements=float(lns_stats.improvements))
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


@contextlib.contextmanager
def _stop_on_stall(solver: cp_model.CpSolver, callback: _ProgressCallback, earliest: float, stall_s: float):
    """Stop the solve once past ``earliest`` with no new roster for ``stall_s`` (a watchdog thread: CP-SAT
    calls back only on solutions, so a stalled search has to be stopped from outside)."""
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.25):
            now = time.perf_counter()
            if callback.solutions and now >= earliest and now - callback.last_solution_at >= stall_s:
                solver.stop_search()
                return

    watchdog = threading.Thread(target=watch, daemon=True)
    watchdog.start()
    try:
        yield
    finally:
        done.set()
        watchdog.join()


def _fixed_solve(built: RosterModel, settings: SolveSettings, values: list[tuple[int, int]], limit_s: float):
    """Solve with the given (proto index, value) pairs fixed: completes a partial roster, or re-creates one."""
    proto = built.model.proto
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
    callback: _ProgressCallback,
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


def _greedy_values(built: RosterModel) -> list[tuple[int, int]] | None:
    """Assignment values of the greedy roster (``wfm.roster.greedy``), or None if it gives up."""
    chosen = greedy_assignments(built)
    if chosen is None:
        return None
    return [(var.Index(), int(key in chosen)) for key, var in built.x.items()]


def _neighbourhood_search(
    built: RosterModel,
    solver: cp_model.CpSolver,
    settings: SolveSettings,
    deadline: float,
    callback: _ProgressCallback,
    bound: float | None,
) -> tuple[cp_model.CpSolver, float, LnsStats]:
    """Improve a roster by LNS, then solve once more with it fixed, so a solver holds it for extraction.
    Returns that solver, the objective and the search statistics."""

    def report(objective: float, _solution: list[int]) -> None:
        callback.external(objective, bound if bound is not None else float("-inf"))

    best, objective, stats = lns.improve(
        built, list(solver.ResponseProto().solution), solver.ObjectiveValue(), deadline - 0.5,
        workers=settings.num_workers or os.cpu_count() or 1, seed=settings.seed, on_improvement=report,
    )
    holder, _ = _fixed_solve(built, settings, list(enumerate(best)), 30.0)
    return holder, objective, stats


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
