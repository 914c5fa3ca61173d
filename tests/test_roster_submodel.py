"""The neighbourhood sub-model cut (``wfm.roster.submodel``) against CP-SAT on the whole model with the
fixed variables' domains pinned: the same optimum, on random models of every supported constraint kind."""

from __future__ import annotations

import itertools
import random
import time
from pathlib import Path

import numpy as np
import pytest
from curtois_helpers import benchmark_table
from ortools.sat.python import cp_model

from wfm.benchmarks.curtois import Instance, evaluate, parse_instance, to_scenario
from wfm.roster import lns
from wfm.roster.model import RequestTerm, RosterModel
from wfm.roster.submodel import SubModelIndex

INSTANCES = Path(__file__).resolve().parents[1] / "benchmarks" / "curtois" / "instances"


def _rough_roster(
    name: str, workers: int, limit_s: float | None = None
) -> tuple[Instance, RosterModel, list[int], float]:
    """An instance, its whole model and a rough roster of it: CP-SAT's first solution, or its best within
    ``limit_s``. Returns the instance, the model, the roster (values by proto index) and its objective."""
    instance = parse_instance(INSTANCES / f"{name}.txt")
    built = RosterModel(to_scenario(instance))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    if limit_s is None:
        solver.parameters.stop_after_first_solution = True
    else:
        solver.parameters.max_time_in_seconds = limit_s
    assert solver.Solve(built.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return instance, built, list(solver.ResponseProto().solution), solver.ObjectiveValue()


def _random_model(rng: random.Random) -> tuple[cp_model.CpModel, list[cp_model.IntVar], list[cp_model.IntVar]]:
    """Booleans (the decisions) and a few integer counts (auxiliaries) under random constraints."""
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(14)]
    counts = [model.new_int_var(0, 6, f"n{i}") for i in range(3)]
    for n in counts:
        model.add(n == sum(rng.sample(x, 5)))
    for _ in range(6):
        lits = [v if rng.random() < 0.6 else v.Not() for v in rng.sample(x, 3)]
        kind = rng.randrange(5)
        if kind == 0:
            model.add_bool_or(lits)
        elif kind == 1:
            model.add_implication(lits[0], lits[1])
        elif kind == 2:
            model.add_at_most_one(lits)
        elif kind == 3:
            model.add_exactly_one(lits)
        else:
            model.add(sum(rng.sample(x, 4)) <= 2).only_enforce_if(lits[0])
    model.minimize(sum(rng.randint(-3, 5) * v for v in x) + sum(rng.randint(0, 3) * n for n in counts))
    return model, x, counts


def _solve(model: cp_model.CpModel) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert solver.Solve(model) == cp_model.OPTIMAL
    return solver


def _optimal_start(rng: random.Random) -> tuple[cp_model.CpModel, list[int], set[int]]:
    """A random model, its optimal solution, and its decisions' indices."""
    model, x, _ = _random_model(rng)
    solver = _solve(model)
    return model, list(solver.ResponseProto().solution), {v.Index() for v in x}


@pytest.mark.parametrize("seed", range(25))
def test_cut_has_the_optimum_of_the_pinned_whole_model(seed: int) -> None:
    rng = random.Random(seed)
    model, incumbent, primary = _optimal_start(rng)
    free = set(rng.sample(sorted(primary), 5))
    index = SubModelIndex(model, primary)
    assert index.supports
    cut = index.cut(incumbent, free)
    solver = _solve(cut.model)
    solution = list(incumbent)
    for v, value in zip(cut.variables, solver.ResponseProto().solution, strict=True):
        solution[v] = value

    pinned = model.clone()
    for v in sorted(primary - free):
        pinned.add(pinned.get_bool_var_from_proto_index(v) == incumbent[v])
    reference = _solve(pinned)
    assert index.objective_value(solution) == reference.ObjectiveValue()
    # The combined solution satisfies the whole model: pin every variable to it.
    check = model.clone()
    for v, value in enumerate(solution):
        check.add(check.get_int_var_from_proto_index(v) == value)
    assert _solve(check).ObjectiveValue() == index.objective_value(solution)


