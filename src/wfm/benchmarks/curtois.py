"""Curtois & Qu shift scheduling benchmark (Instances 1-24): parser, mapping onto the roster engine, evaluator.

The instances are solved by the same engine and rule vocabulary planners use (``wfm.roster``): each shift type
becomes a template, the staff limits become contract rules, days off / requests / cover become the scenario's
days off, requests and shift demand. The evaluator below recomputes the benchmark's objective and checks its
hard constraints from a solution alone; it shares no code with the model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from wfm.roster.domain import Employee, Request, RuleSet, Scenario, ShiftDemand, ShiftTemplate, Site, Weights

MONDAY = dt.date(2024, 1, 1)  # day 0 of every instance is a Monday


class InstanceFormatError(ValueError):
    """The instance file does not follow the benchmark format; the message names line and problem."""


@dataclass
class Staff:
    id: str
    max_shifts: dict[str, int]
    max_total_minutes: int
    min_total_minutes: int
    max_consecutive: int
    min_consecutive: int
    min_consecutive_days_off: int
    max_weekends: int


@dataclass
class Instance:
    name: str
    horizon: int
    shift_lengths: dict[str, int] = field(default_factory=dict)
    cannot_follow: dict[str, list[str]] = field(default_factory=dict)
    staff: list[Staff] = field(default_factory=list)
    days_off: dict[str, set[int]] = field(default_factory=dict)
    on_requests: list[tuple[str, int, str, int]] = field(default_factory=list)
    off_requests: list[tuple[str, int, str, int]] = field(default_factory=list)
    cover: list[tuple[int, str, int, int, int]] = field(default_factory=list)


def _int(text: str, where: str) -> int:
    try:
        return int(text.strip())  # int("-0") == 0: Instance15 writes some cover values as -0
    except ValueError:
        raise InstanceFormatError(f"{where}: {text.strip()!r} is not an integer") from None


def parse_instance(path: str | Path) -> Instance:
    """Parse an instance file (CRLF or LF line endings, '#' comments, named sections)."""
    path = Path(path)
    instance = Instance(name=path.stem, horizon=0)
    section = None
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        where = f"{path.name} line {number}"
        if not line or line.startswith("#"):
            continue
        if line.startswith("SECTION_"):
            section = line
            continue
        fields = [f.strip() for f in line.split(",")]
        if section == "SECTION_HORIZON":
            instance.horizon = _int(fields[0], where)
        elif section == "SECTION_SHIFTS":
            shift_id = fields[0]
            instance.shift_lengths[shift_id] = _int(fields[1], where)
            follow = fields[2] if len(fields) > 2 else ""
            instance.cannot_follow[shift_id] = [s for s in follow.split("|") if s]
        elif section == "SECTION_STAFF":
            if len(fields) != 8:
                raise InstanceFormatError(f"{where}: a staff line has 8 fields, found {len(fields)}")
            max_shifts = {}
            for item in filter(None, fields[1].split("|")):
                shift_id, _, value = item.partition("=")
                max_shifts[shift_id] = _int(value, where)
            instance.staff.append(
                Staff(fields[0], max_shifts, *(_int(f, where) for f in fields[2:8]))  # type: ignore[arg-type]
            )
        elif section == "SECTION_DAYS_OFF":
            instance.days_off.setdefault(fields[0], set()).update(_int(f, where) for f in fields[1:] if f)
        elif section == "SECTION_SHIFT_ON_REQUESTS":
            instance.on_requests.append((fields[0], _int(fields[1], where), fields[2], _int(fields[3], where)))
        elif section == "SECTION_SHIFT_OFF_REQUESTS":
            instance.off_requests.append((fields[0], _int(fields[1], where), fields[2], _int(fields[3], where)))
        elif section == "SECTION_COVER":
            day, shift_id = _int(fields[0], where), fields[1]
            instance.cover.append((day, shift_id, *(_int(f, where) for f in fields[2:5])))  # type: ignore[arg-type]
        else:
            raise InstanceFormatError(f"{where}: data outside a known section")
    if instance.horizon <= 0 or not instance.shift_lengths or not instance.staff:
        raise InstanceFormatError(f"{path.name}: horizon, shifts or staff section missing")
    return instance


def to_scenario(instance: Instance) -> Scenario:
    """The instance as a roster scenario of the general engine (preset 'none', benchmark weights)."""
    date = [MONDAY + dt.timedelta(days=d) for d in range(instance.horizon)]
    templates = [
        ShiftTemplate(id=shift_id, earliest_start=dt.time(0, 0), length_min=length, breaks=[], night=False)
        for shift_id, length in instance.shift_lengths.items()
    ]
    employees = []
    for staff in instance.staff:
        requests = [
            Request(date=date[day], kind="on", template=shift_id, weight=weight)
            for who, day, shift_id, weight in instance.on_requests
            if who == staff.id
        ] + [
            Request(date=date[day], kind="off", template=shift_id, weight=weight)
            for who, day, shift_id, weight in instance.off_requests
            if who == staff.id
        ]
        employees.append(
            Employee(
                id=staff.id,
                rules=RuleSet(
                    max_shifts_per_template=staff.max_shifts,
                    max_minutes_total=staff.max_total_minutes,
                    min_minutes_total=staff.min_total_minutes,
                    max_consecutive_days=staff.max_consecutive,
                    min_consecutive_days=staff.min_consecutive,
                    min_consecutive_rest_days=staff.min_consecutive_days_off,
                    max_weekends=staff.max_weekends,
                ),
                days_off=[date[d] for d in sorted(instance.days_off.get(staff.id, ()))],
                requests=requests,
            )
        )
    successions = [(first, second) for first, seconds in instance.cannot_follow.items() for second in seconds]
    zero = {name: 0 for name in Weights.model_fields if name != "under_coverage_steps"}
    return Scenario(
        site=Site(name=instance.name, interval_min=60),
        start_date=MONDAY,
        days=instance.horizon,
        preset="none",
        rules=RuleSet(forbidden_successions=successions, edge_runs_exempt=True, weekend_days=[5, 6]),
        weights=Weights(**{**zero, "request": 1}),
        templates=templates,
        employees=employees,
        shift_demand=[
            ShiftDemand(date=date[day], template=shift_id, required=req, weight_under=under, weight_over=over)
            for day, shift_id, req, under, over in instance.cover
        ],
    )


def solution_from_roster(roster: pd.DataFrame) -> pd.DataFrame:
    """A roster (roster.csv rows) as the benchmark's solution table ``employee,day,shift``."""
    days = [(dt.date.fromisoformat(d) - MONDAY).days for d in roster["date"]]
    return pd.DataFrame({"employee": roster["employee_id"].astype(str), "day": days, "shift": roster["template"]})


