"""The whole pipeline for the three businesses, its evaluation against closed forms, and its report."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from wfm.cli import app
from wfm.erlang import queue_figures
from wfm.plan import DemandSpec, load_plan, plan_path, run_plan, staffing_requirement, write_plan_outputs
from wfm.plan.evaluate import simulate_kpis
from wfm.roster import SolveSettings
from wfm.roster.io import ScenarioError, read_roster_csv
from wfm.roster.validate import validate_roster

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
KPI_HEAD = ["interval_start", "skill", "volume", "aht_s", "required", "scheduled", "service_level", "asa_s",
            "p_abandon", "occupancy"]


def recount(roster: pd.DataFrame) -> Counter:
    """On-duty, not-on-break headcount per (interval start, skill), straight from roster rows (30-min grid)."""
    counts: Counter = Counter()
    for row in roster.itertuples():
        start, end = dt.datetime.fromisoformat(row.start), dt.datetime.fromisoformat(row.end)
        off = []
        for span in filter(None, str(row.breaks if isinstance(row.breaks, str) else "").split(";")):
            a, b = (dt.time.fromisoformat(x) for x in span.split("-"))
            b_start = dt.datetime.combine(start.date(), a)
            b_start += dt.timedelta(days=b_start < start)
            b_end = dt.datetime.combine(b_start.date(), b)
            b_end += dt.timedelta(days=b_end <= b_start)
            off.append((b_start, b_end))
        t = start
        while t < end:
            if not any(s <= t < e for s, e in off):
                counts[t.isoformat(timespec="minutes"), row.skill] += 1
            t += dt.timedelta(minutes=30)
    return counts


@pytest.fixture(scope="module", params=["store", "spa"])
def week_plan(request, tmp_path_factory):
    plan = load_plan(ROOT / "examples" / f"plan_{request.param}.yaml")
    result = run_plan(plan, weeks=1, settings=SolveSettings(time_limit_s=15, num_workers=2))
    out = tmp_path_factory.mktemp(request.param)
    write_plan_outputs(result, out)
    return request.param, result, out


def test_week_plan_files_are_consistent_and_legal(week_plan) -> None:
    _, result, out = week_plan
    assert sorted(p.name for p in out.iterdir()) == [
        "coverage.csv", "kpis.csv", "report.html", "roster.csv", "roster.xlsx", "scenario.json", "summary.json",
    ]
    roster = read_roster_csv(out / "roster.csv")
    assert list(roster.columns[:9]) == ["employee_id", "date", "start", "end", "skill", "role", "breaks",
                                        "activities", "paid_minutes"]
    assert len(roster) > 0
    # The independent validator on the written roster (template column comes from the effective scenario).
    assert validate_roster(result.scenario, result.roster.roster) == []
    counts = recount(roster)
    coverage = pd.read_csv(out / "coverage.csv")
    for row in coverage.itertuples():
        assert row.scheduled == counts.get((row.interval_start, row.skill), 0), row
    kpis = pd.read_csv(out / "kpis.csv")
    assert list(kpis.columns[:10]) == KPI_HEAD
    scenario = json.loads((out / "scenario.json").read_text())
    assert scenario["effective_rules"]["site"]["min_rest_minutes"] == 11 * 60  # the cn preset, filled in
    sheets = pd.read_excel(out / "roster.xlsx", sheet_name=None, index_col=0)
    assert len(sheets) == 1 and len(next(iter(sheets.values()))) == len(result.scenario.employees)


def test_business_rules_hold(week_plan) -> None:
    business, result, _ = week_plan
    roster = result.roster.roster
    employees = {e.id: e for e in result.scenario.employees}
    if business == "spa":
        for row in roster.itertuples():
            if row.skill == "locker_male":
                assert employees[row.employee_id].gender == "M"
            if row.skill == "locker_female":
                assert employees[row.employee_id].gender == "F"
        pinned = [(e.id, d.isoformat()) for e in employees.values() for d in e.pinned_rest_days]
        worked = set(zip(roster["employee_id"], roster["date"], strict=True))
        assert pinned and not worked & set(pinned)
        # Each area (team) has its own leader on duty whenever its staff are: counted from the roster rows.
        on_duty: dict[tuple[str, str], Counter] = {}
        for row in roster.itertuples():
            person = employees[row.employee_id]
            t, end = dt.datetime.fromisoformat(row.start), dt.datetime.fromisoformat(row.end)
            while t < end:
                on_duty.setdefault((person.team, t.isoformat()), Counter())[person.roles[0]] += 1
                t += dt.timedelta(minutes=30)
        unled = sum(1 for counts in on_duty.values() if counts["agent"] and not counts["shift_leader"])
        staffed = sum(1 for counts in on_duty.values() if counts["agent"])
        assert {team for team, _ in on_duty} == {"front_hall", "therapy"}
        reported = result.roster.breakdown.get("leader_missing", 0) / result.scenario.weights.leader_missing
        assert unled <= reported and unled <= 0.1 * staffed, (unled, reported, staffed)
        therapists = result.staffing[result.staffing["skill"] == "therapist"]
        assert therapists["required"].max() <= 10  # the rooms
        # Opening hours differ by date: nothing is required when the spa is closed.
        opening = result.scenario.site.opening_hours
        for row in result.staffing[result.staffing["required"] > 0].itertuples():
            start, _ = opening[row.interval_start.date()]
            assert row.interval_start.time() >= start
    else:
        early = roster[roster["start"].str[11:] <= "08:00"]
        late = roster[roster["start"].str[11:] >= "14:00"]
        assert len(early) and len(late)
        # Paired shifts overlap for the handover: the early shift ends after the late one starts.
        assert early["end"].str[11:].min() > late["start"].str[11:].min()


def test_demo_runs_the_call_centre_from_the_cli(tmp_path) -> None:
    result = runner.invoke(app, ["demo", "--weeks", "1", "--time-limit", "20", "--workers", "2",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "report:" in result.output and "service level" in result.output
    kpis = pd.read_csv(tmp_path / "kpis.csv")
    inbound = kpis[kpis["skill"] == "inbound"]
    assert inbound["volume"].sum() > 10_000  # a week of the sample hotline
    # The roster serves the queue: the volume-weighted delivered service level is near the 80 % target.
    delivered = (inbound["service_level"] * inbound["volume"]).sum() / inbound["volume"].sum()
    assert delivered > 0.7, delivered
    assert "activities" in pd.read_csv(tmp_path / "roster.csv").columns
    # Erlang figures recomputed independently from the exported columns (20 % shrinkage, 60 s patience).
    agents = np.round(inbound["scheduled"].to_numpy() * 0.8)
    load = inbound["volume"].to_numpy() * inbound["aht_s"].to_numpy() / 1800
    figures = queue_figures(agents, load, inbound["aht_s"].to_numpy(), 20.0, 60.0)
    assert np.allclose(figures.service_level, inbound["service_level"], atol=1e-3)


def test_plan_cli_reports_bad_input(tmp_path) -> None:
    bad = tmp_path / "plan.yaml"
    text = (ROOT / "examples" / "plan_store.yaml").read_text().replace("method: erlang_c", "method: erlang_x")
    bad.write_text(text)
    for name in ("history_store.csv.gz", "events_store.csv"):
        shutil.copy(plan_path("store").parent / name, tmp_path / name)
    result = runner.invoke(app, ["plan", "--scenario", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "demand.0.method" in result.output
    assert not (tmp_path / "out").exists()
    no_demand = tmp_path / "no_demand.yaml"
    no_demand.write_text("site: {name: x}\nstart_date: 2026-03-02\ndays: 7\ntemplates: []\nemployees: []\n")
    with pytest.raises(ScenarioError, match="sources"):
        load_plan(no_demand)


def test_staffing_methods_against_hand_counts() -> None:
    grid = pd.date_range("2026-03-02 08:00", periods=4, freq="30min")
    forecasts = {"guests": pd.DataFrame({"interval_start": grid, "volume": [0, 30, 61, 200], "aht_s": 3600.0})}
    specs = [
        DemandSpec(skill="hall", method="ratio", source="guests", per_person=25, minimum=2),
        DemandSpec(skill="locker", method="fixed", required=1, hours=(dt.time(8, 30), dt.time(9, 30))),
        DemandSpec(skill="therapist", method="erlang_c", source="guests", share=0.1, maximum=20,
                   targets={"service_level": 0.8, "answer_s": 900}),
    ]
    table = staffing_requirement(specs, forecasts, 30)
    by_skill = {k: v["required"].tolist() for k, v in table.groupby("skill")}
    assert by_skill["hall"] == [2, 2, 3, 8]
    assert by_skill["locker"] == [0, 1, 1, 0]
    assert by_skill["therapist"][0] == 0 and by_skill["therapist"][-1] == 20  # 40 Erlangs, 20 rooms
    # 6.1 guests of 60 min in 30 min = 12.2 Erlangs: the smallest N with SL(N) >= 80 % within 15 min.
    n = by_skill["therapist"][2]
    assert queue_figures(n, 12.2, 3600, 900).service_level >= 0.8 > queue_figures(n - 1, 12.2, 3600, 900).service_level


@pytest.mark.parametrize("patience_s", [None, 60.0])
def test_simulation_agrees_with_erlang_in_steady_state(patience_s) -> None:
    """Constant arrivals and staff for 400 half hours: the simulation matches the closed forms."""
    n = 400
    volume, aht, agents = np.full(n, 200.0), np.full(n, 240.0), np.full(n, 30.0)
    simulated = simulate_kpis(volume, aht, agents, 30, 20.0, patience_s, seed=7)
    exact = queue_figures(30, 200 * 240 / 1800, 240, 20.0, patience_s)
    weight = volume / volume.sum()
    middle = slice(5, n - 5)  # leave out the empty start and the drain at the end
    assert float((simulated["service_level"][middle] * weight[middle]).sum() / weight[middle].sum()) == (
        pytest.approx(float(exact.service_level), abs=0.02)
    )
    assert float(simulated["p_abandon"][middle].mean()) == pytest.approx(float(exact.p_abandon), abs=0.01)
    assert float(simulated["occupancy"][middle].mean()) == pytest.approx(float(exact.occupancy), abs=0.02)


def test_report_renders_in_chromium(week_plan, tmp_path) -> None:
    """Headless Chromium opens the report offline: no script errors and every chart drawn."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    playwright = pytest.importorskip("playwright.sync_api")
    business, _, out = week_plan
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync",
        ])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto((out / "report.html").as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 5")
        plots = page.locator(".js-plotly-plot").count()
        traces = page.evaluate("Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => d.data.length)")
        shot = ROOT / "docs" / f"report_{business}.png"
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        if not shot.exists():
            shot.parent.mkdir(exist_ok=True)
            shutil.copy(tmp_path / "report.png", shot)
        browser.close()
    assert errors == []
    assert plots == 5 and all(n > 0 for n in traces)
