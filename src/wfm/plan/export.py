"""Writing a plan's files: roster.csv / .xlsx, coverage.csv, kpis.csv, summary.json, scenario.json, report.html.

Files are written into a temporary folder beside DIR and moved in one by one only when all are complete, so
an interrupted run never leaves a half-written set.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from wfm.plan.pipeline import PlanResult
from wfm.plan.report import build_report
from wfm.roster import Scenario
from wfm.roster.io import summary_of
from wfm.roster.model import employee_rules, site_rules


def roster_grid(scenario: Scenario, roster: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per week: employees as rows, dates as columns, cells ``HH:MM-HH:MM skill`` or ``rest`` (as printed)."""
    cells: dict[tuple[str, str], str] = {}
    for row in roster.itertuples():
        start, end = dt.datetime.fromisoformat(row.start), dt.datetime.fromisoformat(row.end)
        text = f"{start:%H:%M}-{end:%H:%M} {row.skill}".strip()
        if row.breaks:
            text += f" (break {row.breaks})"
        if row.activities:
            text += f" ({row.activities})"
        cells[row.employee_id, row.date] = text
    weeks: dict[str, pd.DataFrame] = {}
    dates = scenario.dates
    for first in range(0, len(dates), 7):
        week = dates[first : first + 7]
        table = pd.DataFrame(
            {
                f"{d:%a %d %b}": [
                    cells.get((e.id, d.isoformat()), "leave" if d in e.days_off else "rest")
                    for e in scenario.employees
                ]
                for d in week
            },
            index=pd.Index([f"{e.id} {e.name}".strip() for e in scenario.employees], name="employee"),
        )
        weeks[f"Week of {week[0]:%Y-%m-%d}"] = table
    return weeks


def write_roster_xlsx(scenario: Scenario, roster: pd.DataFrame, path: str | Path) -> None:
    """The roster as planners print it: one sheet per week (see ``roster_grid``)."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for sheet, table in roster_grid(scenario, roster).items():
            table.to_excel(writer, sheet_name=sheet[:31])


def effective_scenario(scenario: Scenario) -> dict:
    """The scenario with every default filled in, plus the rules in force for the site and each employee."""
    data = scenario.model_dump(mode="json")
    data["effective_rules"] = {
        "site": site_rules(scenario).model_dump(mode="json"),
        "employees": {e.id: employee_rules(scenario, e).model_dump(mode="json") for e in scenario.employees},
    }
    return data


def write_plan_outputs(result: PlanResult, out_dir: str | Path) -> list[Path]:
    """Write every output file into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".wfm-", dir=out))
    try:
        result.roster.roster.drop(columns=["template"]).to_csv(staging / "roster.csv", index=False)
        result.roster.coverage.to_csv(staging / "coverage.csv", index=False)
        kpis = result.kpis.copy()
        kpis["interval_start"] = pd.to_datetime(kpis["interval_start"]).dt.strftime("%Y-%m-%dT%H:%M")
        kpis.to_csv(staging / "kpis.csv", index=False, float_format="%.4f")
        write_roster_xlsx(result.scenario, result.roster.roster, staging / "roster.xlsx")
        summary = summary_of(result.roster, result.violations)
        summary["timings_s"] = {k: round(v, 2) for k, v in result.timings_s.items()}
        summary["forecast_models"] = {name: f.model for name, f in result.forecasts.items()}
        (staging / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        (staging / "scenario.json").write_text(json.dumps(effective_scenario(result.scenario), indent=1))
        (staging / "report.html").write_text(build_report(result))
        written = []
        for path in sorted(staging.iterdir()):
            target = out / path.name
            path.replace(target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