@dataclass
class Evaluation:
    objective: int
    violations: list[str]
    penalties: dict[str, int]


def evaluate(instance: Instance, solution: pd.DataFrame) -> Evaluation:
    """The benchmark objective and hard-constraint violations of a solution (``employee,day,shift`` rows)."""
    violations: list[str] = []
    assigned: dict[tuple[str, int], str] = {}
    for row in solution.itertuples(index=False):
        key = (str(row.employee), int(row.day))
        if key in assigned:
            violations.append(f"{key[0]} day {key[1]}: more than one shift")
        if row.shift not in instance.shift_lengths:
            violations.append(f"{key[0]} day {key[1]}: unknown shift {row.shift}")
        if not 0 <= key[1] < instance.horizon:
            violations.append(f"{key[0]} day {key[1]}: outside the horizon")
        assigned[key] = str(row.shift)
    horizon = instance.horizon
    for staff in instance.staff:
        plan = [assigned.get((staff.id, d)) for d in range(horizon)]
        for d in range(horizon - 1):
            if plan[d] and plan[d + 1] and plan[d + 1] in instance.cannot_follow.get(plan[d], []):
                violations.append(f"{staff.id} day {d + 1}: {plan[d + 1]} cannot follow {plan[d]}")
        for shift_id, maximum in staff.max_shifts.items():
            if plan.count(shift_id) > maximum:
                violations.append(f"{staff.id}: {plan.count(shift_id)} x {shift_id} > {maximum}")
        minutes = sum(instance.shift_lengths.get(s, 0) for s in plan if s)
        if not staff.min_total_minutes <= minutes <= staff.max_total_minutes:
            violations.append(
                f"{staff.id}: {minutes} min outside [{staff.min_total_minutes}, {staff.max_total_minutes}]"
            )
        working = [s is not None for s in plan]
        run_start = 0
        for d in range(1, horizon + 1):
            if d == horizon or working[d] != working[run_start]:
                length, touches = d - run_start, run_start == 0 or d == horizon
                if working[run_start]:
                    if length > staff.max_consecutive:
                        violations.append(f"{staff.id} day {run_start}: {length} consecutive shifts")
                    if length < staff.min_consecutive and not touches:
                        violations.append(f"{staff.id} day {run_start}: only {length} consecutive shifts")
                elif length < staff.min_consecutive_days_off and not touches:
                    violations.append(f"{staff.id} day {run_start}: only {length} consecutive days off")
                run_start = d
        weekends = sum(1 for w in range(horizon // 7) if working[7 * w + 5] or working[7 * w + 6])
        if weekends > staff.max_weekends:
            violations.append(f"{staff.id}: {weekends} weekends > {staff.max_weekends}")
        for d in instance.days_off.get(staff.id, ()):
            if working[d]:
                violations.append(f"{staff.id} day {d}: works on a day off")
    penalties = {"on_requests": 0, "off_requests": 0, "cover": 0}
    for who, day, shift_id, weight in instance.on_requests:
        if assigned.get((who, day)) != shift_id:
            penalties["on_requests"] += weight
    for who, day, shift_id, weight in instance.off_requests:
        if assigned.get((who, day)) == shift_id:
            penalties["off_requests"] += weight
    counts: dict[tuple[int, str], int] = {}
    for (_, day), shift_id in assigned.items():
        counts[day, shift_id] = counts.get((day, shift_id), 0) + 1
    for day, shift_id, required, under, over in instance.cover:
        n = counts.get((day, shift_id), 0)
        penalties["cover"] += under * max(0, required - n) + over * max(0, n - required)
    return Evaluation(sum(penalties.values()), violations, penalties)


@dataclass
class InstanceRun:
    """One solved instance: the solution table, its independent evaluation and the solver's figures."""

    instance: Instance
    solution: pd.DataFrame
    evaluation: Evaluation
    status: str
    objective: float | None
    bound: float | None
    first_solution_s: float
    time_s: float
    trajectory: list[tuple[float, float, float]]

    def summary(self) -> dict:
        return {
            "instance": self.instance.name,
            "objective": self.evaluation.objective,
            "solver_objective": self.objective,
            "bound": self.bound,
            "status": self.status,
            "violations": len(self.evaluation.violations),
            "first_solution_s": self.first_solution_s,
            "time_s": self.time_s,
        }


def solve_instance(
    path: str | Path, time_limit_s: float = 60.0, workers: int | None = None, seed: int = 0
) -> InstanceRun:
    """Parse, map onto the roster engine, solve, and evaluate one instance."""
    from wfm.roster.solve import Progress, SolveSettings, solve_roster

    instance = parse_instance(path)
    trajectory: list[tuple[float, float, float]] = []

    def record(progress: Progress) -> None:
        trajectory.append((progress.elapsed_s, progress.objective, progress.bound))

    result = solve_roster(
        to_scenario(instance),
        SolveSettings(time_limit_s=time_limit_s, num_workers=workers, seed=seed, explain=False),
        progress=record,
    )
    solution = solution_from_roster(result.roster)
    return InstanceRun(
        instance=instance,
        solution=solution,
        evaluation=evaluate(instance, solution),
        status=result.status,
        objective=result.objective,
        bound=result.bound,
        first_solution_s=result.stats.get("first_solution_s", float("nan")),
        time_s=result.stats.get("wall_time_s", float("nan")),
        trajectory=trajectory,
    )
