"""wfm roster / wfm validate as a planner runs them, and clear errors for bad scenario files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from wfm.cli import app

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "call_centre_week.yaml"
runner = CliRunner()


def test_roster_then_validate_on_the_example(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["roster", "--scenario", str(EXAMPLE), "--out", str(out), "--time-limit", "15", "--workers", "2"]
    )
    assert result.exit_code == 0, result.output
    roster = pd.read_csv(out / "roster.csv")
    assert list(roster.columns)[:9] == [
        "employee_id",
        "date",
        "start",
        "end",
        "skill",
        "role",
        "breaks",
        "activities",
        "paid_minutes",
    ]
    coverage = pd.read_csv(out / "coverage.csv")
    assert list(coverage.columns) == ["interval_start", "skill", "required", "scheduled"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] in ("OPTIMAL", "FEASIBLE") and summary["violations"] == []
    assert "under_coverage" in summary["objective_breakdown"]
    checked = runner.invoke(app, ["validate", "--scenario", str(EXAMPLE), "--roster", str(out / "roster.csv")])
    assert checked.exit_code == 0 and "no violations" in checked.output
    # A hand edit that breaks the rest rule is reported.
    first = roster.iloc[0]
    edited = pd.concat(
        [
            roster,
            pd.DataFrame(
                [
                    {
                        **first.to_dict(),
                        "date": first["date"],
                        "start": first["date"] + "T22:00",
                        "end": first["date"] + "T23:30",
                    }
                ]
            ),
        ]
    )
    edited.to_csv(tmp_path / "edited.csv", index=False)
    checked = runner.invoke(app, ["validate", "--scenario", str(EXAMPLE), "--roster", str(tmp_path / "edited.csv")])
    assert checked.exit_code == 1 and "one_shift_per_day" in checked.output


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["employees"][0].update(shifts=3), "employees.0.shifts: Extra inputs are not permitted"),
        (lambda d: d["employees"][1]["rules"].update(max_days_per_week=9), "employees.1.rules.max_days_per_week"),
        (lambda d: d["site"].update(interval_min=7), "site.interval_min"),
        (lambda d: d["templates"][0].update(length_min=0), "length_min"),
        (lambda d: d["employees"].append(dict(d["employees"][0])), "duplicated id"),
        (lambda d: d.update(start_date="2026-02-30"), "start_date"),
    ],
)
def test_bad_scenario_names_the_field_and_writes_nothing(tmp_path, edit, message):
    data = yaml.safe_load(EXAMPLE.read_text())
    data["requirements_csv"] = str(EXAMPLE.parent / data["requirements_csv"])
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    result = runner.invoke(app, ["roster", "--scenario", str(path), "--out", str(out)])
    assert result.exit_code == 2
    assert message in result.output.replace("\n", " ")
    assert "Traceback" not in result.output
    assert not out.exists()


def test_unreadable_scenario_files(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = runner.invoke(app, ["roster", "--scenario", str(broken), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "not valid JSON" in result.output
    result = runner.invoke(app, ["roster", "--scenario", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "cannot read" in result.output
