"""The planner's report: one self-contained HTML file (plotly.js inlined, works offline)."""

from __future__ import annotations

import datetime as dt
import html

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from wfm.plan.evaluate import overall_service_level
from wfm.plan.pipeline import PlanResult
from wfm.roster.model import employee_rules
from wfm.roster.tables import break_span
from wfm.roster.validate import Violation

# Rules the validator checks on every roster, besides the contract rules that are set.
_STRUCTURAL_RULES = ["one_shift_per_day", "days_off", "time_off", "pinned", "breaks", "allowed_templates"]


def _figure_html(figure: go.Figure, div_id: str) -> str:
    figure.update_layout(margin={"l": 60, "r": 20, "t": 50, "b": 40}, template="plotly_white")
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id)


def forecast_figure(result: PlanResult) -> go.Figure:
    figure = go.Figure()
    for name, history in result.histories.items():
        past = history.frame["volume"].iloc[-28 * history.per_day :]
        figure.add_scatter(x=past.index.tz_localize(None) if past.index.tz else past.index, y=past.to_numpy(),
                           name=f"{name}: history", line={"color": "#555"})
        frame = result.forecasts[name].frame
        stamps = pd.to_datetime(frame["interval_start"]).dt.tz_localize(None)
        figure.add_scatter(x=stamps, y=frame["volume_p90"], line={"width": 0}, showlegend=False, hoverinfo="skip")
        figure.add_scatter(x=stamps, y=frame["volume_p10"], fill="tonexty", line={"width": 0},
                           fillcolor="rgba(31,119,180,0.2)", name=f"{name}: p10-p90")
        figure.add_scatter(x=stamps, y=frame["volume"], name=f"{name}: forecast ({result.forecasts[name].model})",
                           line={"color": "#1f77b4"})
    figure.update_layout(title="History (last 4 weeks) and forecast per interval", yaxis_title="arrivals")
    return figure


