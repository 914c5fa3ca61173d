"""The whole job: forecast -> required staff -> roster -> evaluation, for a plan file.

A plan file is a roster scenario (``wfm.roster``) with two more sections: ``sources`` (the demand histories
to forecast, each with an optional events file and model) and ``demand`` (one ``DemandSpec`` per skill:
how the forecast becomes a requirement). The scenario's ``requirements`` are computed, never given.
CLI, API and notebooks call ``load_plan`` and ``run_plan``; ``wfm.plan.export`` writes the files.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wfm.forecast import ForecastResult, History, forecast_demand, load_events_csv, load_history_csv
from wfm.plan.demand import DemandSpec, requirements_of, staffing_requirement
from wfm.plan.evaluate import KPI_COLUMNS, daily_rollup, effective_agents, erlang_kpis, simulate_kpis
from wfm.roster import Progress, RosterResult, Scenario, SolveSettings, solve_roster
from wfm.roster.io import ScenarioError, field_location, read_scenario_file, scenario_from_dict
from wfm.roster.validate import Violation, validate_roster


class DemandSource(BaseModel):
    """A demand history to forecast (``timestamp,volume[,aht_s]``) and its drivers."""

    model_config = ConfigDict(extra="forbid")
    history: str
    events: str | None = None
    model: str = "auto"
    country: str | None = "CN"


class PlanSpec(BaseModel):
    """What ``run_plan`` needs besides the scenario: sources and demand specs; file paths resolved."""

    model_config = ConfigDict(extra="forbid")
    sources: dict[str, DemandSource]
    demand: list[DemandSpec] = Field(min_length=1)


@dataclass
class Plan:
    scenario: Scenario
    spec: PlanSpec
    base_dir: Path


def load_plan(path: str | Path, history_override: str | Path | None = None) -> Plan:
    """Read a plan file (YAML or JSON). ``history_override`` replaces the history of the first source."""
    path = Path(path)
    return plan_from_dict(read_scenario_file(path), path.resolve().parent, history_override)  # examples/ has links


def plan_from_dict(data: dict, base_dir: Path, history_override: str | Path | None = None) -> Plan:
    if not isinstance(data, dict):
        raise ScenarioError("scenario: the top level must be a mapping of fields")
    data = dict(data)
    plan_part = {"sources": data.pop("sources", None), "demand": data.pop("demand", None)}
    if plan_part["sources"] is None or plan_part["demand"] is None:
        raise ScenarioError("scenario: a plan needs 'sources' (demand histories) and 'demand' (per skill)")
    try:
        spec = PlanSpec.model_validate(plan_part)
    except ValidationError as exc:
        lines = [f"{field_location(err['loc'])}: {err['msg']}" for err in exc.errors()[:20]]
        raise ScenarioError("invalid plan:\n" + "\n".join(lines)) from None
    if history_override is not None:
        first = next(iter(spec.sources))
        spec.sources[first].history = str(Path(history_override).resolve())
    return Plan(scenario_from_dict(data, base_dir), spec, base_dir)


@dataclass
class PlanResult:
    """Everything the pipeline produced, stage by stage."""

    scenario: Scenario  # the effective scenario, requirement included
    histories: dict[str, History]
    forecasts: dict[str, ForecastResult]
    staffing: pd.DataFrame
    roster: RosterResult
    violations: list[Violation]
    kpis: pd.DataFrame
    daily: pd.DataFrame
    specs: list[DemandSpec] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)


STAGES = ("forecast", "staffing", "roster", "evaluation")


def run_plan(
    plan: Plan,
    *,
    start: dt.date | None = None,
    weeks: int | None = None,
    settings: SolveSettings | None = None,
    on_stage: Callable[[str], None] | None = None,
    progress: Callable[[Progress], None] | None = None,
    simulate: bool = True,
) -> PlanResult:
    """Run the pipeline for the plan's horizon (or ``start`` / ``weeks`` given here)."""
    scenario = plan.scenario
    start = start or scenario.start_date
    days = weeks * 7 if weeks else scenario.days
    interval_min = scenario.site.interval_min
    timings: dict[str, float] = {}

    def stage(name: str) -> float:
        if on_stage is not None:
            on_stage(name)
        return time.perf_counter()

    began = stage("forecast")
    histories, forecasts, frames = {}, {}, {}
    for name, source in plan.spec.sources.items():
        history = load_history_csv(plan.base_dir / source.history, interval_min=interval_min)
        events = load_events_csv(plan.base_dir / source.events) if source.events else None
        last = history.frame.index[-1].date()
        if start <= last:
            raise ScenarioError(f"start_date: {start} is inside the history of {name!r} (it runs to {last})")
        horizon = (start - last).days - 1 + days
        result = forecast_demand(history, horizon, model=source.model, events=events, country=source.country)
        frame = result.frame
        stamps = pd.to_datetime(frame["interval_start"])
        frame = frame[(stamps >= pd.Timestamp(start)) & (stamps < pd.Timestamp(start + dt.timedelta(days=days)))]
        frame = frame.assign(interval_start=pd.to_datetime(frame["interval_start"]).dt.tz_localize(None))
        histories[name], forecasts[name], frames[name] = history, result, frame.reset_index(drop=True)
    timings["forecast"] = time.perf_counter() - began

    began = stage("staffing")
    opening = scenario.site.opening_hours
    staffing = staffing_requirement(plan.spec.demand, frames, interval_min, opening)
    scenario = scenario.model_copy(
        update={"start_date": start, "days": days, "requirements": requirements_of(staffing, plan.spec.demand)}
    )
    timings["staffing"] = time.perf_counter() - began

    began = stage("roster")
    roster = solve_roster(scenario, settings, progress)
    violations = validate_roster(scenario, roster.roster)
    timings["roster"] = time.perf_counter() - began

    began = stage("evaluation")
    kpis = evaluate_roster(scenario, plan.spec.demand, staffing, roster, simulate=simulate)
    timings["evaluation"] = time.perf_counter() - began
    return PlanResult(
        scenario, histories, forecasts, staffing, roster, violations, kpis, daily_rollup(kpis), plan.spec.demand,
        timings,
    )


