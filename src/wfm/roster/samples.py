"""Generated call-centre roster scenarios with a realistic weekly demand curve.

Demand: the embedded sample day's half-hourly shape (morning peak, lunch dip, afternoon plateau, evening tail),
weekday factors (Monday busiest, weekend light), scaled so the peak needs about half the headcount on the
phones, turned into required agents per interval by the Erlang engine (80/20, Erlang C). Staff: agents
(30 % also outbound), shift leaders and supervisors in the documented proportions. Used by tests, examples and
``benchmarks/roster``.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

import numpy as np
import pandas as pd

from wfm.erlang import ServiceTargets, required_agents
from wfm.roster.domain import (
    Employee,
    IntervalRequirement,
    RoleRules,
    RuleSet,
    Scenario,
    ShiftTemplate,
    Site,
)

WEEKDAY_FACTOR = [1.15, 1.05, 1.0, 1.0, 0.95, 0.62, 0.48]
CALL_CENTRE_TEMPLATES = [
    ShiftTemplate(id="early", earliest_start=dt.time(7, 0), latest_start=dt.time(9, 0), length_min=540),
    ShiftTemplate(id="day", earliest_start=dt.time(9, 30), latest_start=dt.time(11, 30), length_min=540),
    ShiftTemplate(id="late", earliest_start=dt.time(12, 0), latest_start=dt.time(13, 30), length_min=540),
    ShiftTemplate(id="part", earliest_start=dt.time(9, 0), latest_start=dt.time(17, 30), length_min=270),
]


def sample_day_shape() -> pd.DataFrame:
    """The embedded sample day: half-hour ``time``, ``volume`` and ``aht_s``."""
    with resources.as_file(resources.files("wfm") / "data" / "call_centre_day.csv") as path:
        day = pd.read_csv(path, parse_dates=["interval_start"])
    day["time"] = day["interval_start"].dt.time
    return day[["time", "volume", "aht_s"]]


def call_centre_requirement(
    start: dt.date, days: int, peak_agents: float, seed: int = 0, outbound_share: float = 0.0
) -> list[IntervalRequirement]:
    """Required agents per half hour (inbound, and outbound if ``outbound_share``) for ``days`` dates."""
    day = sample_day_shape()
    rng = np.random.default_rng(seed)
    # Scale volumes so the Erlang requirement at the peak is about ``peak_agents``.
    peak_volume = day["volume"].max()
    scale = 1.0
    for _ in range(30):
        peak = required_agents(volume=[peak_volume * scale], aht_s=[240.0], interval_min=30).iloc[0]["agents"]
        if abs(peak - peak_agents) <= 0.5:
            break
        scale *= peak_agents / max(peak, 1)
    rows = []
    for d in range(days):
        date = start + dt.timedelta(days=d)
        factor = WEEKDAY_FACTOR[date.weekday()] * rng.normal(1.0, 0.04)
        volume = np.maximum(0, day["volume"].to_numpy() * scale * factor * rng.normal(1, 0.03, len(day)))
        staff = required_agents(
            volume=volume,
            aht_s=day["aht_s"].to_numpy(),
            interval_min=30,
            targets=ServiceTargets(service_level=0.8, answer_s=20),
        )
        for t, agents in zip(day["time"], staff["agents"], strict=True):
            if agents > 0:
                moment = dt.datetime.combine(date, t)
                inbound = agents if not outbound_share else round(agents * (1 - outbound_share))
                rows.append(IntervalRequirement(interval_start=moment, skill="inbound", required=inbound))
                if outbound_share and 10 <= t.hour < 18:
                    rows.append(IntervalRequirement(interval_start=moment, skill="outbound", required=agents - inbound))
    return rows


def call_centre_scenario(
    agents: int = 80,
    days: int = 28,
    start: dt.date = dt.date(2026, 3, 2),
    seed: int = 0,
    outbound: bool = True,
    leaders: bool = True,
) -> Scenario:
    """A call centre of ``agents`` agents (about a tenth of them part-time) plus leaders and supervisors."""
    rng = np.random.default_rng(seed)
    employees = []
    for i in range(agents):
        part_time = i % 10 == 9
        skills = ["inbound", "outbound"] if outbound and i % 10 < 3 else ["inbound"]
        rules = (
            RuleSet(allowed_templates=["part"], max_minutes_per_week=1500)
            if part_time
            else RuleSet(allowed_templates=["early", "day", "late"])
        )
        off = [start + dt.timedelta(days=int(d)) for d in rng.choice(days, size=rng.integers(0, 3), replace=False)]
        employees.append(
            Employee(
                id=f"A{i + 1:03d}",
                name=f"Agent {i + 1}",
                skills=skills,
                rules=rules,
                days_off=sorted(off),
                hourly_cost=25.0 if part_time else 30.0,
            )
        )
    if leaders:
        for i in range(max(3, round(agents / 8))):
            employees.append(
                Employee(
                    id=f"L{i + 1:02d}",
                    name=f"Shift leader {i + 1}",
                    skills=["inbound"],
                    roles=["shift_leader"],
                    rules=RuleSet(allowed_templates=["early", "day", "late"]),
                )
            )
        for i in range(max(3, -(-agents // 12))):
            employees.append(
                Employee(
                    id=f"S{i + 1:02d}",
                    name=f"Supervisor {i + 1}",
                    skills=[],
                    roles=["supervisor"],
                    rules=RuleSet(allowed_templates=["early", "day", "late"]),
                )
            )
    peak = agents * 0.5
    return Scenario(
        site=Site(name=f"call centre {agents}", business="call_centre", interval_min=30),
        start_date=start,
        days=days,
        preset="cn",
        rules=RuleSet(handover_min=10),
        roles=RoleRules(leader_whenever_on_duty=leaders, agents_per_supervisor=14 if leaders else None),
        templates=CALL_CENTRE_TEMPLATES,
        employees=employees,
        requirements=call_centre_requirement(start, days, peak, seed, outbound_share=0.15 if outbound else 0.0),
    )
