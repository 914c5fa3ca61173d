"""Large neighbourhood search around CP-SAT for large rosters.

Each step frees the assignments of a neighbourhood (a few employees over the whole horizon, or every employee
over a window of days) and re-optimises it with everything else at the incumbent, hinted with the incumbent, with a
light presolve and no LP relaxation. The step solves the neighbourhood's sub-model (``wfm.roster.submodel``: only
the constraints that touch it, fixed values substituted), so its cost follows the neighbourhood, not the whole
model, which CP-SAT would load and presolve at every step if the other variables' domains were merely narrowed
(that remains the fallback for models with constraint kinds the cut does not know). From the same constructed
roster of Curtois 24 (1.1M variables), 200 s: 37 steps and 836k -> 721k on sub-models, 12 steps and -> 824k by
narrowing; Curtois 21 (114k variables), 120 s: 38.8-39.4k against 39.6k. An improvement is kept; neighbourhood sizes
adapt (grow when a step is solved to optimality, shrink when it neither solves nor improves), and so does the
choice between the kinds: each gets a share of the time in proportion to what it gained per second of late,
never below ``KIND_MIN_SHARE``, a floor shared among more than four kinds (the roulette wheel of adaptive LNS,
Ropke & Pisinger 2006, drawn per step with weights that allow for how long each kind's steps last). CP-SAT's own
LNS workers need many threads; this one works on two cores.

Up to a size (``SolveSettings.lp_steps_max_variables``), the steps search with the LP as plain CP-SAT does, and
another kind frees every employee over two windows apart, so work moves between distant days (Curtois 8: a shift
from an over-covered day 2 to an under-covered day 20, which the light steps never found); and a cross frees a
few employees' whole lines and every employee over a few days, so people swap shifts on those days while the freed
lines take up what that does to their totals (Curtois 8, 60 s, seeds 0-11: median 1315.5 against 1318, better in
8 pairs of 12, worse in 3; benchmarks/curtois/NOTES.md, forty-third session). A request step is a cross around
an unmet request (``RosterModel.requests``, drawn by weight) that must grant it; where that costs at most the
request's weight, the search walks on from the dearer roster for up to ``WALK_STEPS`` steps (keeping its best),
so the other kinds search around a roster the improving steps alone never reach (Curtois 8, 60 s, seeds 0-23:
median 1313.5 against 1315.5, better in 16 pairs, even in 3, worse in 5; without the walk, as a cross around
the request that keeps only improvements, 1316 against 1315.5 over seeds 0-11; forty-fourth session). Request
steps run only where unmet requests are a real share of the cost (``REQUEST_SHARE_MIN``).

Where there are many employees over a long horizon, another kind frees blocks: a few employees over one to four
weeks, so runs can be reshaped between people, which a window of every employee cannot afford and a few employees'
whole lines take too long for. One 600-s run each, taken off per second: Curtois 24, 149 by blocks, 60 by windows,
7.5 by employees' lines; Curtois 23, 35 / 32 / 6.9; Curtois 21, where blocks neither solve nor improve, 3 / 20 / 10
(the roulette gave them 7.5 s of 300).

Where the roster was built line by line with each line's dynamic programme (``wfm.roster.sequential``), another
kind re-solves the incumbent's lines one at a time against the others' cover (``linedp.improve_lines``), and
CP-SAT completes what follows the changed lines. The roulette then finds which pays: Curtois 24 (600 s), 25.3k
of the search's 27.0k from lines, 124335 -> 92829 at the end; Curtois 23, 1.2k of 9.3k, windows the rest. A
last kind starts from substitution chains (``improve_lines``' ``chains_first``: a round of plain best responses
takes a whole step on Curtois 24, so a lines step never reaches its chains). 600 s, seed 0, two runs each with
and without it: Curtois 24 57876 / 57650 against 58860 / 58683 (chains 1153 of the search's 1817 in the first);
Curtois 20-23 even (benchmarks/curtois/NOTES.md, thirty-seventh session).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from wfm.roster.domain import ShiftDemand
from wfm.roster.linedp import LineProblem, improve_lines
from wfm.roster.model import RequestTerm, RosterModel
from wfm.roster.submodel import SubModel, SubModelIndex

# The adaptive choice of a step's kind. Which kind pays differs by instance and changes as the roster improves
# (Curtois 8 after plain CP-SAT: windows took off 189-282 in 30 s, employees 0-96; Curtois 16 from a 10-s start:
# both). Against strict alternation from the same starts: better in 8 of 13 paired runs on Curtois 8, 12, 15, 16
# and 18, 2.3 % off their sum; clearly only on Curtois 16, 60 s: 3741 / 3848 / 3648 against 4147 / 4052 / 3850
# (benchmarks/curtois/NOTES.md, tenth session).
KIND_MIN_SHARE = 0.2  # a kind's weight is its share of the recent gain per second, at least this
# ... and the floors together at most what four kinds have (so up to four kinds keep theirs): with six kinds (the
# constructed lines' two besides) a kind that pays far more than the others gets more than half the steps. 600 s:
# Curtois 24, seed 1, 60960 against 65383 (the chains, 16 a second where the others take off 5-7, got 70 s
# against 21 s), seed 0 even (56910 / 58029 against 57876 / 57650); Curtois 13 even (five runs each, mean 2107
# against 2092), Curtois 20-23 within a run's spread (benchmarks/curtois/NOTES.md, thirty-eighth session).
KIND_FLOORS_SUM = 4 * KIND_MIN_SHARE
KIND_MEMORY = 0.95  # per step of a kind, what its earlier gain and time still count
RUINED_SHARE = 0.05  # lines ruined and recreated by a lines step that finds the incumbent an equilibrium
# Blocks (some employees over some weeks) where a window of every employee is too wide for runs to be reshaped and
# an employee's whole horizon too long: at least this many employees and days.
BLOCK_MIN_EMPLOYEES = 50
BLOCK_MIN_DAYS = 56
BLOCK_DAYS = (7, 28)  # a block's length in days, drawn uniformly
# Two windows apart, every employee in both (with LP-guided steps only): an employee's totals (shifts, minutes,
# weekends) then move work between distant days, as one window cannot. Curtois 8's rosters at 1411 and 1505
# over-cover day 2 and under-cover day 20 or 19; 25 s of LNS from each, seeds 0-3: 1411 (x4) and 1504-1505 with
# the light steps; 1411 / 1411 / 1320 / 1411 and 1504 / 1408 / 1418 with LP-guided steps alone; with the two
# windows too, 1324 / 1314 / 1315 / 1313 and 1311 / 1409 / 1407 (ad hoc ``lnsx.py``, twenty-eighth session).
PAIR_MIN_DAYS = 2  # each window's width at least; four days at first
WALK_STEPS = 30  # steps of a walk away from the best roster (request steps) after which it goes back to the best
# Request steps only where unmet requests are at least this share of the starting roster's cost: a walk trades
# cover for requests, which pays where requests are much of what is left. Curtois, 60 s, with request steps
# throughout (their share of the final rosters): 8 (8-9 %) gained; 7 (6 %) and 9 (9 %) even; 5 (4 %) lost 1-2
# (seeds 0-2); 12 (1.5 %) unsettled, median 4156 against 4067.5 over seeds 0-11. At the start of the search 7, 8
# and 9 are above this, 5, 6 and 12 below (forty-fourth and forty-fifth sessions).
REQUEST_SHARE_MIN = 0.05


@dataclass
class LnsStats:
    steps: int = 0
    improvements: int = 0
    employee_size: float = 0.0
    window_days: float = 0.0
    pair_days: float = 0.0  # each window's width in a step of two windows
    block_employees: float = 0.0
    request_share: float = 0.0  # unmet requests' share of the starting roster's cost
    walk_moves: int = 0  # request steps that granted a request at a cost (the search walked away from its best)
    # Objective taken off by neighbourhood kind, from the roster each step started from (after a walk's dearer
    # roster, what the steps take off it counts too).
    gain_by_kind: dict[str, float] = field(default_factory=dict)
    seconds_by_kind: dict[str, float] = field(default_factory=dict)


@dataclass
class LineResponses:
    """Best responses (``linedp.improve_lines``) as a neighbourhood kind, where every line has its dynamic
    programme: the lines' problems, the demand they cover, and the whole model's variables of each employee's
    options (``option_vars[e, day, position]``, -1 past a day's options) and work days (``work_vars[e, day]``)."""

    problems: list[LineProblem]
    demand: list[ShiftDemand]
    option_vars: np.ndarray
    work_vars: np.ndarray

    def choices(self, solution: np.ndarray) -> list[list[int]]:
        """Each employee's line in a whole solution: per day the option position worked, -1 for a rest day."""
        taken = np.where(self.option_vars >= 0, solution[self.option_vars], 0)
        return np.where(taken.any(axis=2), taken.argmax(axis=2), -1).tolist()

    def apply(self, solution: list[int], e: int, choice: list[int]) -> None:
        """Set employee ``e``'s option and work variables in ``solution`` to ``choice``."""
        for day, k in enumerate(choice):
            for position, v in enumerate(self.option_vars[e, day]):
                if v >= 0:
                    solution[v] = int(position == k)
            solution[self.work_vars[e, day]] = int(k >= 0)


def light_solver(workers: int, seed: int) -> cp_model.CpSolver:
    """A solver with a light presolve, for models solved many times over (neighbourhoods, single lines): one
    presolve pass without probing, symmetry or the search for big linear overlaps, which alone took 0.4 of the
    0.9 s before a Curtois 24 line's first solution."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    solver.parameters.cp_model_probing_level = 0
    solver.parameters.symmetry_level = 0
    solver.parameters.max_presolve_iterations = 1
    solver.parameters.find_big_linear_overlap = False
    return solver


def _neighbourhoods(built: RosterModel) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Proto indices of the assignment variables per employee and per day."""
    by_employee: dict[int, list[int]] = {}
    by_day: dict[int, list[int]] = {}
    for (e, day), entries in built.by_employee_day.items():
        indices = [var.Index() for var, _, _ in entries] + [built.work[e, day].Index()]
        by_employee.setdefault(e, []).extend(indices)
        by_day.setdefault(day, []).extend(indices)
    return by_employee, by_day


def improve(
    built: RosterModel,
    solution: list[int],
    objective: float,
    deadline: float,
    *,
    workers: int,
    seed: int = 0,
    step_time_s: float = 3.0,
    step_vars_per_s: float = 2000.0,  # a step's time per free variable: ``step_limit_s``
    on_improvement: Callable[[float, list[int]], None] | None = None,
    sub_models: bool = True,
    lines: LineResponses | None = None,
    target: float = -float("inf"),
    lp_subsolvers: tuple[str, ...] | None = None,
    joined: np.ndarray | None = None,
) -> tuple[list[int], float, LnsStats]:
    """Improve a full solution (values of every model variable, by proto index) until ``deadline`` or an
    objective at ``target`` (a proven bound); with ``lines``, best responses are a third kind of step (on
    sub-models only). With ``lp_subsolvers`` (CP-SAT's subsolvers, () for its own portfolio), the steps search
    with the LP, as plain CP-SAT does, and two windows apart, crosses and request steps (``_free_of``) are
    other kinds, the last walking the search away from its best (module docstring); without, they search
    light, without the LP, which a large model's steps cannot afford. ``joined``: pairs of
    variables (proto indices, shape (k, 2)) that the steps keep equal where the incumbent has them equal (whole
    weekends stay whole).
    """
    rng = random.Random(seed)
    by_employee, by_day = _neighbourhoods(built)
    employees, days = sorted(by_employee), sorted(by_day)
    if not employees:
        return solution, objective, LnsStats()
    all_indices = sorted({i for indices in by_employee.values() for i in indices})
    index = SubModelIndex(built.model, set(all_indices)) if sub_models else None
    if index is not None and not index.supports:
        index = None
    stats = LnsStats(employee_size=min(len(employees), max(2.0, len(employees) * 0.1)), window_days=min(len(days), 7.0))
    best, best_objective = list(solution), objective
    current, current_objective = best, best_objective  # where the steps start: the best, or a request granted
    since_best = 0  # steps since the search was last at its best
    improved = True  # the last step's outcome; the first step runs as after an improving one
    kinds = ["employees", "window"] if len(days) > 7 else ["employees"]
    if lp_subsolvers is not None and len(days) >= 4 * PAIR_MIN_DAYS:
        kinds += ["windows", "cross"]
        if objective > 0:
            stats.request_share = sum(r.coef for r in built.requests if r.unmet(solution)) / objective
        if index is not None and stats.request_share >= REQUEST_SHARE_MIN:
            kinds.append("request")
        stats.pair_days = PAIR_MIN_DAYS * 2.0
    if len(employees) >= BLOCK_MIN_EMPLOYEES and len(days) >= BLOCK_MIN_DAYS:
        kinds.append("block")
        stats.block_employees = max(2.0, len(employees) * 0.1)
    if lines is not None and index is not None:
        kinds += ["lines", "chains"]
    recent_gain = dict.fromkeys(kinds, 0.0)
    recent_s = dict.fromkeys(kinds, 1e-9)
    recent_steps = dict.fromkeys(kinds, 0.0)
    while time.perf_counter() < deadline - 0.2 and best_objective > target:
        stats.steps += 1
        shares = _kind_weights([recent_gain[k] / recent_s[k] for k in kinds])
        kind = rng.choices(kinds, _per_step([recent_s[k] for k in kinds], [recent_steps[k] for k in kinds], shares))[0]
        step_started = time.perf_counter()
        around = None  # the unmet request a request step grants
        if kind in ("lines", "chains"):
            remaining_s = deadline - step_started
            status, found = _lines_step(index, lines, current, by_employee, min(step_time_s, remaining_s), workers,
                                        rng.randrange(1 << 30), chains=kind == "chains")
        else:
            unmet = [r for r in built.requests if r.unmet(current)] if kind == "request" else []
            around = rng.choices(unmet, [r.coef for r in unmet])[0] if unmet else None
            free = _free_of(kind, rng, stats, employees, days, by_employee, by_day, around)
            limit_s = step_limit_s(len(free), step_time_s, step_vars_per_s, deadline - time.perf_counter())
            seed_of_step = rng.randrange(1 << 30)
            if index is not None:
                # While steps improve, every worker on CP-SAT's own neighbourhoods of the cut: with 2 workers the
                # full-problem worker spends a 3-s step on the LP at the root (27 branches on a Curtois 21
                # neighbourhood), and only the interleaved neighbourhood workers improve (Curtois 21, 120 s from
                # one start: 35.5k / 37.9k for seeds 0 / 1 against 39.0k / 39.4k; Curtois 24, 200 s: 693k
                # against 721k). Once a step fails, the full-problem worker is back: only it proves a step
                # optimal, which is what grows the neighbourhoods (Curtois 13, 600 s: 3523 with neighbourhood
                # workers only, 2809 and 2381 with the full worker throughout).
                status, found = _sub_step(
                    index, current, free, limit_s, workers, seed_of_step, improved, lp_subsolvers, joined=joined,
                    grant=around,
                )
            else:
                fixed = [i for i in all_indices if i not in free]
                status, found = _step(built.model, current, fixed, limit_s, workers, seed_of_step)
        improved = found is not None and found[1] < current_objective - 1e-6
        gain = current_objective - found[1] if improved else 0.0
        if around is not None and found is not None and not improved and found[1] <= current_objective + around.coef:
            # A request granted at a cost of at most its weight: the search goes on from there, so what its
            # neighbourhoods reach moves (a walk out of a deep local optimum; the best roster is kept).
            since_best = 0 if current is best else since_best  # the walk's steps count from where it left
            current, current_objective = found
            stats.walk_moves += 1
        recent_gain[kind] = KIND_MEMORY * recent_gain[kind] + gain
        step_s = time.perf_counter() - step_started
        recent_s[kind] = KIND_MEMORY * recent_s[kind] + step_s
        recent_steps[kind] = KIND_MEMORY * recent_steps[kind] + 1.0
        stats.seconds_by_kind[kind] = stats.seconds_by_kind.get(kind, 0.0) + step_s
        if improved:
            stats.gain_by_kind[kind] = stats.gain_by_kind.get(kind, 0.0) + gain
            current, current_objective = found
        since_best += 1
        if current_objective < best_objective - 1e-6:
            best, best_objective = current, current_objective
            stats.improvements += 1
            since_best = 0
            if on_improvement is not None:
                on_improvement(best_objective, best)
        elif since_best >= WALK_STEPS and current is not best:
            current, current_objective = best, best_objective  # the walk led nowhere: back to the best
            since_best = 0
        # Grow when solved to optimality, shrink when neither solved nor improved. Growing on every improvement
        # made neighbourhoods that time out (Curtois 21 from a constructed roster, 120 s: 44k, against 39-41k).
        factor = 1.15 if status == cp_model.OPTIMAL else 1.0 if improved else 0.85
        if kind == "window":
            stats.window_days = min(len(days), max(2.0, stats.window_days * factor))
        elif kind == "windows":
            stats.pair_days = min(len(days) / 2, max(PAIR_MIN_DAYS, stats.pair_days * factor))
        elif kind == "employees":
            stats.employee_size = min(len(employees), max(1.0, stats.employee_size * factor))
        elif kind == "block":
            stats.block_employees = min(len(employees), max(2.0, stats.block_employees * factor))
    return best, best_objective, stats


def _free_of(
    kind: str,
    rng: random.Random,
    stats: LnsStats,
    employees: list[int],
    days: list[int],
    by_employee: dict[int, list[int]],
    by_day: dict[int, list[int]],
    around: RequestTerm | None = None,
) -> set[int]:
    """The variables a step of ``kind`` frees, at the sizes ``stats`` holds: a window of days (every employee),
    two windows apart, a block (some employees over some weeks), a cross (a few employees' whole lines and every
    employee over a short window; for a ``request`` step, the window holds the unmet request ``around`` and its
    employee's line is one of the lines) or a few employees' whole lines."""

    def span(first: int, width: int) -> set[int]:
        return {i for d in days[first : first + width] for i in by_day[d]}

    def window(width: int, day: int | None = None) -> set[int]:
        last = len(days) - width
        first = rng.randrange(0, last + 1) if day is None else min(last, max(0, day - rng.randrange(width)))
        return span(first, width)

    def lines(size: float) -> set[int]:
        chosen = rng.sample(employees, max(1, min(len(employees), round(size))))
        return {i for e in chosen for i in by_employee[e]}

    if kind == "window":
        return window(max(2, round(stats.window_days)))
    if kind == "windows":
        width = max(PAIR_MIN_DAYS, round(stats.pair_days))
        first = rng.randrange(0, len(days) - width + 1)
        apart = [d for d in range(len(days) - width + 1) if d + width <= first or d >= first + width]
        second = rng.choice(apart) if apart else first
        return span(first, width) | span(second, width)
    if kind == "block":
        width = rng.randint(*BLOCK_DAYS)
        return window(width) & lines(stats.block_employees)
    if kind in ("cross", "request"):  # at half the sizes of the window and employees kinds, which adapt
        width = max(1, round(stats.window_days / 2))
        free = window(width, None if around is None else around.day) | lines(stats.employee_size / 2)
        return free if around is None else free | set(by_employee[around.employee])
    return lines(stats.employee_size)


def _kind_weights(gain_rates: list[float]) -> list[float]:
    """Roulette weights of the neighbourhood kinds from their recent gains per second: each kind's share of the
    total, at least ``KIND_MIN_SHARE`` (``KIND_FLOORS_SUM`` shared among more than four kinds) so a kind that
    stopped paying is still tried; equal while none gained."""
    total = sum(gain_rates)
    if total <= 0:
        return [1.0] * len(gain_rates)
    floor = min(KIND_MIN_SHARE, KIND_FLOORS_SUM / len(gain_rates))
    return [max(floor, rate / total) for rate in gain_rates]


def _per_step(seconds: list[float], steps: list[float], shares: list[float]) -> list[float]:
    """Draw weights per step that give each kind ``shares`` of the search's time: each share over the kind's
    recent mean step (the mean of the kinds' means where a kind has not run yet). Drawn per step by the shares
    alone, a kind with long steps took more than its share (Curtois 22, 600 s, seed 0: the chains, steps of up to
    3 s, 178 s at 4.5 a second, windows, steps of ~1 s, 125 s at 8.4 a second; 33291 / 33345, and 32968 with the
    time shared; benchmarks/curtois/NOTES.md, fortieth session)."""
    means = [s / n for s, n in zip(seconds, steps, strict=True) if n > 0]
    default = sum(means) / len(means) if means else 1.0
    return [share / (s / n if n > 0 else default) for s, n, share in zip(seconds, steps, shares, strict=True)]


def step_limit_s(free_variables: int, step_time_s: float, vars_per_s: float, remaining_s: float) -> float:
    """A step's time limit: ``free_variables / vars_per_s``, at most ``step_time_s`` and what is left, at least
    0.1 s. Small neighbourhoods improve within tenths of a second, and many short steps beat few long ones
    (Curtois 16 / 18, 30 / 60 s of LNS from one start: 3848-4050 / 6313-6398 with steps of ~0.3 s, 4814-6205 /
    8503-9143 with 3-s steps); large ones (Curtois 21, 24) keep their 3 s."""
    return max(0.1, min(step_time_s, free_variables / vars_per_s, remaining_s))


def _step(
    model: cp_model.CpModel,
    incumbent: list[int],
    fixed: list[int],
    limit_s: float,
    workers: int,
    seed: int,
) -> tuple[int, tuple[list[int], float] | None]:
    """One neighbourhood solve: ``fixed`` variables pinned to the incumbent, the incumbent hinted."""
    proto = model.proto
    saved = []
    for i in fixed:
        domain = proto.variables[i].domain
        saved.append(list(domain))
        domain.clear()
        domain.extend([incumbent[i], incumbent[i]])
    proto.solution_hint.vars.clear()
    proto.solution_hint.values.clear()
    proto.solution_hint.vars.extend(range(len(incumbent)))
    proto.solution_hint.values.extend(incumbent)
    try:
        solver = light_solver(workers, seed)
        solver.parameters.linearization_level = 0
        solver.parameters.max_time_in_seconds = limit_s
        status = solver.Solve(model)
    finally:
        for i, domain in zip(fixed, saved, strict=True):
            proto.variables[i].domain.clear()
            proto.variables[i].domain.extend(domain)
        proto.solution_hint.vars.clear()
        proto.solution_hint.values.clear()
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return status, (list(solver.ResponseProto().solution), solver.ObjectiveValue())
    return status, None


def _lines_step(
    index: SubModelIndex,
    lines: LineResponses,
    incumbent: list[int],
    by_employee: dict[int, list[int]],
    limit_s: float,
    workers: int,
    seed: int,
    chains: bool = False,
) -> tuple[int, tuple[list[int], float] | None]:
    """Best responses from the incumbent's lines on ``workers`` threads for ``limit_s``, with ``chains``
    substitution chains first (``linedp.improve_lines``' ``chains_first``); the lines that changed are set in a
    copy of the incumbent, and CP-SAT completes the rest (cover, counts) on their sub-model with those lines
    fixed."""
    until = time.perf_counter() + limit_s
    choices = lines.choices(np.asarray(incumbent))
    before = [list(choice) for choice in choices]
    improve_lines(
        lines.problems, choices, lines.demand, until, seed=seed, chains=chains, chains_first=chains, threads=workers
    )
    changed = [e for e, choice in enumerate(choices) if choice != before[e]]
    if not changed and not chains and time.perf_counter() < until:
        # An equilibrium: a few lines ruined and recreated, then best responses again.
        rng = random.Random(seed)
        ruined = rng.sample(range(len(choices)), max(2, round(RUINED_SHARE * len(choices))))
        improve_lines(lines.problems, choices, lines.demand, until, seed=seed, ruined=ruined, threads=workers)
        changed = [e for e, choice in enumerate(choices) if choice != before[e]]
    if not changed:
        return cp_model.UNKNOWN, None
    trial = list(incumbent)
    for e in changed:
        lines.apply(trial, e, choices[e])
    free = {i for e in changed for i in by_employee[e]}
    return _sub_step(index, trial, free, limit_s, workers, seed, False, fixed=True)


def _keep_joined(cut: SubModel, incumbent: np.ndarray, joined: np.ndarray) -> None:
    """Keep the pairs of ``joined`` that are equal in ``incumbent`` equal in ``cut``: both free, by a
    constraint; one free, at the incumbent's value (the hint, the incumbent, still holds)."""
    variables = np.asarray(cut.variables, dtype=np.int64)  # sorted: the cut lists them in index order
    if not variables.size:
        return
    joined = joined[incumbent[joined[:, 0]] == incumbent[joined[:, 1]]]
    where = np.searchsorted(variables, joined).clip(max=len(variables) - 1)
    inside = variables[where] == joined
    proto = cut.model.proto
    for a, b in where[inside.all(axis=1)].tolist():
        ct = proto.constraints.add().linear
        ct.vars.extend([a, b])
        ct.coeffs.extend([1, -1])
        ct.domain.extend([0, 0])
    alone = where[inside & ~inside[:, ::-1]]  # the free one of a pair whose other is fixed
    for position in alone.tolist():
        domain = proto.variables[position].domain
        value = int(incumbent[variables[position]])
        domain.clear()
        domain.extend([value, value])


def _sub_step(
    index: SubModelIndex,
    incumbent: list[int],
    free: set[int],
    limit_s: float,
    workers: int,
    seed: int,
    neighbourhood_workers_only: bool,
    lp_subsolvers: tuple[str, ...] | None = None,
    fixed: bool = False,
    joined: np.ndarray | None = None,
    grant: RequestTerm | None = None,
) -> tuple[int, tuple[list[int], float] | None]:
    """One neighbourhood solve on its sub-model (``wfm.roster.submodel``), the incumbent hinted; with
    ``neighbourhood_workers_only`` every worker runs CP-SAT's own neighbourhoods of the sub-model; with
    ``lp_subsolvers``, the search is those (LP-guided) subsolvers' with a full presolve instead; with
    ``fixed``, the ``free`` variables keep the incumbent's values and only what follows them is solved; the
    ``joined`` pairs equal in the incumbent stay equal (``_keep_joined``); the request ``grant`` (its variables
    free) is granted."""
    cut = index.cut(incumbent, free, keep=fixed)
    if joined is not None and len(joined):
        _keep_joined(cut, np.asarray(incumbent), joined)
    if grant is not None:
        positions = np.searchsorted(np.asarray(cut.variables, dtype=np.int64), grant.variables).tolist()
        if grant.on:
            ct = cut.model.proto.constraints.add().linear
            ct.vars.extend(positions)
            ct.coeffs.extend([1] * len(positions))
            ct.domain.extend([1, len(positions)])
        else:
            for position in positions:
                domain = cut.model.proto.variables[position].domain
                domain.clear()
                domain.extend([0, 0])
    if lp_subsolvers is not None:
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = seed
        solver.parameters.subsolvers.extend(lp_subsolvers)
    else:
        solver = light_solver(workers, seed)
        solver.parameters.linearization_level = 0
        solver.parameters.use_lns_only = neighbourhood_workers_only and workers > 1
    solver.parameters.max_time_in_seconds = limit_s
    status = solver.Solve(cut.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return status, None
    solution = list(incumbent)
    for v, value in zip(cut.variables, solver.ResponseProto().solution, strict=True):
        solution[v] = value
    return status, (solution, index.objective_value(solution))
