"""A first roster built employee by employee, each line by CP-SAT against the demand the others left.

The greedy start (``wfm.roster.greedy``) picks whole weeks by interval cover and gives up on rules it cannot
mend by dropping shifts (minimum hours over the horizon, minimum runs of work). CP-SAT on the whole model of a
large scenario (Curtois 21: 100 people, 182 days) may find no roster at all in ten minutes. Yet most rules
concern one employee: one person's model is small, its solver finds a legal line in a fraction of a second,
and with the requirement reduced by what the employees before cover, each line aims at what is still missing.
Rules between employees (leaders and supervisors on duty, fairness) are left to the later search.
"""

from __future__ import annotations

import math
import time
from collections import Counter

from ortools.sat.python import cp_model

from wfm.roster.domain import Scenario
from wfm.roster.lns import light_solver
from wfm.roster.model import RosterModel, RuleGroup
from wfm.roster.progress import ProgressCallback, stop_on_stall
from wfm.roster.tables import coverage_of, extract_roster

_LINE_WORKERS = 8
_LINE_MAX_S = 5.0  # by default, an employee's line is searched this long past the construction's deadline


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


def sequential_assignments(
    scenario: Scenario,
    deadline: float,
    *,
    workers: int,
    seed: int = 0,
    skip: frozenset[RuleGroup] = frozenset(),
    give_up: float | None = None,
) -> dict[tuple[int, int, str], int] | None:
    """A roster as hint values for the whole model's ``x`` variables (keys ``(employee, option, skill)`` set to 1),
    each employee's line solved alone, in turn, until ``deadline`` (shared evenly among those left); rule
    groups in ``skip`` are left out, as in the whole model. Past the deadline each line still gets searched
    until its first solution, up to ``give_up`` (default: ``_LINE_MAX_S`` past the deadline).

    None when some employee's own rules admit no line (or none is found by ``give_up``).
    """
    covered: Counter = Counter()  # (interval start, skill) -> people on the queue
    shift_covered: Counter = Counter()  # (date, template) -> people
    roles = scenario.roles.model_copy(update={"leader_whenever_on_duty": False, "agents_per_supervisor": None})
    chosen: dict[tuple[int, int, str], int] = {}
    employees = scenario.employees
    give_up = deadline + _LINE_MAX_S if give_up is None else max(give_up, deadline)
    options = None  # the same for every line: expanded once
    building_s = 0.0
    for e, employee in enumerate(employees):
        building = time.perf_counter()
        single = _residual(scenario, covered, shift_covered)
        single = single.model_copy(update={"employees": [employee], "roles": roles})
        built = RosterModel(single, skip=skip, options=options)
        options = built.options
        now = time.perf_counter()
        building_s += now - building
        # The search time left, less the building of the lines still to come, shared evenly: each line's search
        # time is what decides its quality (Curtois 24: 698k in 237 s, 238k in 430 s).
        left = len(employees) - e
        share_s = max(0.0, deadline - now - (left - 1) * building_s / (e + 1)) / left
        # A light presolve, the solve's own workers for the share; a line not found by then gets CP-SAT's
        # portfolio of 8 searches (time-sliced on fewer cores) up to ``give_up``: a legal line can be hard to
        # find (Curtois 22: total minutes held to a window of two shifts over 364 days; with 2 workers 10 of 50
        # lines had none after 5 s, with 8 one), but on every line the 8 slices cost Curtois 24 quality (600 s:
        # 137k and 179k with 2 workers first, one run 696k; 640k and 714k with 8 on every line).
        tries = [workers] if workers == 1 or workers >= _LINE_WORKERS else [workers, _LINE_WORKERS]
        for attempt, line_workers in enumerate(tries):
            solver = light_solver(line_workers, seed)
            started = time.perf_counter()
            last = attempt == len(tries) - 1
            limit_s = give_up - started if last else min(give_up - started, max(share_s, 1.0))
            solver.parameters.max_time_in_seconds = max(0.05, limit_s)
            found = ProgressCallback(None)
            with stop_on_stall(solver, found, now + share_s, 0.0, poll_s=0.05):  # share spent: the best so far
                status = solver.Solve(built.model, found)
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                break
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        for (_, index, skill), var in built.x.items():
            if solver.BooleanValue(var):
                chosen[e, index, skill] = 1
                option = built.options[index]
                shift_covered[built.dates[option.day], option.template] += 1
        if single.requirements:  # breaks and activities as placed by the solver, counted by the independent tally
            scheduled = coverage_of(single, extract_roster(built, solver))["scheduled"]
            for row, people in zip(single.requirements, scheduled, strict=True):
                covered[row.interval_start, row.skill] += int(people)
    return chosen
