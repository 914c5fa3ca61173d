"""Large rosters: greedy start, neighbourhood search and the LP coverage bound, judged independently."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from wfm.roster import (
    Employee,
    IntervalRequirement,
    RuleSet,
    Scenario,
    ShiftTemplate,
    Site,
    SolveSettings,
    lns,
    solve_roster,
)
from wfm.roster.bounds import coverage_lower_bound
from wfm.roster.greedy import greedy_assignments
from wfm.roster.model import RosterModel
from wfm.roster.samples import call_centre_scenario
from wfm.roster.tables import coverage_of
from wfm.roster.validate import validate_roster

MONDAY = dt.date(2026, 3, 2)


def under_hours(scenario: Scenario, roster) -> float:
    coverage = coverage_of(scenario, roster)
    shortfall = (coverage["required"].map(math.ceil) - coverage["scheduled"]).clip(lower=0)
    return float(shortfall.sum()) * scenario.site.interval_min / 60


def test_bound_matches_hand_count() -> None:
    """One person, one fixed 4-hour shift, two people wanted for those 4 hours: 4 agent-hours short, no less."""
    scenario = Scenario(
        site=Site(name="kiosk", interval_min=30),
        start_date=MONDAY,
        days=1,
        preset="none",
        templates=[ShiftTemplate(id="am", earliest_start=dt.time(8), length_min=240)],
        employees=[Employee(id="E1", skills=["till"])],
        requirements=[
            IntervalRequirement(interval_start=dt.datetime.combine(MONDAY, dt.time(8 + i // 2, 30 * (i % 2))),
                                skill="till", required=2)
            for i in range(8)
        ],
    )
    bound = coverage_lower_bound(scenario)
    assert bound.required_agent_hours == pytest.approx(8.0)
    assert bound.under_agent_hours == pytest.approx(4.0)
    result = solve_roster(scenario, SolveSettings(time_limit_s=5, num_workers=2))
    assert under_hours(scenario, result.roster) == pytest.approx(4.0)


def _record_step_search(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record the ``lp_subsolvers`` each neighbourhood search is given (None: light steps without the LP)."""
    given: list[object] = []
    improve = lns.improve

    def recording(*args: object, **kwargs: object) -> object:
        given.append(kwargs.get("lp_subsolvers"))
        return improve(*args, **kwargs)

    monkeypatch.setattr(lns, "improve", recording)
    return given


def test_greedy_start_is_legal_and_lns_improves_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 40-agent month: the greedy roster passes the validator, and the neighbourhood search only improves;
    with no plain CP-SAT phase (``plain_max_variables`` 0), its steps still search with the LP, since the model
    is under ``lp_steps_max_variables``."""
    given = _record_step_search(monkeypatch)
    scenario = call_centre_scenario(agents=40, days=28, seed=3)
    built = RosterModel(scenario)
    chosen = greedy_assignments(built)
    assert chosen, "the greedy start found no roster"
    trajectory = []
    result = solve_roster(
        scenario,
        SolveSettings(time_limit_s=25, num_workers=2, plain_max_variables=0),
        progress=lambda p: trajectory.append(p.objective),
    )
    assert result.status == "FEASIBLE"
    assert validate_roster(scenario, result.roster) == []
    assert result.stats["lns_steps"] >= 1
    assert len(given) == 1 and given[0] is not None
    assert trajectory == sorted(trajectory, reverse=True)
    assert result.objective == pytest.approx(trajectory[-1])
    # The LP bound is a true bound: no roster covers more than it allows.
    bound = coverage_lower_bound(scenario)
    under = under_hours(scenario, result.roster)
    assert bound.under_agent_hours <= under + 1e-6
    assert under <= 0.05 * bound.required_agent_hours


def test_short_staffed_month_still_gets_a_roster_with_unmet_demand() -> None:
    """Half the staff for the demand: a legal roster, the shortfall listed, and no better than the LP allows."""
    full = call_centre_scenario(agents=40, days=14, seed=1)
    few = call_centre_scenario(agents=16, days=14, seed=1, leaders=False)
    scenario = few.model_copy(update={"requirements": full.requirements})
    result = solve_roster(scenario, SolveSettings(time_limit_s=20, num_workers=2, plain_max_variables=0))
    assert validate_roster(scenario, result.roster) == []
    bound = coverage_lower_bound(scenario)
    assert bound.under_agent_hours > 0
    missing_h = float(result.unmet_demand["missing"].map(math.ceil).sum()) * 0.5
    assert missing_h >= bound.under_agent_hours - 1e-6
    assert under_hours(scenario, result.roster) >= bound.under_agent_hours - 1e-6


def test_greedy_gives_up_on_minimum_hours_it_cannot_meet() -> None:
    """A minimum weekly hours rule the greedy proposal cannot satisfy leaves the start to CP-SAT."""
    scenario = call_centre_scenario(agents=6, days=7, leaders=False)
    strict = [e.model_copy(update={"rules": RuleSet(min_minutes_per_week=6 * 24 * 60)}) for e in scenario.employees]
    built = RosterModel(scenario.model_copy(update={"employees": strict}))
    assert greedy_assignments(built) is None


def test_employee_by_employee_start_where_the_greedy_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Monthly minimum hours (which the greedy start cannot promise) on a model treated as large: the first
    roster is built employee by employee, and the result passes the independent validator with the demand
    covered within a few percent of the required agent-hours."""
    scenario = call_centre_scenario(agents=24, days=14, seed=2, leaders=False)
    employees = [
        e.model_copy(update={"rules": e.rules.model_copy(update={"min_minutes_total": 8 * 480})})
        for e in scenario.employees
        if "part" not in (e.rules.allowed_templates or [])
    ]
    scenario = scenario.model_copy(update={"employees": employees})
    assert greedy_assignments(RosterModel(scenario)) is None
    # Treated as large on both counts: no plain CP-SAT phase, and light neighbourhood steps without the LP.
    settings = SolveSettings(time_limit_s=25, num_workers=2, plain_max_variables=0, lp_steps_max_variables=0)
    given = _record_step_search(monkeypatch)
    result = solve_roster(scenario, settings)
    assert given == [None]
    assert result.status == "FEASIBLE"
    assert validate_roster(scenario, result.roster) == []
    worked = result.roster.groupby("employee_id")["paid_minutes"].sum()
    assert len(worked) == len(employees) and worked.min() >= 8 * 480
    bound = coverage_lower_bound(scenario)
    assert under_hours(scenario, result.roster) <= bound.under_agent_hours + 0.1 * bound.required_agent_hours
