"""The Curtois & Qu benchmark: parser on every instance, evaluator on hand-made solutions, Instance1 to 607."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pandas as pd
import pytest
from curtois_helpers import benchmark_table
from typer.testing import CliRunner

from wfm.benchmarks.curtois import (
    Instance,
    evaluate,
    parse_instance,
    solution_from_roster,
    solve_instance,
    to_scenario,
)
from wfm.cli import app
from wfm.roster.model import RosterModel, site_rules
from wfm.roster.options import expand_options
from wfm.roster.sequential import sequential_assignments
from wfm.roster.validate import validate_roster

INSTANCES = Path(__file__).resolve().parents[1] / "benchmarks" / "curtois" / "instances"
BEST = pd.read_csv(INSTANCES / "best_known.csv").set_index("instance")


@pytest.mark.parametrize("number", range(1, 25))
def test_parser_reads_every_instance(number):
    path = INSTANCES / f"Instance{number}.txt"
    assert b"\r\n" in path.read_bytes()  # the upstream CRLF line endings are kept
    instance = parse_instance(path)
    row = BEST.loc[f"Instance{number}"]
    assert instance.horizon == row["days"]
    assert len(instance.staff) == row["staff"]
    assert len(instance.shift_lengths) == row["shift_types"]
    assert len(instance.cover) == instance.horizon * len(instance.shift_lengths)
    assert all(required >= 0 for _, _, required, _, _ in instance.cover)
    assert {s.id for s in instance.staff} >= set(instance.days_off)


def test_instance15_minus_zero_cover_reads_as_zero():
    instance = parse_instance(INSTANCES / "Instance15.txt")
    cover = {(day, shift): required for day, shift, required, _, _ in instance.cover}
    assert cover[41, "D"] == 0 and cover[41, "n2"] == 0


def test_evaluator_on_hand_made_solutions():
    instance = parse_instance(INSTANCES / "Instance1.txt")
    # Nobody works: every cover line is short by its requirement (weight 100), every on-request is missed.
    empty = evaluate(instance, pd.DataFrame(columns=["employee", "day", "shift"]))
    assert empty.penalties["cover"] == 100 * sum(req for _, _, req, _, _ in instance.cover)
    assert empty.penalties["on_requests"] == sum(w for *_, w in instance.on_requests)
    assert empty.penalties["off_requests"] == 0
    assert any("min" in v or "outside" in v for v in empty.violations)  # minimum minutes not reached
    # Everyone works every day: max consecutive (5) and weekends (1) and days off are broken.
    full = pd.DataFrame(
        [(s.id, d, "D") for s in instance.staff for d in range(14)], columns=["employee", "day", "shift"]
    )
    result = evaluate(instance, full)
    assert result.penalties["cover"] == sum(max(0, 8 - req) for _, _, req, _, _ in instance.cover)
    assert result.penalties["off_requests"] == sum(w for *_, w in instance.off_requests)
    kinds = " ".join(result.violations)
    assert "consecutive shifts" in kinds and "weekends" in kinds and "day off" in kinds


def test_instance1_is_solved_to_its_optimum_607():
    run = solve_instance(INSTANCES / "Instance1.txt", time_limit_s=30, workers=2)
    assert run.status == "OPTIMAL"
    assert run.evaluation.violations == []
    assert run.evaluation.objective == 607 == BEST.loc["Instance1", "best_known_ub"]
    assert run.objective == 607


def test_a_tiny_model_is_proven_by_plain_cp_sat_before_any_construction(monkeypatch):
    from wfm.roster import solve

    scenario = to_scenario(parse_instance(INSTANCES / "Instance1.txt"))  # 260 variables
    # Without the probe, the dives and the neighbourhood search after them reach 607 too, but the dives' LP
    # bound (558) cannot prove it: the proof is the probe's.
    unprobed = solve.solve_roster(scenario, solve.SolveSettings(time_limit_s=8, num_workers=2, probe_share=0))
    assert unprobed.objective == 607 and unprobed.bound < 607 and unprobed.status == "FEASIBLE"

    def no_construction(*_args, **_kwargs):
        raise AssertionError("the probe should have proven the roster before any construction")

    monkeypatch.setattr(solve, "_start_values", no_construction)
    # 30 s gives the probe 1.5 s (whole solves end proven in 0.27-0.39 s; 0.4 s of 8 s missed once in four on an AMD
    # EPYC machine); the solve ends at the proof.
    probed = solve.solve_roster(scenario, solve.SolveSettings(time_limit_s=30, num_workers=2))
    assert (probed.status, probed.objective, probed.bound) == ("OPTIMAL", 607, 607)
    assert evaluate(parse_instance(INSTANCES / "Instance1.txt"), solution_from_roster(probed.roster)).objective == 607


@pytest.mark.parametrize("number", [2, 3])
def test_instances_2_and_3_are_solved_to_their_proven_optima(number):
    # The LP-guided search proves these optima in 2-20 s on 2 cores, once in ~20 runs in 50 s (the limit leaves
    # room for that on a slow CI machine; the run ends at the proof).
    run = solve_instance(INSTANCES / f"Instance{number}.txt", time_limit_s=120, workers=2)
    assert run.evaluation.violations == []
    assert run.evaluation.objective == BEST.loc[f"Instance{number}", "verified_lb"]
    assert run.status == "OPTIMAL"


def test_the_stall_watchdog_hears_of_each_bound_cp_sat_proves():
    from ortools.sat.python import cp_model

    from wfm.roster.model import RosterModel
    from wfm.roster.progress import ProgressCallback, stop_on_stall

    built = RosterModel(to_scenario(parse_instance(INSTANCES / "Instance1.txt")))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    bounds_with_rosters: list[float] = []
    callback = ProgressCallback(lambda progress: bounds_with_rosters.append(progress.bound))
    with stop_on_stall(solver, callback, earliest=time.perf_counter() + 60, stall_s=60, min_gap=0.01):
        assert solver.solve(built.model, callback) == cp_model.OPTIMAL
    # The bound rises between rosters (Instance1: 3 at the optimal roster, 300-500 proven after it).
    assert max(bounds_with_rosters) < callback.bound <= solver.objective_value == callback.objective == 607


def test_mapped_scenario_roster_passes_the_general_validator():
    instance = parse_instance(INSTANCES / "Instance2.txt")
    from wfm.roster import SolveSettings, solve_roster

    result = solve_roster(to_scenario(instance), SolveSettings(time_limit_s=5, num_workers=2, explain=False))
    assert validate_roster(to_scenario(instance), result.roster) == []
    solution = pd.DataFrame(
        {
            "employee": result.roster["employee_id"],
            "day": [(pd.Timestamp(d) - pd.Timestamp("2024-01-01")).days for d in result.roster["date"]],
            "shift": result.roster["template"],
        }
    )
    assert evaluate(instance, solution).objective == round(result.objective)


def test_cli_bench_writes_the_solution_and_json(tmp_path):
    out = tmp_path / "sol.csv"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "curtois",
            str(INSTANCES / "Instance1.txt"),
            "--time-limit",
            "20",
            "--workers",
            "2",
            "--solution",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["objective"] == 607 and summary["violations"] == 0
    solution = pd.read_csv(out)
    assert list(solution.columns) == ["employee", "day", "shift"]
    assert evaluate(parse_instance(INSTANCES / "Instance1.txt"), solution).objective == 607


def _split_weekends(solution: pd.DataFrame, days: int) -> int:
    """Weekends (days 5 and 6 of each week) an employee works on one day only."""
    worked = set(zip(solution["employee"], solution["day"], strict=True))
    return sum(
        ((who, saturday) in worked) != ((who, saturday + 1) in worked)
        for who in set(solution["employee"])
        for saturday in range(5, days - 1, 7)
    )


def test_employee_by_employee_construction_gives_a_legal_roster_on_instance13():
    """Instance13 (120 staff) is where the greedy start gives up and plain CP-SAT struggles; the construction
    must give a roster the independent evaluator finds free of hard violations, aimed at the cover. With its
    lines planned with whole weekends (as ``solve_roster`` builds them), fewer weekends are worked on one day."""
    instance = parse_instance(INSTANCES / "Instance13.txt")
    split = {}
    for whole_weekends in (False, True):
        solution = _constructed(instance, time.perf_counter() + 15, whole_weekends=whole_weekends)
        result = evaluate(instance, solution)
        assert result.violations == []
        nobody = evaluate(instance, solution.iloc[:0])
        # Measured 7349 in 15 s (nobody working: 174903; best known 1348): each line covers what the others left.
        assert result.objective < nobody.objective / 10
        assert len(solution.drop_duplicates(["employee", "day"])) == len(solution)  # one shift a day
        split[whole_weekends] = _split_weekends(solution, instance.horizon)
    assert split[True] < split[False], split  # measured 26 against 35 (the lines' mending splits some)


def test_construction_past_its_deadline_still_finds_every_line():
    """A construction whose time is spent searches each remaining line until found, up to ``give_up``."""
    instance = parse_instance(INSTANCES / "Instance4.txt")
    now = time.perf_counter()
    solution = _constructed(instance, now - 1.0, give_up=now + 60)
    assert evaluate(instance, solution).violations == []
    assert set(solution["employee"]) == {staff.id for staff in instance.staff}


def test_a_line_not_found_in_its_share_is_found_by_the_hard_line_search(monkeypatch):
    """With no time for the first search, the hard-line search finds each line, and goes first after that (the
    lines' dynamic programme off: it finds these lines itself, and CP-SAT searches only where it does not)."""
    from wfm.roster import sequential

    monkeypatch.setattr(sequential, "_LINE_MIN_S", 0.0)
    monkeypatch.setattr(sequential, "line_problem", lambda built, demand=None: None)
    calls: list[bool] = []
    line_solver = sequential._line_solver

    def recording(workers: int, seed: int, portfolio: bool):
        calls.append(portfolio)
        return line_solver(workers, seed, portfolio)

    monkeypatch.setattr(sequential, "_line_solver", recording)
    # Three of Curtois 22's staff: total minutes held to a window of two shifts over 364 days.
    full = parse_instance(INSTANCES / "Instance22.txt")
    staff = full.staff[:3]
    ids = {s.id for s in staff}
    instance = dataclasses.replace(
        full,
        staff=staff,
        days_off={k: v for k, v in full.days_off.items() if k in ids},
        on_requests=[r for r in full.on_requests if r[0] in ids],
        off_requests=[r for r in full.off_requests if r[0] in ids],
    )
    now = time.perf_counter()
    solution = _constructed(instance, now - 1.0, give_up=now + 120)
    assert evaluate(instance, solution).violations == []
    assert set(solution["employee"]) == ids
    first_hard = calls.index(True)
    assert all(calls[first_hard:]) and len(calls) - first_hard >= len(instance.staff) - 1


def _constructed(
    instance: Instance, deadline: float, give_up: float | None = None, whole_weekends: bool = False
) -> pd.DataFrame:
    scenario = to_scenario(instance)
    construction = sequential_assignments(scenario, deadline, workers=2, give_up=give_up, whole_weekends=whole_weekends)
    assert construction is not None
    options = expand_options(scenario, site_rules(scenario))
    return pd.DataFrame(
        [(scenario.employees[e].id, options[o].day, options[o].template) for e, o, _ in construction.chosen],
        columns=["employee", "day", "shift"],
    )


def test_benchmark_script_reports_the_median_of_several_runs(tmp_path):
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "curtois" / "run.py"
    out, raw = tmp_path / "RESULTS.md", tmp_path / "results.json"
    # Each run ends at the probe's proof (~0.4 s); at a 10-s limit the probe's 0.5 s missed it under load.
    args = ["--instances", "1", "--time-limit", "60", "--workers", "2", "--runs", "3", "--out", str(out)]
    subprocess.run([sys.executable, str(script), *args, "--json", str(raw)], check=True, capture_output=True)
    row = json.loads(raw.read_text())["Instance1"]
    assert row["run_objectives"] == [607, 607, 607] and row["objective"] == 607 and row["violations"] == 0
    assert row["seed"] == 1  # the median of three equal runs: the middle one
    assert "| Instance1 | 60 | 607 | 607 | 607 | 0.00% | 607 / 607 / 607 | 0 |" in out.read_text()


def test_lp_guided_steps_over_two_windows_move_a_shift_between_distant_days():
    # A roster of Curtois 8 (from a 60-s solve) that over-covers day 2 and under-covers days 19 and 20: its last 100
    # needs one shift moved across 17 days, which 25 s of light steps never found from it (four seeds).
    from wfm.roster import lns, solve

    instance = parse_instance(INSTANCES / "Instance8.txt")
    scenario = to_scenario(instance)
    start = pd.read_csv(Path(__file__).parent / "data" / "curtois8_roster_1411.csv")
    assert evaluate(instance, start).objective == 1411
    built = RosterModel(scenario)
    worked = set(start.itertuples(index=False, name=None))
    values = [
        (var.Index(), int((scenario.employees[e].id, built.options[o].day, built.options[o].template) in worked))
        for (e, o, _), var in built.x.items()
    ]
    holder, _ = solve._fixed_solve(built, solve.SolveSettings(num_workers=2), values, 30.0)
    assert holder.ObjectiveValue() == 1411

    best, objective, stats = lns.improve(
        # It stops once out of the mode. Seeds 0-5 here: 1.8, 30.9, 9.1, 2.3, 9.9, 9.2 s; seed 1 once not within
        # 30 s on a CI machine, and not within 120 s with two other processes busy on the 2 cores, where seed 0
        # took 2.0-2.6 s in six runs of six (seed 3: 3.0 s, and once not within 120 s).
        built, list(holder.ResponseProto().solution), 1411.0, time.perf_counter() + 300, workers=2, seed=0,
        lp_subsolvers=("reduced_costs",), target=1399.0,
    )
    found = evaluate(instance, benchmark_table(built, best))
    assert found.violations == []
    assert found.objective == objective < 1400  # one under-covered shift fewer
    assert stats.seconds_by_kind.get("windows", 0) > 0


@pytest.mark.parametrize("number", [8, 13])
def test_weekend_demand_share_counts_the_instance_weekends(number):
    # Counted from the instance itself (its horizon starts on a Monday): the cover wanted on Saturdays and
    # Sundays over both days of each employee's allowed weekends.
    instance = parse_instance(INSTANCES / f"Instance{number}.txt")
    wanted = sum(required for day, _, required, _, _ in instance.cover if day % 7 >= 5)
    allowed = sum(2 * min(staff.max_weekends, instance.horizon // 7) for staff in instance.staff)
    built = RosterModel(to_scenario(instance))
    assert built.weekend_demand_share() == pytest.approx(wanted / allowed)