@pytest.mark.parametrize("seed", range(10))
def test_a_kept_cut_completes_changed_decisions(seed: int) -> None:
    """``keep``: decisions changed in the incumbent stay as they are, and the auxiliaries that follow them are
    solved: the optimum of the whole model with every decision pinned to the changed incumbent."""
    rng = random.Random(seed)
    model, incumbent, primary = _optimal_start(rng)
    changed = set(rng.sample(sorted(primary), 4))
    for v in changed:
        incumbent[v] = 1 - incumbent[v]
    index = SubModelIndex(model, primary)
    cut = index.cut(incumbent, changed, keep=True)
    assert not set(cut.variables) & primary
    pinned = model.clone()
    for v in sorted(primary):
        pinned.add(pinned.get_bool_var_from_proto_index(v) == incumbent[v])
    reference = cp_model.CpSolver()
    if reference.Solve(pinned) == cp_model.INFEASIBLE:
        assert cp_model.CpSolver().Solve(cut.model) == cp_model.INFEASIBLE
        return
    solution = list(incumbent)
    solver = _solve(cut.model)
    for v, value in zip(cut.variables, solver.ResponseProto().solution, strict=True):
        solution[v] = value
    assert index.objective_value(solution) == reference.ObjectiveValue()


@pytest.mark.parametrize("seed", range(10))
def test_a_step_keeps_joined_pairs_equal(seed: int) -> None:
    """``joined`` pairs equal in the incumbent stay equal in a step (a free variable whose pair is fixed keeps
    its value); a pair the incumbent has unequal is left alone: the step's optimum is the pinned whole model's
    with exactly those equalities."""
    rng = random.Random(seed)
    model, x, _ = _random_model(rng)
    other = model.clone()  # an incumbent far from the optimum: optimal for another objective
    other.minimize(sum(rng.randint(-5, 5) * other.get_bool_var_from_proto_index(v.Index()) for v in x))
    incumbent_solver = _solve(other)
    incumbent = list(incumbent_solver.ResponseProto().solution)
    primary = {v.Index() for v in x}
    free = set(rng.sample(sorted(primary), 8))
    pairs = [rng.sample(sorted(free), 2) for _ in range(4)] + [rng.sample(sorted(primary), 2) for _ in range(4)]
    joined = np.asarray(pairs, dtype=np.int64)
    index = SubModelIndex(model, primary)
    status, found = lns._sub_step(index, incumbent, free, 5.0, 1, 0, False, joined=joined)
    assert status == cp_model.OPTIMAL and found is not None
    solution, objective = found

    pinned = model.clone()
    for v in sorted(primary - free):
        pinned.add(pinned.get_bool_var_from_proto_index(v) == incumbent[v])
    for a, b in joined.tolist():
        if incumbent[a] == incumbent[b]:
            assert solution[a] == solution[b]
            pinned.add(pinned.get_bool_var_from_proto_index(a) == pinned.get_bool_var_from_proto_index(b))
    assert objective == _solve(pinned).ObjectiveValue()