def coverage_figure(result: PlanResult) -> go.Figure:
    kpis = result.kpis
    skills = list(dict.fromkeys(kpis["skill"]))
    figure = make_subplots(rows=len(skills), cols=1, shared_xaxes=True, subplot_titles=skills, vertical_spacing=0.06)
    for i, skill in enumerate(skills, start=1):
        rows = kpis[kpis["skill"] == skill]
        x = pd.to_datetime(rows["interval_start"])
        gap = rows["scheduled"] - rows["required"].map(lambda v: -(-v // 1))
        figure.add_bar(x=x, y=gap.clip(upper=0), marker_color="#d62728", name="under", showlegend=i == 1, row=i, col=1)
        figure.add_bar(x=x, y=gap.clip(lower=0), marker_color="#bbbbbb", name="over", showlegend=i == 1, row=i, col=1)
        figure.add_scatter(x=x, y=rows["required"], line={"shape": "hv", "color": "#000"}, name="required",
                           showlegend=i == 1, row=i, col=1)
        figure.add_scatter(x=x, y=rows["scheduled"], line={"shape": "hv", "color": "#2ca02c"}, name="scheduled",
                           showlegend=i == 1, row=i, col=1)
    figure.update_layout(title="Required against scheduled staff per interval (bars: under / over)",
                         barmode="relative", height=260 * len(skills) + 80)
    return figure


def timeline_figure(result: PlanResult) -> go.Figure:
    roster = result.roster.roster
    figure = go.Figure()
    names = {e.id: f"{e.id} {e.name}".strip() for e in result.scenario.employees}
    for skill, rows in roster.groupby("skill"):
        starts = pd.to_datetime(rows["start"])
        ends = pd.to_datetime(rows["end"])
        figure.add_bar(
            base=starts, x=(ends - starts).dt.total_seconds() * 1000, y=rows["employee_id"].map(names),
            orientation="h", name=f"shift: {skill or 'no skill'}",
            hovertext=rows["start"].str[11:] + "-" + rows["end"].str[11:] + " " + rows["breaks"].fillna("")
            + " " + rows["activities"].fillna(""),
        )
    blocks: dict[str, list] = {"break": [], "activity": []}
    for row in roster.itertuples():
        start = dt.datetime.fromisoformat(row.start)
        for span in filter(None, str(row.breaks or "").split(";")):
            blocks["break"].append((names[row.employee_id], *break_span(span, start)))
        for entry in filter(None, str(row.activities or "").split(";")):
            blocks["activity"].append((names[row.employee_id], *break_span(entry.split()[-1], start)))
    for name, colour in (("break", "#222"), ("activity", "#e69f00")):
        if blocks[name]:
            frame = pd.DataFrame(blocks[name], columns=["employee", "start", "end"])
            figure.add_bar(base=frame["start"], x=(frame["end"] - frame["start"]).dt.total_seconds() * 1000,
                           y=frame["employee"], orientation="h", name=f"{name} (off the queue)" if name != "break"
                           else name, marker_color=colour)
    figure.update_layout(title="Roster per employee (gaps are rest days)", barmode="overlay", xaxis_type="date",
                         height=max(400, 18 * len(names) + 120), yaxis={"autorange": "reversed"})
    return figure


def service_figure(result: PlanResult) -> go.Figure:
    kpis = result.kpis.dropna(subset=["service_level"])
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True,
                           subplot_titles=["service level", "ASA (s)", "abandonment"], vertical_spacing=0.07)
    for skill, rows in kpis.groupby("skill"):
        x = pd.to_datetime(rows["interval_start"])
        for r, column in enumerate(("service_level", "asa_s", "p_abandon"), start=1):
            figure.add_scatter(x=x, y=rows[column], name=f"{skill} Erlang", row=r, col=1, showlegend=r == 1,
                               line={"width": 1})
            figure.add_scatter(x=x, y=rows[f"sim_{column}"], name=f"{skill} simulated", row=r, col=1,
                               showlegend=r == 1, line={"width": 1, "dash": "dot"})
    for spec in result.specs:
        if spec.targets.service_level is not None:
            figure.add_hline(y=spec.targets.service_level, line_dash="dash", line_color="#d62728", row=1, col=1)
    figure.update_layout(title="Delivered service per interval against the target", height=720)
    return figure


def hours_figure(result: PlanResult) -> go.Figure:
    scenario = result.scenario
    roster = result.roster.roster
    paid = roster.groupby("employee_id")["paid_minutes"].sum() / 60 if not roster.empty else pd.Series(dtype=float)
    ids = [e.id for e in scenario.employees]
    hours = [float(paid.get(i, 0.0)) for i in ids]
    standard = []
    for e in scenario.employees:
        rules = employee_rules(scenario, e)
        weekly = rules.max_minutes_per_week or rules.standard_minutes_per_week
        standard.append((weekly or 0) / 60 * scenario.days / 7)
    cost = [h * e.hourly_cost for h, e in zip(hours, scenario.employees, strict=True)]
    figure = go.Figure()
    figure.add_bar(x=ids, y=hours, name="paid hours", hovertext=[f"cost {c:,.0f}" for c in cost])
    figure.add_scatter(x=ids, y=standard, mode="markers", name="contract hours", marker={"symbol": "line-ew-open",
                                                                                          "size": 14})
    figure.update_layout(title=f"Paid hours per employee against contract (total cost {sum(cost):,.0f})")
    return figure


def fairness_table(result: PlanResult) -> pd.DataFrame:
    scenario = result.scenario
    roster = result.roster.roster
    rows = []
    for e in scenario.employees:
        mine = roster[roster["employee_id"] == e.id]
        dates = pd.to_datetime(mine["date"])
        starts = pd.to_datetime(mine["start"])
        rows.append({
            "employee": e.id,
            "shifts": len(mine),
            "weekend days": int((dates.dt.weekday >= 5).sum()),
            "late starts (12:00+)": int((starts.dt.hour >= 12).sum()),
            "paid hours": float(mine["paid_minutes"].sum() / 60),
        })
    return pd.DataFrame(rows)


def rule_check(result: PlanResult) -> pd.DataFrame:
    """Every rule in force, with pass/fail and the violation count from the independent validator."""
    scenario = result.scenario
    rules: set[str] = set(_STRUCTURAL_RULES)
    for e in scenario.employees:
        rules.update(k for k, v in employee_rules(scenario, e).model_dump().items()
                     if v is not None and k not in ("weekend_days", "night_start", "night_end", "edge_runs_exempt"))
    counts = pd.Series([v.rule for v in result.violations]).value_counts()
    rules.update(counts.index)
    return pd.DataFrame(
        [{"rule": r, "result": "pass" if counts.get(r, 0) == 0 else "FAIL", "violations": int(counts.get(r, 0))}
         for r in sorted(rules)]
    )


def _table_html(frame: pd.DataFrame, limit: int = 300) -> str:
    return frame.head(limit).to_html(index=False, classes="table", border=0, float_format=lambda v: f"{v:,.2f}")


def _violations_html(violations: list[Violation]) -> str:
    if not violations:
        return "<p>No violations: every rule holds.</p>"
    frame = pd.DataFrame([v.__dict__ for v in violations])
    return _table_html(frame)


def build_report(result: PlanResult) -> str:
    """The report as one HTML string."""
    scenario = result.scenario
    roster = result.roster
    levels = overall_service_level(result.kpis)
    overall = ""
    if levels is not None:
        overall = f"<li>Service level over the horizon: {levels[0]:.1%} (Erlang), {levels[1]:.1%} (simulated)</li>"
    short = roster.unmet_demand
    unmet_h = float(short["missing"].sum()) * scenario.site.interval_min / 60 if not short.empty else 0.0
    conflicts = "".join(f"<li>{html.escape(c.message)}</li>" for c in roster.conflicts)
    figures = [
        ("forecast", forecast_figure(result)),
        ("coverage", coverage_figure(result)),
        ("roster", timeline_figure(result)),
        ("service", service_figure(result)),
        ("hours", hours_figure(result)),
    ]
    body = "\n".join(f"<section>{_figure_html(fig, f'fig-{name}')}</section>" for name, fig in figures)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>wfm plan: {html.escape(scenario.site.name)}</title>
<script type="text/javascript">{get_plotlyjs()}</script>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}} .table td,.table th{{padding:2px 8px;
text-align:right}} .table{{border-collapse:collapse;font-size:13px}} tr:nth-child(even){{background:#f4f4f4}}</style>
</head><body>
<h1>{html.escape(scenario.site.name)}: plan {scenario.start_date} to {scenario.dates[-1]}</h1>
<ul>
<li>Roster: {html.escape(roster.status)}, objective {roster.objective}, {len(roster.roster)} shifts for
{len(scenario.employees)} people</li>
<li>Unmet demand: {unmet_h:.1f} person-hours in {len(short)} interval(s)</li>
{overall}
<li>Rule violations (independent validator): {len(result.violations)}</li>
<li>Forecast models: {html.escape(", ".join(f"{k}: {v.model}" for k, v in result.forecasts.items()))}</li>
</ul>
{f"<h2>Rules that clash</h2><ul>{conflicts}</ul>" if conflicts else ""}
{body}
<section><h2>Rule check</h2>{_table_html(rule_check(result))}{_violations_html(result.violations)}</section>
<section><h2>Fairness</h2>{_table_html(fairness_table(result))}</section>
<section><h2>Daily service</h2>{_table_html(result.daily)}</section>
</body></html>"""
