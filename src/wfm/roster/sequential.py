"""A first roster built employee by employee, each line by CP-SAT against the demand the others left.

The greedy start (``wfm.roster.greedy``) picks whole weeks by interval cover and gives up on rules it cannot
mend by dropping shifts (minimum hours over the horizon, minimum runs of work). CP-SAT on the whole model of a
large scenario (Curtois 21: 100 people, 182 days) may find no roster at all in ten minutes. Yet most rules
concern one employee: one person's model is small, its solver finds a legal line in a fraction of a second,
and with the requirement reduced by what the employees before cover, each line aims at what is still missing.
Rules between employees (leaders and supervisors on duty, fairness) are left to the later search. Where a
line's dynamic programme applies (``wfm.roster.linedp``: cover per day and shift, the benchmark's rules), it
finds most lines itself, and the lines are then re-solved one at a time against all the others' cover, which
mends the start's greed (the first lines take what later ones would have needed): Curtois 21, 200 s, 28.6k
against 44.4k in 280 s by CP-SAT lines alone.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from wfm.roster.domain import Employee, Scenario, ShiftDemand
from wfm.roster.linedp import (
    LineModel,
    LineProblem,
    best_line,
    demand_arrays,
    guided_lines,
    hint_values,
    improve_lines,
    line_choice,
    line_problem,
    priced_line,
)
from wfm.roster.lns import light_solver
from wfm.roster.model import RosterModel, RuleGroup
from wfm.roster.progress import ProgressCallback, stop_on_stall
from wfm.roster.tables import coverage_of, extract_roster

_LINE_MAX_S = 5.0  # by default, an employee's line is searched this long past the construction's deadline
# A line's search time, at least: below it lines are poor. Curtois 24, first 20 lines, the objective above the
# line's LP bound summed: 49.8k with 1 s a line, 32.9k with 2 s, 21.1k with 3 s.
_LINE_MIN_S = 1.5
# Where every line has a dynamic programme (``wfm.roster.linedp``), the lines get this share of the construction's
# time and the rest goes to re-solving each line against all the others (``linedp.improve_lines``). Curtois 21,
# construction alone in 200 s: 28628 with 0.6, 28751 with 0.3, 35347 with 1.0 (re-solving had 20 s).
LINES_SHARE = 0.6


@dataclass
class Lines:
    """The constructed lines, where each has its dynamic programme, for best responses later on: per employee
    its ``LineProblem``, its line (per day the option position worked, -1 for a rest day) and per day the key
    ``(option, skill)`` of each option position (the whole model's ``x`` key, with the employee), and the
    demand they cover; where asked for, each line's CP-SAT model (``models``: exact pricing)."""

    problems: list[LineProblem]
    keys: list[list[list[tuple[int, str]]]]
    demand: list[ShiftDemand]
    choices: list[list[int]]
    models: list[LineModel] | None = None

    def chosen(self, choices: list[list[int]]) -> dict[tuple[int, int, str], int]:
        """Lines of these employees as hint values for the whole model's ``x`` (keys set to 1)."""
        return {
            (e, *self.keys[e][day][k]): 1 for e, choice in enumerate(choices) for day, k in enumerate(choice) if k >= 0
        }


@dataclass
class Construction:
    """A constructed roster: hint values for the whole model's ``x`` variables (keys ``(employee, option,
    skill)`` set to 1), and its lines where each has its dynamic programme."""

    chosen: dict[tuple[int, int, str], int]
    lines: Lines | None


def _residual(scenario: Scenario, covered: Counter, shift_covered: Counter) -> Scenario:
    """The scenario's demand less what is already covered: requirement and maximum per interval and skill,
    wanted people per date and template."""
    requirements = []
    for row in scenario.requirements:
        people = covered[row.interval_start, row.skill]
        maximum = None if row.maximum is None else max(0, row.maximum - people)
        requirements.append(
            row.model_copy(update={"required": max(0, math.ceil(row.required) - people), "maximum": maximum})
        )
    shift_demand = [
        demand.model_copy(update={"required": max(0, demand.required - shift_covered[demand.date, demand.template])})
        for demand in scenario.shift_demand
    ]
    return scenario.model_copy(update={"requirements": requirements, "shift_demand": shift_demand})


def _line_solver(workers: int, seed: int, portfolio: bool) -> cp_model.CpSolver:
    """A line's solver. The LP of a line is tight (its bound within ~0.1 % of the line's cost), so the solve's own
    workers run with the LP at its fullest: Curtois 24, first 20 lines at 2 s each, the objective left after them
    1819651 against 1824251 with the default and 1861123 with CP-SAT's 8-search portfolio. ``portfolio``: a
    search without LP next to one with the fullest LP and a neighbourhood worker, for lines that are hard to
    find at all (Curtois 22: total minutes held to a window of two shifts over 364 days; with 2 workers 6 of 10
    lines were not found in 6 s, with this all 10 in 3 s, as well as with the 8-search portfolio in 6 s; the
    search without LP found most of them first)."""
    solver = light_solver(max(workers, 3) if portfolio else workers, seed)
    solver.parameters.linearization_level = 2
    if portfolio:
        solver.parameters.subsolvers.extend(["no_lp", "max_lp"])
    return solver


def sequential_assignments(
    scenario: Scenario,
    deadline: float,
    *,
    workers: int,
    seed: int = 0,
    skip: frozenset[RuleGroup] = frozenset(),
    give_up: float | None = None,
    floor_until: float | None = None,
    keep_models: bool = False,
    whole_weekends: bool = False,
    guided_until: float | None = None,
) -> Construction | None:
    """A roster, each employee's line solved alone, in turn, until ``deadline`` (shared evenly among those left,
    at least ``_LINE_MIN_S`` a line as far as ``floor_until``, default ``give_up``, leaves time for the lines to
    come); rule groups in ``skip`` are left out, as in the whole model. A line not found in its share is searched
    on until its first solution, up to ``give_up`` (default: ``_LINE_MAX_S`` past the deadline), by a search of
    at least 3 workers whatever ``workers`` says (``_line_solver``).

    Where the line's dynamic programme (``wfm.roster.linedp``) represents every line, a line it finds keeping
    every rule is taken without CP-SAT (else it hints CP-SAT), the lines get ``LINES_SHARE`` of the time, and
    then each line is re-solved against all the others' cover (``linedp.improve_lines``, with perturbed rounds
    and substitution chains after an equilibrium) up to ``deadline``;
    the lines come back with the roster for later best responses (``Construction.lines``), and with
    ``keep_models`` their CP-SAT models (``Lines.models``; kept only where asked for: Curtois 24's would be
    150 models of 364 days). With ``whole_weekends``, the programme plans the lines of employees with a weekend
    limit with their weekends whole (``LineProblem.whole_weekends``), here and in the lines' later best
    responses: a heuristic, where weekends are scarce, not a rule (nor a relaxation: no bound for column
    generation). With ``guided_until``, the best responses go on in guided phases (``linedp.guided_lines``)
    up to it (at least ``deadline``) while they gain, instead of ending at an equilibrium.

    None when some employee's own rules admit no line (or none is found by ``give_up``).
    """
    covered: Counter = Counter()  # (interval start, skill) -> people on the queue
    shift_covered: Counter = Counter()  # (date, template) -> people
    roles = scenario.roles.model_copy(update={"leader_whenever_on_duty": False, "agents_per_supervisor": None})
    chosen: dict[tuple[int, int, str], int] = {}
    employees = scenario.employees
    give_up = deadline + _LINE_MAX_S if give_up is None else max(give_up, deadline)
    floor_until = give_up if floor_until is None else min(floor_until, give_up)
    options = None  # the same for every line: expanded once
    building_s = 0.0
    hard_lines = False  # a line needed the portfolio
    problems: list[LineProblem] = []  # while every line has its dynamic programme (``wfm.roster.linedp``)
    choices: list[list[int]] = []
    keys: list[dict[int, tuple[int, str]]] = []  # per employee, option variable -> (option, skill)
    models: list[LineModel] = []
    programmes = True
    construction_deadline = deadline
    deadline = time.perf_counter() + (deadline - time.perf_counter()) * LINES_SHARE
    required, under, over = demand_arrays(scenario.shift_demand)

    def residual_model(employee: Employee) -> tuple[Scenario, RosterModel]:
        single = _residual(scenario, covered, shift_covered)
        single = single.model_copy(update={"employees": [employee], "roles": roles})
        return single, RosterModel(single, skip=skip, options=options)

    for e, employee in enumerate(employees):
        building = time.perf_counter()
        problem = None
        if programmes:
            # The line's model without the demand, which its programme prices itself: building the demand's
            # terms and the scenario of what is left took 0.6 of 0.9 s a line (Curtois 24). CP-SAT, where it
            # has to mend a line, gets the model with them.
            single = scenario.model_copy(update={"employees": [employee], "roles": roles, "shift_demand": []})
            built = RosterModel(single, skip=skip, options=options)
            problem = _planned(line_problem(built, demand=scenario.shift_demand), whole_weekends)
            if problem is None:
                programmes = False
                deadline = construction_deadline  # no line improvement to come: the lines have all the time
            elif keep_models:
                models.append(LineModel(built.model, problem.variables))
        if problem is None:
            single, built = residual_model(employee)
        options = built.options
        now = time.perf_counter()
        building_s += now - building
        # The search time left, less the building of the lines still to come, shared evenly: each line's search
        # time is what decides its quality (Curtois 24: 698k in 237 s, 238k in 430 s).
        left = len(employees) - e
        build_s = (left - 1) * building_s / (e + 1)
        # The floor only as far as ``floor_until`` leaves time for every line still to come.
        floor_s = min(_LINE_MIN_S, max(0.0, floor_until - now - build_s) / left)
        share_s = max(floor_s, max(0.0, deadline - now - build_s) / left)
        priced = None
        if problem is not None:
            people = np.array([shift_covered[d.date, d.template] for d in scenario.shift_demand], float)
            priced = priced_line(problem, required - people, under, over)
        line = best_line(priced, until=now + share_s / 2) if priced is not None else None
        solver = None
        if line is None or not line.feasible:
            if line is not None:  # the programme's line breaks a limit: CP-SAT mends it, hinted with it
                single, built = residual_model(employee)
                problem = _planned(line_problem(built), whole_weekends)  # the same options, in the same positions
                assert problem is not None
                hint = hint_values(problem, line)
                built.model.proto.solution_hint.vars.extend(i for i, _ in hint)
                built.model.proto.solution_hint.values.extend(v for _, v in hint)
            solver, hard_lines = _solve_line(built, workers, seed, hard_lines, now + share_s, give_up)
            if solver is None:
                return None
        if problem is not None:
            # A line the programme found keeping every rule is taken as it is: CP-SAT took 1.5 s a line to come
            # near it (Curtois 24), and the best responses below re-solve every line anyway.
            choice = line.choice if solver is None else line_choice(problem, list(solver.ResponseProto().solution))
            key = {var.Index(): (index, skill) for (_, index, skill), var in built.x.items()}
            problems.append(problem)
            choices.append(choice)
            keys.append(key)
            assigned = [key[problem.variables[day][k]] for day, k in enumerate(choice) if k >= 0]
        else:
            assigned = [(index, skill) for (_, index, skill), var in built.x.items() if solver.BooleanValue(var)]
        for index, skill in assigned:
            chosen[e, index, skill] = 1
            option = built.options[index]
            shift_covered[built.dates[option.day], option.template] += 1
        if single.requirements:  # breaks and activities as placed by the solver, counted by the independent tally
            scheduled = coverage_of(single, extract_roster(built, solver))["scheduled"]
            for row, people in zip(single.requirements, scheduled, strict=True):
                covered[row.interval_start, row.skill] += int(people)
    if not programmes:
        return Construction(chosen, None)
    # Perturbed rounds here, not in the search's lines steps (600 s, seed 0: Curtois 24 67938 here only, 67150
    # in both, 75234 in neither; Curtois 22 34121, 34858, 34221; benchmarks/curtois/NOTES.md, thirty-fourth
    # session); substitution chains after them (Curtois 24 58860, Curtois 22 33771; thirty-fifth session).
    # The best responses on ``workers`` threads: their programmes and polish are compiled code that runs
    # without the interpreter's lock, and the construction has the machine to itself. Curtois 24 on 2 cores:
    # a plain round 3.7 -> 2.6 s, a perturbed one 13.8 -> 9.4 s (medians); the lines' cost at 300 s 40026 and
    # 39440 on one thread, 39370 and 39372 on two (benchmarks/curtois/NOTES.md, forty-ninth session). The
    # chains' stand-ins too: a chain round 35 -> 27-28 s, the lines' cost at 300 s 39379 -> 38710 (seed 0) and
    # 39878 -> 39713 (seed 1) (fiftieth session).
    if guided_until is not None:
        guided_lines(
            problems, choices, scenario.shift_demand, max(construction_deadline, guided_until), seed=seed,
            threads=workers,
        )
    else:
        improve_lines(
            problems, choices, scenario.shift_demand, construction_deadline, seed=seed, perturbed=True, chains=True,
            threads=workers,
        )
    lines = Lines(
        problems,
        [[[key[v] for v in day] for day in problem.variables] for problem, key in zip(problems, keys, strict=True)],
        scenario.shift_demand,
        choices,
        models if keep_models else None,
    )
    return Construction(lines.chosen(choices), lines)


def _planned(problem: LineProblem | None, whole_weekends: bool) -> LineProblem | None:
    """The line's problem, with ``whole_weekends`` its weekends planned whole where it has a weekend limit."""
    if problem is None or problem.max_weekends is None or not whole_weekends:
        return problem
    return dataclasses.replace(problem, whole_weekends=True)


def _solve_line(
    built: RosterModel, workers: int, seed: int, hard_lines: bool, share_end: float, give_up: float
) -> tuple[cp_model.CpSolver | None, bool]:
    """CP-SAT on one line's model: a light presolve and the solve's own workers with the LP at its fullest until
    ``share_end``; a line not found by then is searched up to ``give_up`` by a line-level portfolio (see
    ``_line_solver``), which also goes first for the lines after it (``hard_lines``, returned updated): lines
    of one scenario tend to be alike. The solver holding the line, or None if none was found."""
    tries = [True] if hard_lines else [False, True]
    for attempt, portfolio in enumerate(tries):
        solver = _line_solver(workers, seed, portfolio)
        started = time.perf_counter()
        last = attempt == len(tries) - 1
        limit_s = give_up - started if last else min(give_up - started, share_end - started)
        solver.parameters.max_time_in_seconds = max(0.05, limit_s)
        found = ProgressCallback(None)
        with stop_on_stall(solver, found, share_end, 0.0, poll_s=0.05):  # share spent: the best so far
            status = solver.Solve(built.model, found)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return solver, portfolio  # once a line needed the portfolio, every later line runs it only
    return None, hard_lines