@pytest.mark.parametrize("blocks", [False, True])
def test_lns_on_sub_models_keeps_a_curtois_roster_legal(blocks: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Instance 7's model: neighbourhood steps on sub-models from a CP-SAT roster; the result checked by
    pinning the whole model to it. With ``blocks``, its 20 employees and 28 days count as large enough for
    blocks (some employees over some weeks), which then take their share of the steps. The steps keep the
    start's whole weekends whole (``joined``)."""
    if blocks:
        monkeypatch.setattr(lns, "BLOCK_MIN_EMPLOYEES", 20)
        monkeypatch.setattr(lns, "BLOCK_MIN_DAYS", 28)
    _, built, start, start_objective = _rough_roster("Instance7", 2)
    joined = built.weekend_joints()
    best, objective, stats = lns.improve(
        built, start, start_objective, time.perf_counter() + 8.0, workers=2, seed=1, joined=joined
    )
    assert stats.steps >= 2 and objective <= start_objective
    # Every employee has a weekend limit: each weekend whole in the start is whole in the result.
    assert len(joined) == len(built.scenario.employees) * 4  # 28 days: four weekends
    for a, b in joined.tolist():
        assert start[a] != start[b] or best[a] == best[b]
    assert sum(stats.gain_by_kind.values()) == start_objective - objective
    kinds = {"employees", "window", "block"} if blocks else {"employees", "window"}
    assert set(stats.gain_by_kind) <= kinds
    assert ("block" in stats.seconds_by_kind) == blocks
    check = built.model.clone()
    for v, value in enumerate(best):
        check.add(check.get_int_var_from_proto_index(v) == value)
    assert _solve(check).ObjectiveValue() == objective


def test_cut_of_a_variable_in_no_constraint() -> None:
    model = cp_model.CpModel()
    a, b = model.new_bool_var("a"), model.new_bool_var("b")
    model.add_bool_or([b])
    model.minimize(3 * a - 2 * b)
    index = SubModelIndex(model, {a.Index(), b.Index()})
    cut = index.cut([1, 1], {a.Index()})
    solver = _solve(cut.model)
    assert cut.variables == [a.Index()] and solver.Value(cut.model.get_bool_var_from_proto_index(0)) == 0
    assert index.objective_value([0, 1]) == -2


def test_a_step_gets_time_by_its_size() -> None:
    """Instance 8: 3 employees over 28 days free 420 variables, all 30 over a week 1050; Instance 24's steps
    free tens of thousands."""
    assert lns.step_limit_s(420, 3.0, 2000.0, 50.0) == pytest.approx(0.21)
    assert lns.step_limit_s(1050, 3.0, 2000.0, 50.0) == pytest.approx(0.525)
    assert lns.step_limit_s(40_000, 3.0, 2000.0, 50.0) == 3.0
    assert lns.step_limit_s(40_000, 3.0, 2000.0, 1.2) == 1.2  # never past the deadline
    assert lns.step_limit_s(20, 3.0, 2000.0, 50.0) == 0.1


def test_neighbourhood_kinds_are_drawn_by_recent_gain() -> None:
    """The roulette weights: equal while nothing gained, in proportion to the gain per second, and never below
    the floor, so a kind that stopped paying is still tried; with more than four kinds the floors are shared, so
    the one kind that pays is still drawn more often than all the others together."""
    assert lns._kind_weights([0.0, 0.0]) == [1.0, 1.0]
    assert lns._kind_weights([30.0, 10.0]) == pytest.approx([0.75, 0.25])
    assert lns._kind_weights([100.0, 0.0]) == pytest.approx([1.0, lns.KIND_MIN_SHARE])
    assert lns._kind_weights([100.0, 0.0, 0.0, 0.0]) == pytest.approx([1.0] + [lns.KIND_MIN_SHARE] * 3)
    six = lns._kind_weights([100.0] + [0.0] * 5)
    assert six[1:] == pytest.approx([lns.KIND_FLOORS_SUM / 6] * 5)
    assert six[0] / sum(six) > 0.5


def test_a_cross_frees_a_few_employees_whole_lines_and_everyone_over_a_few_days() -> None:
    """A cross step (with LP-guided steps): every employee over a window of days half as wide as the window
    kind's, and the whole lines of half as many employees as the employees kind frees; nothing else."""
    employees, days = list(range(10)), list(range(14))
    by_employee = {e: [e * 14 + d for d in days] for e in employees}
    by_day = {d: [e * 14 + d for e in employees] for d in days}
    stats = lns.LnsStats(employee_size=4.0, window_days=6.0)
    rng = random.Random(0)
    for _ in range(20):
        free = lns._free_of("cross", rng, stats, employees, days, by_employee, by_day)
        window = [d for d in days if set(by_day[d]) <= free]
        lines = [e for e in employees if set(by_employee[e]) <= free]
        assert len(lines) == 2 and len(window) == 3 and window == list(range(window[0], window[0] + 3))
        assert free == {i for d in window for i in by_day[d]} | {i for e in lines for i in by_employee[e]}


def test_a_request_step_is_a_cross_on_an_unmet_request() -> None:
    """A request step: a cross whose window holds the request's day and whose lines include its employee."""
    employees, days = list(range(10)), list(range(14))
    by_employee = {e: [e * 14 + d for d in days] for e in employees}
    by_day = {d: [e * 14 + d for e in employees] for d in days}
    stats = lns.LnsStats(employee_size=4.0, window_days=6.0)
    rng = random.Random(0)
    for day in (0, 6, 13):
        around = RequestTerm(employee=7, day=day, variables=(7 * 14 + day,), on=True, coef=3)
        for _ in range(10):
            free = lns._free_of("request", rng, stats, employees, days, by_employee, by_day, around)
            window = [d for d in days if set(by_day[d]) <= free]
            lines = [e for e in employees if set(by_employee[e]) <= free]
            assert day in window and len(window) == 3 and window == list(range(window[0], window[0] + 3))
            assert 7 in lines and len(lines) in (2, 3)
            assert free == {i for d in window for i in by_day[d]} | {i for e in lines for i in by_employee[e]}


def test_the_models_requests_left_unmet_are_the_evaluators() -> None:
    """The requests the model records (for the request steps), read off a whole solution, cost what the
    benchmark's own evaluator charges the same roster for its on and off requests."""
    instance, built, solution, _ = _rough_roster("Instance1", 1)  # requests of both kinds unmet
    assert len(built.requests) == len(instance.on_requests) + len(instance.off_requests)
    penalties = evaluate(instance, benchmark_table(built, solution)).penalties
    unmet = [r for r in built.requests if r.unmet(solution)]
    assert {r.on for r in unmet} == {True, False}  # both kinds are checked
    assert sum(r.coef for r in unmet) == penalties["on_requests"] + penalties["off_requests"] > 0


def test_a_request_step_grants_its_request_and_changes_only_its_neighbourhood() -> None:
    """A request step on Instance 3's model, from a roster with requests unmet: the step's roster grants the
    request, differs from the start only where the step freed, and costs what the benchmark's evaluator says."""
    instance, built, start, _ = _rough_roster("Instance3", 1)
    by_employee, by_day = lns._neighbourhoods(built)
    employees, days = sorted(by_employee), sorted(by_day)
    assignments = {i for indices in by_employee.values() for i in indices}
    index = SubModelIndex(built.model, assignments)
    stats = lns.LnsStats(employee_size=4.0, window_days=6.0)
    rng = random.Random(0)
    granted = 0
    for request in [r for r in built.requests if r.unmet(start)][:6]:
        free = lns._free_of("request", rng, stats, employees, days, by_employee, by_day, request)
        status, found = lns._sub_step(index, start, free, 5.0, 1, 0, False, (), grant=request)
        if found is None:  # no roster grants it with the rest as it is
            assert status == cp_model.INFEASIBLE
            continue
        granted += 1
        solution, objective = found
        assert not request.unmet(solution)
        changed = {v for v, (a, b) in enumerate(zip(start, solution, strict=True)) if a != b}
        assert changed & assignments <= free
        assert evaluate(instance, benchmark_table(built, solution)).objective == objective
    assert granted >= 3


def test_request_steps_walk_away_and_the_search_returns_its_best(monkeypatch: pytest.MonkeyPatch) -> None:
    """LP-guided steps on Instance 5's model from a rough roster, request steps drawn most and walks cut short
    after 3 steps: the search walks (grants requests at a cost), yet reports only better rosters and returns
    the best it reported, which the benchmark's evaluator costs the same. At the requests' share of the cost
    that the threshold asks, request steps run; below it, none."""
    monkeypatch.setattr(lns, "WALK_STEPS", 3)
    monkeypatch.setattr(lns, "_kind_weights", lambda rates: [1.0] * (len(rates) - 1) + [20.0])  # request last
    instance, built, start, start_objective = _rough_roster("Instance5", 2, limit_s=3.0)
    penalties = evaluate(instance, benchmark_table(built, start)).penalties
    share = (penalties["on_requests"] + penalties["off_requests"]) / start_objective
    assert share > 0.02  # a rough roster leaves many requests unmet
    monkeypatch.setattr(lns, "REQUEST_SHARE_MIN", share)  # request steps at the threshold
    reported: list[float] = []
    best, objective, stats = lns.improve(
        built, start, start_objective, time.perf_counter() + 10.0,
        workers=2, seed=0, lp_subsolvers=(), on_improvement=lambda value, _: reported.append(value),
    )
    assert stats.request_share == pytest.approx(share)
    assert stats.walk_moves >= 1 and "request" in stats.seconds_by_kind
    values = [start_objective, *reported]
    assert all(a > b for a, b in itertools.pairwise(values)) and objective == values[-1]
    assert evaluate(instance, benchmark_table(built, best)).objective == objective
    # Where requests are a smaller share of the cost than the threshold, no request step runs.
    monkeypatch.setattr(lns, "REQUEST_SHARE_MIN", share + 0.01)
    _, _, stats = lns.improve(built, start, start_objective, time.perf_counter() + 3.0, workers=2, seed=0,
                              lp_subsolvers=())
    assert stats.steps > 0 and "request" not in stats.seconds_by_kind and stats.walk_moves == 0


def test_neighbourhood_kinds_get_their_share_of_the_time_whatever_their_steps_last() -> None:
    """Drawn per step, a kind whose steps last six times as long would take six times its share of the time; the
    per-step weights divide each share by the kind's recent mean step, so the time splits as the shares say.
    A kind not yet run counts as the mean of the others' steps."""
    step_s = (3.0, 0.5)
    rng = random.Random(0)

    def long_kinds_time_share(weights: list[float]) -> float:
        spent = [0.0, 0.0]
        for _ in range(20_000):
            kind = rng.choices([0, 1], weights)[0]
            spent[kind] += step_s[kind]
        return spent[0] / sum(spent)

    shares = [0.25, 0.75]
    weights = lns._per_step([30.0, 5.0], [10.0, 10.0], shares)  # mean steps of 3 s and 0.5 s
    assert long_kinds_time_share(weights) == pytest.approx(0.25, abs=0.02)
    assert long_kinds_time_share(shares) > 0.6  # the shares alone as weights: the long steps most of the time
    assert lns._per_step([30.0, 1e-9, 10.0], [10.0, 0.0, 10.0], [1.0, 1.0, 1.0]) == pytest.approx([1 / 3, 1 / 2, 1.0])
