"""A roster by column generation over employees' lines, then diving (price-and-dive).

The linear programme over lines (the restricted master: per employee a convex mix of its lines; per day and
shift the lines' cover plus its shortfall less its excess equals the people wanted) is tight on rostering:
Curtois 8, with exact pricing (CP-SAT on each line), 1296.6 against the proven optimum 1300. Its duals price
each day and shift; each employee's dynamic programme (``linedp.best_line``) against those prices gives the
next lines (the pricing problem). The programme prices the horizon's limits, so it is not exact and the LP
stops higher (1381 on Curtois 8; 1340 where the root is priced thoroughly), but in ~0.1 s a round for 30 lines
where CP-SAT takes 2 s. Where the lines' CP-SAT models are given, the root is then priced exactly as far as
``EXACT_SHARE`` of the time goes: its LP then gives a lower bound on the roster's objective (the LP plus each
line's least reduced cost, a Lagrangian bound), and a roster at that bound is proven optimal.

Diving turns the LP into a roster: the lines the LP holds at ``FIX_SHARE`` or more are fixed (else, of the lines it
holds most, the one whose fixing raises it least), the LP is solved again with new lines priced for the others,
until every employee has a line; best responses (``linedp.improve_lines``) then mend what is left. The root, and
the dive's steps while the dive keeps pace, are priced thoroughly once the default prices out nothing
(``THOROUGH_ITERATIONS``, ``PACE_SHARE``), the root then exactly where the lines' models are given, as far as
their time goes (``ROOT_SHARE``, ``STEP_SLACK``); a dive behind its pace fixes several lines a step
(``STEPS_SHARE``). A dive whose root LP does not converge at the default
pricing in ``ROOT_SHARE`` of its time, or which is not done by its deadline with more than ``CUT_SHORT_SHARE`` of
its lines left, is given up: a dive cut short early and rounded ends far from its LP (Curtois 8: 3699 at 30 s).
The price-and-branch alternative, an integer programme over the lines generated, found nothing near (Curtois 8:
2136 by CP-SAT in 40 s over 1421 lines of an LP at 1296.6), nor did CP-SAT on the whole model with the LP's
integral days fixed (1499). Dives from the programme's LP, one each: Curtois 5 1176 in 5 s
(best known 1143), 6 2066 in 8 s (1950), 10 4633 in 24 s (4631), 11 3472 in 20 s (3443); the end of a dive varies
with the lines it starts from (Curtois 8: 1386-1702). No library dives over columns for us; the master's programmes
go to HiGHS (``highspy``), kept between rounds.
"""

from __future__ import annotations

import dataclasses
import math
import time

import highspy
import numpy as np
from highspy import _core
from ortools.sat.python import cp_model

from wfm.roster.domain import ShiftDemand
from wfm.roster.linedp import (
    LineModel,
    LineProblem,
    best_line,
    covered_rows,
    demand_arrays,
    improve_lines,
    line_choice,
    lines_cost,
    own_cost,
    weekends_decided,
)

