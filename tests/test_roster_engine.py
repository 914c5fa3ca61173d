"""The roster engine on realistic cases, judged by the independent validator and by independent recounts."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pandas as pd
import pytest

from wfm.roster import (
    Employee,
    IntervalRequirement,
    Pin,
    Request,
    RuleSet,
    Scenario,
    ShiftTemplate,
    SolveSettings,
    solve_roster,
)
from wfm.roster.domain import RoleRules
from wfm.roster.reroster import re_roster
from wfm.roster.samples import call_centre_scenario
from wfm.roster.validate import validate_roster

MONDAY = dt.date(2026, 3, 2)
FAST = SolveSettings(time_limit_s=10, num_workers=2)


def requirement(days: int, hours: range, skill: str, required: int = 1, start: dt.date = MONDAY) -> list:
    return [
        IntervalRequirement(
            interval_start=dt.datetime.combine(start + dt.timedelta(days=d), dt.time(h, m)),
            skill=skill,
            required=required,
        )
        for d in range(days)
        for h in hours
        for m in (0, 30)
    ]


def recount_coverage(roster: pd.DataFrame, interval_min: int = 30) -> Counter:
    """On-duty, not-on-break headcount per (interval start, skill), counted straight from roster rows."""
    counts: Counter = Counter()
    for row in roster.itertuples():
        start, end = dt.datetime.fromisoformat(row.start), dt.datetime.fromisoformat(row.end)
        spans = []
        for span in filter(None, row.breaks.split(";")):
            a, b = span.split("-")
            b_start = dt.datetime.combine(start.date(), dt.time.fromisoformat(a))
            if b_start < start:
                b_start += dt.timedelta(days=1)
            spans.append(
                (
                    b_start,
                    b_start
                    + (
                        dt.datetime.combine(dt.date.min, dt.time.fromisoformat(b))
                        - dt.datetime.combine(dt.date.min, dt.time.fromisoformat(a))
                    ),
                )
            )
        t = start
        while t < end:
            if not any(a <= t < b for a, b in spans):
                counts[t, row.skill] += 1
            t += dt.timedelta(minutes=interval_min)
    return counts


def clubhouse_shop() -> Scenario:
    """The domain brief's clubhouse shop: open 10:00-20:00, A 08:00-17:00, B 12:00-20:00, one rest day a week
    each, never on Saturday or Sunday. These rules cannot all be met."""
    weekend = [MONDAY + dt.timedelta(days=d) for d in (5, 6)]
    employees = [
        Employee(
            id="cashier_A",
            skills=["cashier"],
            rules=RuleSet(allowed_templates=["A"]),
            pinned=[Pin(date=d, template="A") for d in weekend],
        ),
        Employee(
            id="cashier_B",
            skills=["cashier"],
            rules=RuleSet(allowed_templates=["B"]),
            pinned=[Pin(date=d, template="B") for d in weekend],
        ),
    ]
    return Scenario(
        start_date=MONDAY,
        days=7,
        rules=RuleSet(max_shift_minutes=600, max_overtime_minutes_per_month=100_000, meal_break=None),
        templates=[
            ShiftTemplate(id="A", earliest_start="08:00", length_min=540),
            ShiftTemplate(id="B", earliest_start="12:00", length_min=480),
        ],
        employees=employees,
        requirements=requirement(7, range(10, 20), "cashier"),
    )


def test_clubhouse_shop_gets_best_roster_and_the_uncovered_hours():
    scenario = clubhouse_shop()
    result = solve_roster(scenario, FAST)
    assert result.status == "OPTIMAL"
    assert validate_roster(scenario, result.roster) == []
    worked = result.roster.groupby("employee_id")["date"].apply(set)
    rest_a = {d.isoformat() for d in scenario.dates} - worked["cashier_A"]
    rest_b = {d.isoformat() for d in scenario.dates} - worked["cashier_B"]
    assert len(rest_a) == len(rest_b) == 1 and rest_a != rest_b  # one weekday rest each, on different days
    unmet = result.unmet_demand
    by_day = unmet.groupby(unmet["interval_start"].str[:10])["interval_start"].apply(
        lambda s: sorted(x[11:16] for x in s)
    )
    assert by_day[rest_a.pop()] == ["10:00", "10:30", "11:00", "11:30"]
    assert by_day[rest_b.pop()] == ["17:00", "17:30", "18:00", "18:30", "19:00", "19:30"]
    assert unmet["missing"].sum() == 10


def test_call_centre_week_passes_the_validator_and_coverage_recounts():
    scenario = call_centre_scenario(agents=16, days=7, seed=3)
    result = solve_roster(scenario, SolveSettings(time_limit_s=20, num_workers=2))
    assert result.status in ("OPTIMAL", "FEASIBLE")
    assert validate_roster(scenario, result.roster) == []
    counts = recount_coverage(result.roster)
    for row in result.coverage.itertuples():
        assert row.scheduled == counts[dt.datetime.fromisoformat(row.interval_start), row.skill]
    required = result.coverage["required"].sum()
    missing = result.unmet_demand["missing"].sum() if len(result.unmet_demand) else 0
    assert missing <= 0.03 * required
    # Every shift over 6 h has exactly one 30-min break; part-time shifts have none.
    long_shifts = result.roster[result.roster["template"] != "part"]
    assert (long_shifts["breaks"].str.len() == 11).all()
    assert (result.roster[result.roster["template"] == "part"]["breaks"] == "").all()


def test_breaks_go_where_the_need_dips():
    # Two agents 08:00-17:00; two needed all day except 12:00-12:30, when nobody is needed.
    reqs = [r for r in requirement(1, range(8, 17), "inbound", 2) if r.interval_start.time() != dt.time(12, 0)]
    reqs.append(IntervalRequirement(interval_start=dt.datetime(2026, 3, 2, 12, 0), skill="inbound", required=0))
    scenario = Scenario(
        start_date=MONDAY,
        days=1,
        templates=[ShiftTemplate(id="D", earliest_start="08:00", length_min=540)],
        employees=[Employee(id=f"e{i}", skills=["inbound"]) for i in range(2)],
        requirements=reqs,
    )
    result = solve_roster(scenario, FAST)
    assert list(result.roster["breaks"]) == ["12:00-12:30", "12:00-12:30"]
    assert result.unmet_demand.empty


def test_overnight_shift_counts_on_the_next_date():
    night = [
        IntervalRequirement(
            interval_start=dt.datetime(2026, 3, 2, 22, 0) + dt.timedelta(minutes=30 * i), skill="inbound", required=1
        )
        for i in range(16)
    ]
    scenario = Scenario(
        start_date=MONDAY,
        days=1,
        rules=RuleSet(meal_break=None),
        templates=[ShiftTemplate(id="N", earliest_start="22:00", length_min=480)],
        employees=[Employee(id="n1", skills=["inbound"])],
        requirements=night,
    )
    result = solve_roster(scenario, FAST)
    assert result.roster.iloc[0]["end"] == "2026-03-03T06:00"
    assert result.unmet_demand.empty
    assert (result.coverage["scheduled"] == 1).all()


def test_min_hours_above_availability_is_explained_and_the_rest_still_solved():
    scenario = clubhouse_shop()
    scenario.employees[0].rules = RuleSet(allowed_templates=["A"], min_minutes_total=40 * 60)
    scenario.employees[0].days_off = [MONDAY + dt.timedelta(days=d) for d in range(4)]
    scenario.employees[0].pinned = []
    result = solve_roster(scenario, FAST)
    assert result.status in ("OPTIMAL", "FEASIBLE")
    assert any("cashier_A" in c.employee_ids and "min_minutes_total" in c.rules for c in result.conflicts)
    assert validate_roster(scenario, result.roster) == [
        v for v in validate_roster(scenario, result.roster) if v.rule == "min_minutes_total"
    ]
    assert len(result.roster[result.roster["employee_id"] == "cashier_B"]) == 6


def test_pinned_shifts_breaking_the_rest_rule_are_named_by_cp_sat():
    # A late shift to 23:00 pinned on Monday and an early 07:00 shift pinned on Tuesday: 8 h rest < 11 h.
    scenario = Scenario(
        start_date=MONDAY,
        days=3,
        templates=[
            ShiftTemplate(id="early", earliest_start="07:00", length_min=480),
            ShiftTemplate(id="late", earliest_start="15:00", length_min=480),
        ],
        employees=[
            Employee(
                id="li",
                skills=["inbound"],
                pinned=[Pin(date=MONDAY, template="late"), Pin(date=MONDAY + dt.timedelta(days=1), template="early")],
            ),
            Employee(id="wang", skills=["inbound"]),
        ],
        requirements=requirement(3, range(7, 23), "inbound"),
    )
    result = solve_roster(scenario, FAST)
    assert result.status in ("OPTIMAL", "FEASIBLE") and len(result.roster) > 0
    conflict = next(c for c in result.conflicts if "li" in c.employee_ids)
    assert "min_rest_minutes" in conflict.rules and "pinned" in conflict.rules
    # Best effort: exactly one rule group of li is broken, wang's roster is legal.
    violations = validate_roster(scenario, result.roster)
    assert {v.employee_id for v in violations} == {"li"}
    assert len(violations) == 1


def test_re_roster_after_an_absence_changes_little():
    scenario = call_centre_scenario(agents=12, days=7, seed=5, leaders=False, outbound=False)
    # The published roster within 5 % of its bound (~400, 5-8 s): a roster left far from its optimum (10 s of
    # 2 workers gave 7.8k-17k, bound 7.7k) lets the re-roster buy unrelated improvements at 2000 per change.
    first = solve_roster(scenario, SolveSettings(time_limit_s=60, num_workers=2, relative_gap=0.05))
    assert first.gap is not None and first.gap <= 0.05
    absent = first.roster.iloc[0]
    changed, again, changes = re_roster(
        scenario, first.roster, absent.employee_id, [dt.date.fromisoformat(absent.date)],
        SolveSettings(time_limit_s=10, num_workers=2),
    )
    assert validate_roster(changed, again.roster) == []
    before = {(r.employee_id, r.date): r.start for r in first.roster.itertuples()}
    after = {(r.employee_id, r.date): r.start for r in again.roster.itertuples()}
    changed_days = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert (absent.employee_id, absent.date) in changed_days and (absent.employee_id, absent.date) not in after
    assert set(zip(changes["employee_id"], changes["date"], strict=True)) == changed_days
    # The absence and a stand-in; when the stand-in is already at its hours limit (40 h + the prorated overtime
    # cap of the cn preset leave no room for a sixth shift in a week), the cheapest repair is a
    # swap (the stand-in gives another day to the absent person): 4 changed employee-days, 2 people.
    assert len(changed_days) <= 4, f"{len(changed_days)} employee-days changed for one absence: {changed_days}"
    assert len({employee for employee, _ in changed_days}) <= 3


def test_leader_on_duty_whenever_agents_are():
    scenario = call_centre_scenario(agents=10, days=3, seed=2, outbound=False)
    scenario.roles = RoleRules(leader_whenever_on_duty=True)
    result = solve_roster(scenario, FAST)
    assert result.breakdown.get("leader_missing", 0) == 0
    roles = {e.id: e.roles[0] for e in scenario.employees}
    on_duty: dict = {}
    for row in result.roster.itertuples():
        t, end = dt.datetime.fromisoformat(row.start), dt.datetime.fromisoformat(row.end)
        while t < end:
            on_duty.setdefault(t, set()).add(roles[row.employee_id])
            t += dt.timedelta(minutes=30)
    assert all("shift_leader" in present for present in on_duty.values() if "agent" in present)


def test_requests_and_progress_callback():
    scenario = clubhouse_shop()
    scenario.employees[0].requests = [Request(date=MONDAY + dt.timedelta(days=2), kind="off", weight=100)]
    seen = []
    result = solve_roster(scenario, FAST, progress=seen.append)
    assert seen and seen[-1].objective >= seen[-1].bound
    assert (MONDAY + dt.timedelta(days=2)).isoformat() not in set(
        result.roster[result.roster["employee_id"] == "cashier_A"]["date"]
    )


@pytest.mark.parametrize(
    ("mutate", "rule"),
    [
        (lambda r: r.assign(start=r["start"].where(r.index != 0, "2026-03-02T09:00")), "template_start"),
        (lambda r: pd.concat([r, r.iloc[[0]]]), "one_shift_per_day"),
        (lambda r: r.assign(paid_minutes=r["paid_minutes"].astype(int) + 1), "paid_minutes"),
        (lambda r: r.assign(skill="outbound"), "skill"),
    ],
)
def test_validator_catches_hand_made_mistakes(mutate, rule):
    scenario = clubhouse_shop()
    result = solve_roster(scenario, FAST)
    assert rule in {v.rule for v in validate_roster(scenario, mutate(result.roster))}


def test_validator_catches_sequence_rules_on_a_hand_made_roster():
    scenario = Scenario(
        start_date=MONDAY,
        days=14,
        rules=RuleSet(meal_break=None, min_consecutive_rest_days=2),
        templates=[
            ShiftTemplate(id="D", earliest_start="09:00", length_min=480),
            ShiftTemplate(id="L", earliest_start="16:00", length_min=480),
        ],
        employees=[Employee(id="e1", skills=["x"], rules=RuleSet(max_weekends=1))],
    )
    days = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 13]  # 8 days in a row, single rest days, two weekends
    rows = [
        {
            "employee_id": "e1",
            "date": (MONDAY + dt.timedelta(days=d)).isoformat(),
            "start": f"{MONDAY + dt.timedelta(days=d)}T{'16:00' if d == 2 else '09:00'}",
            "end": f"{MONDAY + dt.timedelta(days=d)}T{'23:59' if d == 2 else '17:00'}",
            "skill": "x",
            "breaks": "",
            "paid_minutes": 480,
            "template": "L" if d == 2 else "D",
        }
        for d in days
    ]
    rows[2]["end"] = f"{MONDAY + dt.timedelta(days=3)}T00:00"
    rules = {v.rule for v in validate_roster(scenario, pd.DataFrame(rows))}
    assert {
        "max_consecutive_days",
        "min_rest_minutes",
        "max_days_per_week",
        "min_consecutive_rest_days",
        "max_weekends",
    } <= rules


def test_off_queue_activities_are_placed_in_shifts_and_taken_off_coverage():
    """A Monday team meeting and a Wednesday training block: every inbound shift that can hold them gets them,
    the validator agrees, and coverage counts people in them as off the queue."""
    from wfm.roster.domain import Activity
    from wfm.roster.tables import coverage_of

    scenario = call_centre_scenario(agents=12, days=7, seed=5, leaders=False, outbound=False)  # starts Monday
    scenario.activities = [
        Activity(id="meeting", length_min=30, earliest_start=dt.time(7, 0), latest_end=dt.time(10, 0),
                 weekdays=[0], skills=["inbound"]),
        Activity(id="training", length_min=60, earliest_start=dt.time(14, 0), latest_end=dt.time(18, 0),
                 weekdays=[2], skills=["inbound"]),
    ]
    result = solve_roster(scenario, FAST)
    roster = result.roster
    assert validate_roster(scenario, roster) == []
    monday = roster[roster["date"] == scenario.start_date.isoformat()]
    early = monday[monday["start"].str[11:16] <= "08:00"]  # breaks start 2 h in: 30 min before 10:00 stays free
    assert len(early) and early["activities"].str.startswith("meeting").all()
    wednesday = roster[roster["date"] == (scenario.start_date + dt.timedelta(days=2)).isoformat()]
    assert wednesday["activities"].str.contains("training").any()
    assert not roster[~roster["date"].isin([monday["date"].iloc[0], wednesday["date"].iloc[0]])]["activities"].any()
    # Coverage recounted by hand: on shift, not on break, not in an activity.
    people_in = Counter()
    for row in roster.itertuples():
        for entry in filter(None, row.activities.split(";")):
            _, span = entry.split()
            first, last = (dt.datetime.combine(dt.date.fromisoformat(row.date), dt.time.fromisoformat(x))
                           for x in span.split("-"))
            while first < last:
                people_in[first.isoformat(timespec="minutes")] += 1
                first += dt.timedelta(minutes=30)
    plain = coverage_of(scenario.model_copy(update={"activities": []}), roster.assign(activities=""))
    counted = coverage_of(scenario, roster)
    difference = (plain["scheduled"] - counted["scheduled"]).to_numpy()
    assert list(difference) == [people_in.get(t, 0) for t in counted["interval_start"]]
    assert sum(people_in.values()) > 0
    # The validator catches a missing meeting and a meeting moved onto the break.
    broken = roster.copy()
    first_early = early.index[0]
    broken.loc[first_early, "activities"] = ""
    assert any(v.rule == "activities" for v in validate_roster(scenario, broken))
    with_break = roster[roster["breaks"] != ""].index.intersection(early.index)[0]
    broken = roster.copy()
    broken.loc[with_break, "activities"] = f"meeting {roster.loc[with_break, 'breaks'].split('-')[0]}-" + (
        (dt.datetime.strptime(roster.loc[with_break, "breaks"].split("-")[0], "%H:%M")
         + dt.timedelta(minutes=30)).strftime("%H:%M"))
    assert any(v.rule == "activities" for v in validate_roster(scenario, broken))


def test_pinned_forbidden_succession_is_named_pair_by_pair():
    # Night then early is forbidden, night then late too; pins ask for night on Monday and early on Tuesday.
    scenario = Scenario(
        start_date=MONDAY,
        days=3,
        preset="none",
        rules=RuleSet(forbidden_successions=[("night", "early"), ("night", "late")]),
        templates=[
            ShiftTemplate(id="early", earliest_start="06:00", length_min=480),
            ShiftTemplate(id="late", earliest_start="14:00", length_min=480),
            ShiftTemplate(id="night", earliest_start="22:00", length_min=480),
        ],
        employees=[
            Employee(
                id="li",
                skills=["inbound"],
                pinned=[Pin(date=MONDAY, template="night"), Pin(date=MONDAY + dt.timedelta(days=1), template="early")],
            ),
        ],
        requirements=requirement(3, range(6, 22), "inbound"),
    )
    result = solve_roster(scenario, FAST)
    conflict = next(c for c in result.conflicts if "li" in c.employee_ids)
    assert "forbidden_succession" in conflict.rules
    assert "night->early" in conflict.message and "night->late" not in conflict.message
    # Only the clashing pair is relaxed: night is still not followed by late.
    rows = result.roster.sort_values("date")
    pairs = list(zip(rows["template"], rows["template"].iloc[1:], strict=False))
    assert ("night", "late") not in pairs


def test_plain_search_hands_over_when_it_stalls():
    from wfm.roster.progress import ProgressCallback, stop_on_stall

    class Solver:
        stopped_at: float | None = None

        def stop_search(self) -> None:
            self.stopped_at = time.perf_counter()

    callback = ProgressCallback(None)
    callback.external(100.0, 0.0)  # a roster found now
    solver = Solver()
    start = time.perf_counter()
    with stop_on_stall(solver, callback, earliest=start + 0.5, stall_s=1.0):
        while solver.stopped_at is None and time.perf_counter() < start + 5:
            time.sleep(0.05)
    assert solver.stopped_at is not None and solver.stopped_at - start >= 1.0  # stall measured from the roster
    improving = Solver()
    with stop_on_stall(improving, callback, earliest=time.perf_counter(), stall_s=1.0):
        for _ in range(10):  # a new roster every 0.2 s keeps the search going
            time.sleep(0.2)
            callback.external(90.0, 0.0)
    assert improving.stopped_at is None
    # Within ``min_gap`` of the proven bound the search is left to prove its roster; the bound counts as CP-SAT
    # reports it, not only as it stood at the last roster.
    close = ProgressCallback(None)
    close.external(100.0, 90.0)
    close.bound_improved(99.5)
    proving = Solver()
    with stop_on_stall(proving, close, earliest=time.perf_counter(), stall_s=0.2, poll_s=0.05, min_gap=0.01):
        time.sleep(1.0)
    assert proving.stopped_at is None
    wide = Solver()
    with stop_on_stall(wide, close, earliest=time.perf_counter(), stall_s=0.2, poll_s=0.05, min_gap=0.001):
        time.sleep(1.0)
    assert wide.stopped_at is not None