def evaluate_roster(
    scenario: Scenario, specs: list[DemandSpec], staffing: pd.DataFrame, roster: RosterResult, simulate: bool = True
) -> pd.DataFrame:
    """Per interval and skill: volume, handle time, required and scheduled staff, and for queues the service
    level, ASA, abandonment and occupancy they deliver (Erlang; ``sim_*`` columns from the simulation)."""
    coverage = roster.coverage.copy()
    coverage["interval_start"] = pd.to_datetime(coverage["interval_start"])
    scheduled = coverage.groupby(["interval_start", "skill"])["scheduled"].max()
    parts = []
    for skill, rows in staffing.groupby("skill", sort=False):
        summed = rows.groupby("interval_start", as_index=False).agg(
            volume=("volume", "sum"), aht_s=("aht_s", "first"), patience_s=("patience_s", "first"),
            required=("required", "sum"),
        )
        keys = pd.MultiIndex.from_arrays([summed["interval_start"], [skill] * len(summed)])
        summed["scheduled"] = scheduled.reindex(keys).fillna(0).to_numpy()
        summed.insert(1, "skill", skill)
        queue = next((s for s in specs if s.skill == skill and s.method in ("erlang_c", "erlang_a")), None)
        for column in ("service_level", "asa_s", "p_abandon", "occupancy"):
            summed[column] = np.nan
            summed[f"sim_{column}"] = np.nan
        if queue is not None:
            agents = effective_agents(summed["scheduled"].to_numpy(), queue.targets.shrinkage)
            patience = (queue.patience_s or 60.0) if queue.method == "erlang_a" else None
            volume, aht = summed["volume"].to_numpy(), summed["aht_s"].to_numpy()
            figures = erlang_kpis(volume, aht, agents, scenario.site.interval_min, queue.targets.answer_s, patience)
            for column in figures.columns:
                summed[column] = figures[column].to_numpy()
            if simulate:
                simulated = simulate_kpis(
                    volume, aht, agents, scenario.site.interval_min, queue.targets.answer_s, patience
                )
                for column in ("service_level", "asa_s", "p_abandon", "occupancy"):
                    summed[f"sim_{column}"] = simulated[column].to_numpy()
        parts.append(summed.drop(columns=["patience_s"]))
    kpis = pd.concat(parts, ignore_index=True)
    extra = [c for c in kpis.columns if c.startswith("sim_")]
    return kpis[KPI_COLUMNS + extra]