FIX_SHARE = 0.9  # a line the LP holds at this share or more is fixed in a dive step
# The root LP must converge within this share of the dive's time: the dives took 2-6 times their root LP's
# time (Curtois 5-11), the root priced thoroughly 10-17 s of 45 (Curtois 8, 9, 11). Curtois 12's root took
# 19-30 s, and a check at 0.05 of the time gave that dive up early; since ``best_line`` is compiled it takes
# ~14 s, and its dives at 60 s end at 4255-5107 where plain CP-SAT reaches 4854-5987 (twenty-fourth session).
ROOT_SHARE = 0.4
# The programme's rounds of prices (``best_line``'s iterations) when the root LP is priced thoroughly, once
# nothing prices out at its default. The default (15) misses lines: Curtois 9's LP stopped at 494 where
# exact pricing reaches 405.7 (optimum 439); Curtois 8's at 1381 against 1296.6. Priced thoroughly (40
# rounds, and a second line with the weekends decided beforehand), 407.7 and 1339.6.
THOROUGH_ITERATIONS = 40
# Dive steps are priced thoroughly while the lines left would take at most this share of the time left, at the
# time per line fixed so far. Thorough in every step, Curtois 6's dive gave 1968 against 2073, but 8's and 9's
# were not done in 45 s. At 60 s (medians of 3): on pace at 0.5, I6 2051 -> 1958 but I8 1342 -> 1430 and I9
# 442 -> 450 (their dives end later, or are given up); at 0.25, I6 1957, I8 1334, I9 440.
PACE_SHARE = 0.25
# A dive step's generation stops, converged or not, after this many times the time left per employee left:
# Curtois 19's first step priced thoroughly from the root was still finding lines 345 s later.
STEP_SLACK = 3.0
# Where the steps so far say one line fixed a step would not be done in this share of the time left, a step
# fixes as many as would be (Curtois 19: ~12 s a step, 40 employees, 270 s left after its root).
STEPS_SHARE = 0.8
# A dive out of time with at most this share of its employees left ends there, each of them taking the line
# its last LP holds most; with more left, it is given up. Curtois 19's dive ends at 405-445 s of its 450 s, and
# one given up there left plain CP-SAT 150 s from nothing: 5798 against 3350-3760. Cut short with 2, 4 and 7
# of 30 left, Curtois 8's dive ended at 1753, 1541 and 2048 (1446 whole); recreating the lines left as best
# responses instead (``improve_lines``' ruin and recreate) gave 1651, 1967 and 2264, and 1453 against 1256 on
# Curtois 5.
CUT_SHORT_SHARE = 0.25
DIVE_CANDIDATES = 5  # lines tried in a dive step where none is held at FIX_SHARE
# Where the lines' CP-SAT models are given, the root is priced exactly (CP-SAT on each line against the duals)
# once the programme prices out nothing, for at most this share of the dive's time. Exactly priced, the LP over
# lines is a lower bound (Curtois 4 1716.0, 5 1140.6, 6 1949.0, 7 1054.1, 10 4631.0: the best known, or the
# published lower bounds), where the programme's stops above the optimum (Curtois 4: 1724.1 against 1716), and
# its new lines are what the dive was missing: Curtois 4's dive ends at the optimum 1716 instead of 1718.
EXACT_SHARE = 0.1
# The dive's steps on pace (``PACE_SHARE``) priced exactly too, once the programme prices out nothing, until the
# dive would fall off its pace. Off: paired at 60 s (twenty-seventh session) Curtois 12 gains (4277 / 4349 /
# 4353 against 4361 / 4568 / 4471) but 8 loses (1410 / 1308 / 1408 / 1309 / 1413 / 1315 against 1318 / 1321 /
# 1313 / 1319 / 1317 / 1329). Without the pace's limit 8 gained (1313 / 1309 / 1307), 5-7 and 9-11 held, but
# 18 lost at 600 s (4779 against 4481): its exact steps took 54-169 s each and its dive ran out of time.
EXACT_STEPS = False
PRICE_SCALE = 100_000  # the duals in CP-SAT's integer objective, to 1e-5 an option
_INF = float("inf")
_EPS = 1e-6  # reduced costs above -_EPS price no new line


@dataclasses.dataclass
class _Column:
    employee: int
    choice: list[int]
    rows: np.ndarray  # the shift-demand rows the line covers
    cost: float  # its own terms (requests, paid hours): the objective less the cover's

    @classmethod
    def of(cls, e: int, problem: LineProblem, choice: list[int]) -> _Column:
        """Employee ``e``'s line as a column: the rows it covers and its own cost."""
        return cls(e, list(choice), covered_rows(problem, choice), own_cost(problem, choice))


