"""Roster engine on generated call-centre months, against an LP lower bound and pyworkforce's two-step pipeline.

Scenarios (``wfm.roster.samples.call_centre_scenario``): 28 days, 30-minute intervals, the weekly demand curve
peaking at about half the agents, 4 templates expanding to 32 start/length variants with a meal break placed
by the solver, the ``cn`` preset, a shift leader whenever agents are on duty and a supervisor per 14 agents.
"short" keeps the demand of the 80-agent centre with only 40 agents.

pyworkforce (same demand, inbound + outbound summed since it has no skills, no breaks): MinRequiredResources
picks anonymous shift counts per day, MinHoursRoster then names agents (and shift leaders) for them. Its
roster is checked by wfm's independent validator and its coverage recounted the same way as wfm's.

Usage: python benchmarks/roster/run.py [--sizes 80,short,500] [--time-limit 60] [--big-time-limit 600]
       [--workers N] [--no-pyworkforce]
Writes benchmarks/roster/RESULTS.md and results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from machine import machine_description  # noqa: E402

from wfm.roster import Scenario, SolveSettings, solve_roster  # noqa: E402
from wfm.roster.bounds import coverage_lower_bound  # noqa: E402
from wfm.roster.model import site_rules  # noqa: E402
from wfm.roster.options import expand_options, interval_index  # noqa: E402
from wfm.roster.samples import call_centre_scenario  # noqa: E402
from wfm.roster.tables import coverage_of  # noqa: E402
from wfm.roster.validate import validate_roster  # noqa: E402


def scenario_for(size: str) -> Scenario:
    if size == "short":
        full = call_centre_scenario(agents=80, days=28)
        few = call_centre_scenario(agents=40, days=28)
        return few.model_copy(update={"requirements": full.requirements, "site": few.site.model_copy(
            update={"name": "call centre 40 agents, demand of 80"})})
    return call_centre_scenario(agents=int(size), days=28)


def coverage_hours(scenario: Scenario, roster: pd.DataFrame) -> tuple[float, float]:
    """Under- and over-coverage in agent-hours, recounted from the roster rows."""
    coverage = coverage_of(scenario, roster)
    hours = scenario.site.interval_min / 60
    required = coverage["required"].map(math.ceil)
    under = (required - coverage["scheduled"]).clip(lower=0).sum() * hours
    over = (coverage["scheduled"] - required).clip(lower=0).sum() * hours
    return float(under), float(over)


def run_wfm(scenario: Scenario, time_limit_s: float, workers: int | None) -> dict:
    trajectory: list[tuple[float, float, float]] = []
    started = time.perf_counter()
    result = solve_roster(
        scenario,
        SolveSettings(time_limit_s=time_limit_s, num_workers=workers),
        progress=lambda p: trajectory.append((round(p.elapsed_s, 1), p.objective, p.bound)),
    )
    wall = time.perf_counter() - started
    under, over = coverage_hours(scenario, result.roster)
    violations = validate_roster(scenario, result.roster)
    return {
        "status": result.status,
        "first_roster_s": result.stats.get("first_solution_s"),
        "wall_s": wall,
        "objective": result.objective,
        "bound": result.bound,
        "under_h": under,
        "over_h": over,
        "paid_h": float(result.roster["paid_minutes"].sum() / 60) if not result.roster.empty else 0.0,
        "violations": len(violations),
        "violations_by_rule": pd.Series([v.rule for v in violations]).value_counts().to_dict(),
        "lns_steps": result.stats.get("lns_steps"),
        "trajectory": trajectory,
        "breakdown": result.breakdown,
    }


def run_pyworkforce(scenario: Scenario, time_limit_s: float) -> dict:
    """pyworkforce's documented two-step pipeline on the same demand; its roster checked by our validator."""
    from pyworkforce.rostering.binary_programming import MinHoursRoster
    from pyworkforce.scheduling import MinRequiredResources

    per_day = 1440 // scenario.site.interval_min
    options = [o for o in expand_options(scenario, site_rules(scenario)) if o.day == 0]
    shifts = {f"{o.template}@{o.start_time():%H:%M}": o for o in options}
    coverage = {}
    for name, o in shifts.items():
        row = [0] * per_day
        for t in o.intervals:
            if t < per_day:
                row[t] = 1
        coverage[name] = row
    need = [[0] * per_day for _ in range(scenario.days)]
    for r in scenario.requirements:
        t = interval_index(scenario, r.interval_start)
        need[t // per_day][t % per_day] += math.ceil(r.required)
    people = [e for e in scenario.employees if e.skills]
    started = time.perf_counter()
    step1 = MinRequiredResources(
        num_days=scenario.days, periods=per_day, shifts_coverage=coverage, required_resources=need,
        max_period_concurrency=len(people), max_shift_concurrency=len(people),
        max_search_time=time_limit_s, num_search_workers=2,
    ).solve()
    result = {"step1_status": step1["status"], "step1_s": time.perf_counter() - started}
    if step1["status"] not in ("OPTIMAL", "FEASIBLE"):
        return result
    required = {name: [0] * scenario.days for name in shifts}
    for item in step1["resources_shifts"]:
        required[item["shift"]][item["day"]] = item["resources"]
    banned = [
        {"resource": e.id, "shift": name, "day": d}
        for e in people
        for d, date in enumerate(scenario.dates)
        if date in e.days_off
        for name in shifts
    ]
    started = time.perf_counter()
    step2 = MinHoursRoster(
        num_days=scenario.days, resources=[e.id for e in people], shifts=list(shifts),
        shifts_hours=[shifts[n].paid_min for n in shifts],  # minutes: its model takes integers only
        min_working_hours=0, banned_shifts=banned,
        max_resting=scenario.days, required_resources=required, max_search_time=time_limit_s, num_search_workers=2,
    ).solve()
    result.update(step2_status=step2["status"], step2_s=time.perf_counter() - started)
    if step2["status"] not in ("OPTIMAL", "FEASIBLE"):
        return result
    rows = []
    for item in step2["resource_shifts"]:
        option = shifts[item["shift"]]
        date = scenario.dates[item["day"]]
        start = dt.datetime.combine(date, option.start_time())
        rows.append({
            "employee_id": item["resource"], "date": date.isoformat(),
            "start": start.isoformat(timespec="minutes"),
            "end": (start + dt.timedelta(minutes=option.length_min)).isoformat(timespec="minutes"),
            "skill": "inbound", "role": "", "breaks": "", "paid_minutes": option.paid_min,
            "template": option.template,
        })
    roster = pd.DataFrame(rows)
    # pyworkforce has no skills: count its coverage against the summed requirement.
    summed = scenario.model_copy(update={"requirements": [
        r.model_copy(update={"skill": "inbound", "required": float(need[i // per_day][i % per_day])})
        for i, r in _unique_intervals(scenario)
    ]})
    under, over = coverage_hours(summed, roster)
    violations = validate_roster(scenario, roster)
    result.update(
        under_h=under, over_h=over, paid_h=float(roster["paid_minutes"].sum() / 60), violations=len(violations),
        violations_by_rule=pd.Series([v.rule for v in violations]).value_counts().to_dict(),
    )
    return result


def _unique_intervals(scenario: Scenario):
    seen = {}
    for r in scenario.requirements:
        seen.setdefault(interval_index(scenario, r.interval_start), r)
    return sorted(seen.items())


def write_results(results: dict, path: Path) -> None:
    lines = [
        "# Roster engine: generated call-centre months",
        "",
        f"Machine: {machine_description()}.",
        "",
        "Command: `.venv/bin/python benchmarks/roster/run.py` (sizes 80 and short at 60 s, 500 at 600 s,",
        "CP-SAT workers = all cores). Agent-hours are recounted from the roster rows (on duty, not on break, on",
        "the skill); violations are counted by wfm's independent validator; the LP bound is",
        "`wfm.roster.bounds.coverage_lower_bound` (anonymous shift covering, breaks relaxed).",
        "",
        "| scenario | people | required h | LP bound under h | wfm first roster s | wfm under h | gap to bound"
        " (% of required) | wfm over h | wfm paid h | wfm violations | pyworkforce under h | pyworkforce over h"
        " | pyworkforce violations | pyworkforce status |",
        "| --- |" + " ---: |" * 12 + " --- |",
    ]
    for name, r in results.items():
        w, p = r["wfm"], r.get("pyworkforce", {})
        gap = (w["under_h"] - r["bound_under_h"]) / r["required_h"]
        status = p.get("step2_status") or p.get("step1_status") or "not run"
        lines.append(
            f"| {name} | {r['people']} | {r['required_h']:.0f} | {r['bound_under_h']:.1f} | {w['first_roster_s']:.1f}"
            f" | {w['under_h']:.1f} | {gap:.2%} | {w['over_h']:.1f} | {w['paid_h']:.0f} | {w['violations']}"
            f" | {p.get('under_h', float('nan')):.1f} | {p.get('over_h', float('nan')):.1f}"
            f" | {p.get('violations', '-')} | {status} |"
        )
    lines += ["", "pyworkforce violations by rule (wfm validator):", ""]
    for name, r in results.items():
        p = r.get("pyworkforce", {})
        if p.get("violations_by_rule"):
            lines.append(f"- {name}: " + ", ".join(f"{k} {v}" for k, v in p["violations_by_rule"].items()))
    lines += ["", "wfm objective and bound over time (s, objective, CP-SAT bound):", ""]
    for name, r in results.items():
        trajectory = r["wfm"]["trajectory"]
        shown = trajectory if len(trajectory) <= 8 else trajectory[:3] + trajectory[-5:]
        lines.append(f"- {name}: " + "; ".join(f"{t} s {o:,.0f} / {b:,.0f}" for t, o, b in shown))
    lines.append("")
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="80,short,500")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--big-time-limit", type=float, default=600.0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--no-pyworkforce", action="store_true")
    args = parser.parse_args()
    raw_path = HERE / "results.json"
    results = json.loads(raw_path.read_text()) if raw_path.exists() else {}
    for size in args.sizes.split(","):
        scenario = scenario_for(size)
        limit = args.big_time_limit if size.isdigit() and int(size) > 200 else args.time_limit
        bound = coverage_lower_bound(scenario)
        entry = {
            "people": len(scenario.employees),
            "required_h": bound.required_agent_hours,
            "bound_under_h": bound.under_agent_hours,
            "time_limit_s": limit,
            "wfm": run_wfm(scenario, limit, args.workers),
        }
        if not args.no_pyworkforce and limit <= 120:
            entry["pyworkforce"] = run_pyworkforce(scenario, limit)
        results[size] = entry
        raw_path.write_text(json.dumps(results, indent=1, default=str))
        print(size, json.dumps({k: v for k, v in entry.items() if k != "wfm"}, default=str),
              {k: v for k, v in entry["wfm"].items() if k not in ("trajectory",)}, flush=True)
    write_results(results, HERE / "RESULTS.md")


if __name__ == "__main__":
    main()