class _Master:
    """The lines generated so far and the restricted master's LP over them, kept in HiGHS between rounds: a
    round adds columns to the last basis instead of solving anew (``scipy.optimize.linprog`` rebuilt the
    programme each round: 56 ms a solve on Curtois 8, 21 of a dive's 94 s)."""

    def __init__(self, problems: list[LineProblem], demand: list[ShiftDemand], models: list[LineModel] | None = None):
        self.problems = problems
        self.models = models
        self.constants: dict[int, float] = {}  # per employee, its model's objective less its lines' own cost
        self.required, self.under, self.over = demand_arrays(demand)
        self.columns: list[_Column] = []
        self.seen: set[tuple[int, tuple[int, ...]]] = set()
        self.fixed: dict[int, int] = {}  # employee -> the column its line is fixed to
        self.bounds_changed = False
        employees, rows = len(problems), len(self.required)
        # The binding's base class: ``highspy.Highs()`` enables callbacks on construction, which prints HiGHS's
        # banner to stdout before any option can turn it off (and stdout carries the CLI's JSON).
        self.lp = _core._Highs()
        self.lp.setOptionValue("output_flag", False)
        self.lp.setOptionValue("presolve", "off")
        self.lp.setOptionValue("solver", "simplex")
        wanted = np.r_[np.ones(employees), self.required]
        self.lp.addRows(employees + rows, wanted, wanted, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), [])
        # Per shift-demand row its shortfall (+1) and excess (-1), at their weights.
        cover_rows = np.tile(employees + np.arange(rows, dtype=np.int32), 2)
        self.lp.addCols(
            2 * rows, np.r_[self.under, self.over], np.zeros(2 * rows), np.full(2 * rows, highspy.kHighsInf),
            2 * rows, np.arange(2 * rows, dtype=np.int32), cover_rows, np.r_[np.ones(rows), -np.ones(rows)],
        )
        self.first_column = 2 * rows

    def add(self, e: int, choice: list[int]) -> bool:
        """Add employee ``e``'s line unless it is there already; whether it was added."""
        key = (e, tuple(choice))
        if key in self.seen:
            return False
        self.seen.add(key)
        column = _Column.of(e, self.problems[e], choice)
        self.columns.append(column)
        entries = np.r_[e, len(self.problems) + column.rows].astype(np.int32)
        self.lp.addCol(column.cost, 0.0, highspy.kHighsInf, len(entries), entries, np.ones(len(entries)))
        return True

    def fix(self, e: int, j: int) -> None:
        """Fix employee ``e``'s line to column ``j``: its other columns get no share."""
        self.fixed[e] = j
        self._bound_others(e, j, 0.0)

    def unfix(self, e: int) -> None:
        """Free employee ``e``'s line again."""
        self._bound_others(e, self.fixed.pop(e), highspy.kHighsInf)

    def _bound_others(self, e: int, j: int, upper: float) -> None:
        others = [self.first_column + i for i, c in enumerate(self.columns) if c.employee == e and i != j]
        n = len(others)
        self.bounds_changed = True
        self.lp.changeColsBounds(n, np.array(others, np.int32), np.zeros(n), np.full(n, upper))

    def _optimal(self) -> bool:
        # After bounds change the last basis stays dual feasible: dual simplex (I12: 230-1000 iterations,
        # 0.05-0.2 s, where primal took 700-2900 and 0.15-0.5 s); after columns are added, primal.
        self.lp.setOptionValue("simplex_strategy", 1 if self.bounds_changed else 4)
        self.bounds_changed = False
        self.lp.run()
        if self.lp.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            # Once more from scratch: a warm start can end in numerical trouble (seen once in ~20 Curtois 19
            # roots), and the programme itself always has a solution (shortfall and excess are free to take).
            self.lp.clearSolver()
            self.lp.run()
        return self.lp.getModelStatus() == highspy.HighsModelStatus.kOptimal

    def objective(self) -> float:
        """The LP's objective over the lines there are (infinite if HiGHS fails)."""
        return float(self.lp.getInfo().objective_function_value) if self._optimal() else _INF

    def solve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The LP: each column's share, and the duals of each employee's convexity row and of each shift-demand
        row; None if HiGHS fails."""
        if not self._optimal():
            return None
        solution = self.lp.getSolution()
        duals = np.array(solution.row_dual)
        employees = len(self.problems)
        return np.array(solution.col_value)[self.first_column:], duals[:employees], duals[employees:]

    def price(self, e: int, convexity: float, cover_price: np.ndarray, thorough: bool = False) -> bool:
        """Employee ``e``'s best line against the duals, added if its reduced cost is negative; ``thorough``:
        ``THOROUGH_ITERATIONS`` rounds of the programme's prices, and where weekends are limited, the better of
        that line and the one with its weekends decided beforehand (the weekend price bisected with the
        minute price stops on lines working fewer weekends than the limit allows: Curtois 8)."""
        problem = self.problems[e]
        rows = problem.layout.demand_row
        priced = problem.repriced(problem.layout.base_cost - np.where(rows >= 0, cover_price[rows], 0.0))
        if not thorough:
            line = best_line(priced)
        else:
            lines = [best_line(priced, THOROUGH_ITERATIONS)]
            if problem.max_weekends is not None:
                lines.append(best_line(weekends_decided(priced, []), THOROUGH_ITERATIONS))
            line = min(lines, key=lambda line: (not line.feasible, line.cost))
        return line.feasible and line.cost < convexity - _EPS and self.add(e, line.choice)

    def price_exactly(
        self, e: int, convexity: float, cover_price: np.ndarray, until: float
    ) -> tuple[float, bool] | None:
        """Employee ``e``'s best line against the duals by CP-SAT on its model (``models``), added if its reduced
        cost is negative: a lower bound on the least reduced cost of its lines (the found line's, less what
        rounding the duals may hide) and whether the line was added; None if CP-SAT did not prove its line the
        cheapest by ``until``."""
        assert self.models is not None
        line_model, problem = self.models[e], self.problems[e]
        model = line_model.model.clone()
        objective = model.proto.objective
        own = list(zip(objective.vars, objective.coeffs, strict=True))
        offset = objective.offset
        coefficients: dict[int, int] = {}
        for var, coefficient in own:
            if var < 0:  # a negated literal: coefficient * (1 - x)
                var, coefficient, offset = -var - 1, -coefficient, offset + coefficient
            coefficients[var] = coefficients.get(var, 0) + PRICE_SCALE * coefficient
        flat = [v for day in line_model.variables for v in day]
        for var, row in zip(flat, problem.layout.demand_row, strict=True):
            if row >= 0:
                coefficients[var] = coefficients.get(var, 0) - round(PRICE_SCALE * cover_price[row])
        objective.vars.clear()
        objective.vars.extend(list(coefficients))
        objective.coeffs.clear()
        objective.coeffs.extend(list(coefficients.values()))
        objective.offset = PRICE_SCALE * offset
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.linearization_level = 2  # a line's LP is tight (``sequential._line_solver``)
        solver.parameters.max_time_in_seconds = max(0.01, until - time.perf_counter())
        if solver.Solve(model) != cp_model.OPTIMAL:
            return None
        solution = solver.ResponseProto().solution
        choice = line_choice(line_model, list(solution))
        column = _Column.of(e, problem, choice)
        own_value = line_model.model.proto.objective.offset + sum(
            c * (1 - solution[-v - 1] if v < 0 else solution[v]) for v, c in own
        )
        self.constants[e] = own_value - column.cost
        reduced = column.cost - float(cover_price[column.rows].sum()) - convexity
        added = reduced < -_EPS and self.add(e, choice)
        # Each day's dual was rounded by at most half a unit: the cheapest line may be cheaper by twice that.
        return reduced - len(line_model.variables) / PRICE_SCALE, added

    def price_all_exactly(
        self, employees: list[int], convexity: np.ndarray, cover_price: np.ndarray, until: float
    ) -> list[tuple[float, bool]] | None:
        """``price_exactly`` for each of ``employees`` in turn; None as soon as one is not proven by ``until``."""
        found = []
        for e in employees:
            one = self.price_exactly(e, convexity[e], cover_price, until) if time.perf_counter() < until else None
            if one is None:
                return None
            found.append(one)
        return found

    def exact_bound(self, until: float) -> float | None:
        """Column generation priced exactly (``price_exactly``) from the LP there is, the programme's pricing
        catching up between the exact rounds, until no line prices out: the best Lagrangian bound of its rounds
        (the LP plus each employee's least reduced cost) on the whole model's objective (the lines' constants
        included), or None if no round was priced to proof by ``until``. Only at the root (no line fixed)."""
        best = None
        while True:
            solved = self.solve()
            if solved is None:
                return best
            _, convexity, cover_price = solved
            lp = float(self.lp.getInfo().objective_function_value)  # before pricing adds columns
            found = self.price_all_exactly(list(range(len(self.problems))), convexity, cover_price, until)
            if found is None:
                return best
            bound = lp + sum(min(0.0, reduced) for reduced, _ in found) + sum(self.constants.values())
            added = any(added for _, added in found)
            best = bound if best is None else max(best, bound)
            if not added or self.generate(until, thorough=True) is None:
                return best

    def generate(
        self, until: float, *, thorough: bool = False, exact_until: float | None = None
    ) -> tuple[np.ndarray, bool] | None:
        """Column generation for the employees not fixed until no line prices out (or ``until``): the last
        LP's share of each column and whether it converged; None if the LP failed. ``thorough``: once nothing
        prices out, pricing goes on thoroughly (``price``) until nothing does so either; ``exact_until`` (with
        the lines' models): then each line is priced exactly (``price_exactly``) until then, the programme
        again after a round that adds lines."""
        stage = 0  # 0: the programme's default pricing, 1: thorough, 2: exact
        exact = exact_until is not None and self.models is not None
        while True:
            solved = self.solve()
            if solved is None:
                return None
            share, convexity, cover_price = solved
            if time.perf_counter() >= until:
                return share, False
            free = [e for e in range(len(self.problems)) if e not in self.fixed]
            if stage < 2:
                added = [
                    self.price(e, convexity[e], cover_price, stage == 1) for e in free if time.perf_counter() < until
                ]
            else:
                found = self.price_all_exactly(free, convexity, cover_price, min(until, exact_until))
                if found is None:  # out of time: the LP over the lines added so far
                    solved = self.solve()
                    return None if solved is None else (solved[0], False)
                added = [added for _, added in found]
                stage = 1 if any(added) else 2
            if not any(added):
                if stage == 0 and thorough:
                    stage = 1
                elif stage == 1 and exact and time.perf_counter() < exact_until:
                    stage = 2
                else:
                    return share, time.perf_counter() < until


@dataclasses.dataclass
class Dive:
    """A dive's roster of lines and its cost (``lines_cost``); its employees in the order the dive fixed their
    lines and when (``perf_counter``), and when it ended. No fixings where the start's lines were the better
    roster and are returned instead. Where the root was priced exactly, ``bound``, a lower bound on the whole
    model's objective, and ``offset``, what ``cost`` leaves out of it (the lines' constants)."""

    lines: list[list[int]]
    cost: float
    fixing_order: list[int]
    fixed_at: list[float]
    ended_at: float
    bound: float | None = None
    offset: float | None = None

    def last_fixed(self, share: float) -> tuple[list[int], float]:
        """The employees whose lines were fixed last, ``share`` of them, and the seconds from the first of these
        fixings to the dive's end."""
        first = len(self.fixing_order) - round(share * len(self.fixing_order))
        if first == len(self.fixing_order):
            return [], 0.0
        return self.fixing_order[first:], self.ended_at - self.fixed_at[first]


def dived_lines(
    problems: list[LineProblem],
    start: list[list[int]],
    demand: list[ShiftDemand],
    deadline: float,
    *,
    seed: int = 0,
    models: list[LineModel] | None = None,
) -> Dive | None:
    """A roster of lines by column generation from the lines ``start`` (one per employee, each keeping every
    rule), then diving, then best responses, by ``deadline``; the better of it and ``start``. Every line
    returned keeps every rule of its problem (the programme's lines are taken only where feasible). With the
    lines' CP-SAT ``models``, the root is also priced exactly (``EXACT_SHARE``), which gives the dive's bound.

    None where the dive would not finish in time (the root LP must converge at the default pricing within
    ``ROOT_SHARE`` of it, all but ``CUT_SHORT_SHARE`` of the lines be fixed by ``deadline``): a dive cut short
    early, every employee left taking the line the LP holds most, ends far from its LP (Curtois 8: 3699 at 30 s,
    1386 when it runs its 25 s), so the time is better left to other searches."""
    began = time.perf_counter()
    master = _Master(problems, demand, models)
    for e, choice in enumerate(start):
        master.add(e, choice)
    root_until = began + (deadline - began) * ROOT_SHARE
    root = master.generate(root_until)
    if root is None or not root[1]:
        return None
    # Priced thoroughly for what is left of the root's time, converged or not (Curtois 19: the default
    # converges at 3252 in ~100 s, thorough pricing still finds lines at 3187 after 300 s).
    root = master.generate(root_until, thorough=True)
    if root is None:
        return None
    share, bound, offset = root[0], None, None
    if models is not None and root[1]:
        bound = master.exact_bound(min(root_until, time.perf_counter() + EXACT_SHARE * (deadline - began)))
        offset = None if bound is None else sum(master.constants.values())
        solved = master.solve()
        if solved is None:
            return None
        share = solved[0]
    fixed = master.fixed
    root_done, steps = time.perf_counter(), 0
    fixed_at: list[float] = []
    out_of_time = False
    while True:
        best: dict[int, int] = {}
        for j, column in enumerate(master.columns):
            if column.employee not in fixed and share[j] >= share[best.get(column.employee, j)]:
                best[column.employee] = j
        sure = {e: j for e, j in best.items() if share[j] >= FIX_SHARE}
        # At least one line a step; where that would not be done in time at the pace of the steps so far, as
        # many as would be.
        now, left = time.perf_counter(), len(problems) - len(fixed)
        to_go_s = deadline - now
        many = 1 if not steps or to_go_s <= 0 else math.ceil(left * (now - root_done) / steps / (STEPS_SHARE * to_go_s))
        if out_of_time:  # with few lines left
            sure = best
        elif len(sure) < many:
            # Of the lines the LP holds most, those whose fixing raises the LP least (before new lines are
            # priced): fixing the most held alone made Curtois 5's LP jump by 44 and 52 on the way.
            ranked = sorted((e for e in best if e not in sure), key=lambda e: -share[best[e]])
            tried = {}
            for e in ranked[:DIVE_CANDIDATES]:
                master.fix(e, best[e])
                tried[e] = master.objective()
                master.unfix(e)
            order = sorted(tried, key=tried.__getitem__) + ranked[DIVE_CANDIDATES:]
            sure |= {e: best[e] for e in order[: many - len(sure)]}
        for e, j in sure.items():
            master.fix(e, j)
            fixed_at.append(time.perf_counter())
        if len(fixed) == len(problems):
            break
        now, left = time.perf_counter(), len(problems) - len(fixed)
        # On pace until the lines left, at the time per line fixed so far, would take ``PACE_SHARE`` of the time
        # left; exact pricing (``EXACT_STEPS``) stops there.
        ratio = left / len(fixed)
        pace_until = (PACE_SHARE * deadline + ratio * root_done) / (PACE_SHARE + ratio)
        on_pace = now <= pace_until
        generated = master.generate(
            min(deadline, now + STEP_SLACK * (deadline - now) / left),
            thorough=on_pace,
            exact_until=pace_until if on_pace and EXACT_STEPS else None,
        )
        out_of_time = time.perf_counter() >= deadline
        if generated is None or (out_of_time and left > CUT_SHORT_SHARE * len(problems)):
            return None
        share, steps = generated[0], steps + 1
    lines = [list(master.columns[fixed[e]].choice) for e in range(len(problems))]
    improve_lines(problems, lines, demand, deadline, seed=seed)
    cost, start_cost = lines_cost(problems, lines, demand), lines_cost(problems, start, demand)
    if cost <= start_cost:  # ``fixed``, a dict, keeps the order its keys were set in
        return Dive(lines, cost, list(fixed), fixed_at, time.perf_counter(), bound, offset)
    return Dive([list(choice) for choice in start], start_cost, [], [], time.perf_counter(), bound, offset)
