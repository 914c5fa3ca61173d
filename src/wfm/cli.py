"""The ``wfm`` command line: a thin shell over the service functions of each pipeline stage."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from wfm.erlang import ServiceTargets, StaffingInputError, erlang_b, lines_for_blocking, required_agents
from wfm.erlang.intervals_io import STAFF_COLUMNS, read_intervals_csv, write_csv_atomically
from wfm.roster import Progress, RosterResult, SolveSettings, solve_roster
from wfm.roster.io import ScenarioError, load_scenario, read_roster_csv, write_roster_outputs
from wfm.roster.validate import validate_roster

app = typer.Typer(help="wfm: forecast -> staffing (Erlang) -> roster -> report.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


# Shared target options of `erlang` and `staff`.
SlOpt = Annotated[float, typer.Option("--sl", help="Service level target (0 = none), e.g. 0.8 for 80/20.")]
AnswerOpt = Annotated[float, typer.Option("--answer-s", help="Answer-time threshold of the service level, s.")]
PatienceOpt = Annotated[
    float | None,
    typer.Option("--patience-s", help="Mean caller patience, s: selects Erlang A. Omit for Erlang C."),
]
OccOpt = Annotated[float | None, typer.Option("--max-occupancy", help="Maximum occupancy, e.g. 0.85.")]
AbandonOpt = Annotated[float | None, typer.Option("--max-abandon", help="Maximum abandonment rate (Erlang A).")]
AsaOpt = Annotated[float | None, typer.Option("--asa-s", help="Maximum average speed of answer, s.")]
ShrinkOpt = Annotated[float, typer.Option("--shrinkage", help="Share of paid time off the phones, e.g. 0.3.")]
ShortOpt = Annotated[
    float, typer.Option("--short-abandon-s", help="Abandons within this many seconds are short abandons.")
]
ExclShortOpt = Annotated[
    bool, typer.Option("--sl-excludes-short-abandons", help="Take short abandons out of the service level.")
]


def _targets(
    sl: float,
    answer_s: float,
    asa_s: float | None,
    max_occupancy: float | None,
    max_abandon: float | None,
    shrinkage: float,
    short_abandon_s: float,
    sl_excludes_short_abandons: bool,
) -> ServiceTargets:
    return ServiceTargets(
        service_level=sl if sl > 0 else None,
        answer_s=answer_s,
        asa_s=asa_s,
        max_occupancy=max_occupancy,
        max_abandon=max_abandon,
        shrinkage=shrinkage,
        short_abandon_s=short_abandon_s,
        sl_excludes_short_abandons=sl_excludes_short_abandons,
    )


def _json_number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@app.command()
def erlang(
    volume: Annotated[float, typer.Option(help="Contacts offered in the interval.")],
    aht_s: Annotated[float, typer.Option("--aht-s", help="Average handle time, s (talk + hold + after-call work).")],
    interval_min: Annotated[float, typer.Option("--interval-min", help="Interval length, minutes.")] = 30.0,
    sl: SlOpt = 0.8,
    answer_s: AnswerOpt = 20.0,
    patience_s: PatienceOpt = None,
    max_occupancy: OccOpt = None,
    max_abandon: AbandonOpt = None,
    asa_s: AsaOpt = None,
    shrinkage: ShrinkOpt = 0.0,
    short_abandon_s: ShortOpt = 0.0,
    sl_excludes_short_abandons: ExclShortOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Required agents for one interval, and every figure they achieve."""
    try:
        targets = _targets(
            sl,
            answer_s,
            asa_s,
            max_occupancy,
            max_abandon,
            shrinkage,
            short_abandon_s,
            sl_excludes_short_abandons,
        )
        row = required_agents(
            volume=[volume],
            aht_s=[aht_s],
            patience_s=None if patience_s is None else [patience_s],
            interval_min=interval_min,
            targets=targets,
        ).iloc[0]
    except StaffingInputError as exc:
        raise _fail(str(exc)) from None
    result = {
        "agents": int(row["agents"]),
        "scheduled": int(row["scheduled"]),
        "service_level": _json_number(row["service_level"]),
        "asa_s": _json_number(row["asa_s"]),
        "p_wait": _json_number(row["p_wait"]),
        "p_abandon": _json_number(row["p_abandon"]),
        "occupancy": _json_number(row["occupancy"]),
    }
    if as_json:
        typer.echo(json.dumps(result))
        return
    model = "Erlang C" if patience_s is None else f"Erlang A (mean patience {patience_s:g} s)"
    table = Table(
        title=f"{volume:g} contacts in {interval_min:g} min, AHT {aht_s:g} s: {row['load_erl']:.2f} Erlangs, {model}"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("required agents", str(result["agents"]))
    table.add_row(f"scheduled agents (shrinkage {shrinkage:.0%})", str(result["scheduled"]))
    table.add_row(f"service level ({answer_s:g} s)", f"{row['service_level']:.4f}")
    table.add_row("ASA of answered, s", f"{row['asa_s']:.2f}")
    table.add_row("probability of waiting", f"{row['p_wait']:.4f}")
    table.add_row("abandonment rate", f"{row['p_abandon']:.4f}")
    table.add_row("occupancy", f"{row['occupancy']:.4f}")
    console.print(table)


@app.command()
def staff(
    intervals: Annotated[Path, typer.Option(help="CSV with interval_start,volume,aht_s[,patience_s].")],
    out: Annotated[Path, typer.Option(help="Output CSV.")],
    interval_min: Annotated[
        float | None,
        typer.Option("--interval-min", help="Interval length, minutes (default: from the file)."),
    ] = None,
    sl: SlOpt = 0.8,
    answer_s: AnswerOpt = 20.0,
    patience_s: PatienceOpt = None,
    max_occupancy: OccOpt = None,
    max_abandon: AbandonOpt = None,
    asa_s: AsaOpt = None,
    shrinkage: ShrinkOpt = 0.0,
    short_abandon_s: ShortOpt = 0.0,
    sl_excludes_short_abandons: ExclShortOpt = False,
) -> None:
    """Required and scheduled agents for every interval of a file."""
    try:
        targets = _targets(
            sl,
            answer_s,
            asa_s,
            max_occupancy,
            max_abandon,
            shrinkage,
            short_abandon_s,
            sl_excludes_short_abandons,
        )
        frame = read_intervals_csv(intervals)
        if patience_s is not None and "patience_s" not in frame.columns:
            frame["patience_s"] = patience_s
        interval_min = interval_min or _interval_minutes(frame["interval_start"])
        result = required_agents(frame.set_index("interval_start"), interval_min=interval_min, targets=targets)
    except StaffingInputError as exc:
        raise _fail(str(exc)) from None
    result = result.reset_index()
    write_csv_atomically(result[STAFF_COLUMNS], out)
    console.print(
        f"{len(result)} intervals, peak {result['agents'].max()} agents ({result['scheduled'].max()} scheduled), "
        f"{result['agents'].sum() * interval_min / 60:.1f} agent-hours required -> {out}"
    )


def _interval_minutes(starts: pd.Series) -> float:
    steps = starts.sort_values().diff().dropna()
    if steps.empty:
        raise StaffingInputError("interval_min", "cannot be inferred from a single interval; pass --interval-min")
    return float(steps.min().total_seconds() / 60.0)


@app.command()
def lines(
    volume: Annotated[float, typer.Option(help="Calls offered in the interval.")],
    aht_s: Annotated[float, typer.Option("--aht-s", help="Average line holding time, s.")],
    interval_min: Annotated[float, typer.Option("--interval-min", help="Interval length, minutes.")] = 60.0,
    max_blocking: Annotated[float, typer.Option("--max-blocking", help="Busy-signal rate target.")] = 0.01,
) -> None:
    """Trunk lines needed for a busy-signal (blocking) target, by Erlang B."""
    if volume < 0 or aht_s <= 0 or interval_min <= 0:
        raise _fail("volume must be >= 0, aht_s and interval_min above 0")
    try:
        load = volume * aht_s / (interval_min * 60)
        needed = int(lines_for_blocking(np.array([load]), max_blocking)[0])
    except ValueError as exc:
        raise _fail(str(exc)) from None
    blocking = float(erlang_b(needed, load))
    console.print(f"{load:.2f} Erlangs: {needed} lines give a busy-signal rate of {blocking:.4%}")


# ----- plan / demo: the whole pipeline -------------------------------------------------------------------
def _run_plan_command(plan, out: Path, start, weeks, time_limit: float, workers: int | None) -> None:
    """Shared by ``plan`` and ``demo``: run the stages with a progress display, write the files, summarise."""
    from wfm.plan import run_plan, write_plan_outputs
    from wfm.plan.evaluate import overall_service_level
    from wfm.plan.pipeline import STAGES

    settings = SolveSettings(time_limit_s=time_limit, num_workers=workers)
    roster_stage = STAGES.index("roster") + 1
    with console.status("starting") as status:
        def on_stage(name: str) -> None:
            number = STAGES.index(name) + 1
            status.update(f"[{number}/{len(STAGES)}] {name}")

        def on_progress(progress: Progress) -> None:
            bound = f"{progress.bound:,.0f}" if math.isfinite(progress.bound) else "-"
            status.update(
                f"[{roster_stage}/{len(STAGES)}] roster: objective {progress.objective:,.0f}, bound {bound}, "
                f"{progress.elapsed_s:.0f} s of {time_limit:.0f}"
            )

        try:
            result = run_plan(plan, start=start, weeks=weeks, settings=settings, on_stage=on_stage,
                              progress=on_progress)
        except (ScenarioError, ValueError) as exc:
            raise _fail(str(exc)) from None
        status.update("writing the report")
        write_plan_outputs(result, out)
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings_s.items())
    console.print(f"[bold]{result.scenario.site.name}[/]: {result.scenario.start_date} + {result.scenario.days} days "
                  f"({timings})")
    console.print("forecast: " + ", ".join(f"{k} by {v.model}" for k, v in result.forecasts.items()))
    _print_roster_summary(result.roster, result.violations)
    levels = overall_service_level(result.kpis)
    if levels is not None:
        console.print(f"delivered service level {levels[0]:.1%} (Erlang), {levels[1]:.1%} (simulated)")
    console.print(f"-> report: {(out / 'report.html').resolve()}")
    console.print(f"   files: {out}/roster.csv, roster.xlsx, coverage.csv, kpis.csv, scenario.json, summary.json")


DateOpt = Annotated[str | None, typer.Option(help="First date of the roster (YYYY-MM-DD); default: the file's.")]
WeeksOpt = Annotated[int | None, typer.Option(help="Weeks to roster; default: the file's days.")]


def _date(value: str | None):
    if value is None:
        return None
    try:
        return pd.Timestamp(value).date()
    except ValueError:
        raise _fail(f"--start: {value!r} is not a date (YYYY-MM-DD)") from None


@app.command()
def plan(
    scenario: Annotated[Path, typer.Option(help="Plan file: a roster scenario with 'sources' and 'demand'.")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    history: Annotated[Path | None, typer.Option(help="History CSV replacing the first source's.")] = None,
    start: DateOpt = None,
    weeks: WeeksOpt = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Roster solver time limit, s.")] = 60.0,
    workers: Annotated[int | None, typer.Option(help="CP-SAT workers (default: all cores).")] = None,
) -> None:
    """Forecast -> required staff -> roster -> evaluation -> report, for a plan file."""
    from wfm.plan import load_plan

    try:
        loaded = load_plan(scenario, history)
    except ScenarioError as exc:
        raise _fail(str(exc)) from None
    _run_plan_command(loaded, out, _date(start), weeks, time_limit, workers)


@app.command()
def demo(
    business: Annotated[str, typer.Option(help="call_centre, spa or store.")] = "call_centre",
    out: Annotated[Path | None, typer.Option(help="Output folder (default: wfm-demo/<business>).")] = None,
    weeks: WeeksOpt = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Roster solver time limit, s.")] = 45.0,
    workers: Annotated[int | None, typer.Option(help="CP-SAT workers (default: all cores).")] = None,
) -> None:
    """The main job on the embedded sample data: a month's plan for a call centre (or a spa or a store)."""
    from wfm.plan import load_plan, plan_path

    try:
        path = plan_path(business)
    except ValueError as exc:
        raise _fail(f"--business: {exc}") from None
    _run_plan_command(load_plan(path), out or Path("wfm-demo") / business, None, weeks, time_limit, workers)


# ----- roster ---------------------------------------------------------------------------------------------
def _progress_printer(status) -> Callable[[Progress], None]:
    def report(progress: Progress) -> None:
        status.update(
            f"solving: objective {progress.objective:,.0f}, bound {progress.bound:,.0f}, {progress.elapsed_s:.1f} s"
        )

    return report


@app.command()
def roster(
    scenario: Annotated[Path, typer.Option(help="Scenario file (JSON or YAML).")],
    out: Annotated[Path, typer.Option(help="Output folder for roster.csv, coverage.csv, summary.json.")],
    time_limit: Annotated[float, typer.Option("--time-limit", help="Solver time limit, s.")] = 30.0,
    workers: Annotated[int | None, typer.Option(help="CP-SAT workers (default: all cores).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    gap: Annotated[float, typer.Option(help="Stop at this relative gap.")] = 0.0,
) -> None:
    """Assign named employees to shifts and rest days, against the scenario's requirement."""
    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        raise _fail(str(exc)) from None
    settings = SolveSettings(time_limit_s=time_limit, num_workers=workers, seed=seed, relative_gap=gap)
    with console.status("building the model") as status:
        result = solve_roster(loaded, settings, progress=_progress_printer(status))
    violations = validate_roster(loaded, result.roster)
    write_roster_outputs(result, violations, out)
    _print_roster_summary(result, violations)
    console.print(f"-> {out}/roster.csv, coverage.csv, summary.json")
    if result.objective is None:
        raise typer.Exit(code=1)


def _print_roster_summary(result: RosterResult, violations: list) -> None:
    gap = f"{result.gap:.2%}" if result.gap is not None else "-"
    console.print(
        f"[bold]{result.status}[/]: {len(result.roster)} shifts, objective {result.objective or 0:,.0f} "
        f"(bound {result.bound or 0:,.0f}, gap {gap}), {result.stats.get('wall_time_s', 0):.1f} s"
    )
    for name, value in sorted(result.breakdown.items(), key=lambda item: -item[1]):
        if value:
            console.print(f"  {name:<28}{value:>12,}")
    unmet = result.unmet_demand
    if len(unmet):
        console.print(f"unmet demand: {unmet['missing'].sum():g} person-intervals in {len(unmet)} intervals")
    for conflict in result.conflicts:
        console.print(f"[yellow]conflict:[/] {conflict.message}")
    console.print(f"rule check: {len(violations)} violation(s)" if violations else "rule check: no violations")


@app.command()
def validate(
    scenario: Annotated[Path, typer.Option(help="Scenario file (JSON or YAML).")],
    roster_file: Annotated[Path, typer.Option("--roster", help="roster.csv to check.")],
) -> None:
    """Check a roster (made by wfm or by hand) against every rule of the scenario."""
    try:
        loaded = load_scenario(scenario)
        table = read_roster_csv(roster_file)
    except ScenarioError as exc:
        raise _fail(str(exc)) from None
    violations = validate_roster(loaded, table)
    if not violations:
        console.print(f"{len(table)} shifts: no violations")
        return
    out = Table(title=f"{len(violations)} violation(s)")
    for column in ("employee", "date", "rule", "problem"):
        out.add_column(column)
    for v in violations:
        out.add_row(v.employee_id, v.date, v.rule, v.message)
    console.print(out)
    raise typer.Exit(code=1)


bench_app = typer.Typer(help="Public benchmarks.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("curtois")
def bench_curtois(
    instance: Annotated[Path, typer.Argument(help="InstanceN.txt of the Curtois & Qu benchmark.")],
    time_limit: Annotated[float, typer.Option("--time-limit", help="Solver time limit, s.")] = 60.0,
    workers: Annotated[int | None, typer.Option(help="CP-SAT workers (default: all cores).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    solution: Annotated[Path | None, typer.Option(help="Write the solution CSV employee,day,shift here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Solve one Curtois & Qu instance with the roster engine; the objective is recomputed independently."""
    from wfm.benchmarks.curtois import InstanceFormatError, solve_instance

    try:
        run = solve_instance(instance, time_limit_s=time_limit, workers=workers, seed=seed)
    except (InstanceFormatError, OSError) as exc:
        raise _fail(str(exc)) from None
    if solution is not None:
        write_csv_atomically(run.solution, solution)
    if as_json:
        typer.echo(json.dumps(run.summary()))
    else:
        summary = run.summary()
        console.print(
            f"{summary['instance']}: objective {summary['objective']} (bound {summary['bound']}), "
            f"{summary['status']}, first solution {summary['first_solution_s']:.2f} s, "
            f"total {summary['time_s']:.1f} s, hard violations {summary['violations']}"
        )
    if run.evaluation.violations:
        raise typer.Exit(code=1)


# ----- forecast -------------------------------------------------------------------------------------------
def _load_forecast_inputs(
    history: Path, interval_min: int | None, events: Path | None, timezone: str | None, missing_dates: str | None
):
    from wfm.forecast import load_events_csv, load_history_csv

    loaded = load_history_csv(history, interval_min=interval_min, timezone=timezone)
    if missing_dates:
        loaded = loaded.mark_missing(pd.to_datetime(missing_dates.split(",")).date)
    return loaded, (load_events_csv(events) if events else None)


HistoryOpt = Annotated[Path, typer.Option(help="History CSV: timestamp,volume[,aht_s] per interval.")]
IntervalOpt = Annotated[int | None, typer.Option("--interval-min", help="Forecast interval (default: the data's).")]
EventsOpt = Annotated[Path | None, typer.Option(help="Daily drivers CSV: date,<driver>,... (history and future).")]
CountryOpt = Annotated[str, typer.Option(help="Holiday calendar country code ('' for none).")]
TzOpt = Annotated[str | None, typer.Option(help="Site time zone for time-zone aware timestamps.")]
MissingOpt = Annotated[str | None, typer.Option("--missing-dates", help="Comma-separated dates to treat as missing.")]


@app.command()
def forecast(
    history: HistoryOpt,
    out: Annotated[Path, typer.Option(help="Output CSV.")],
    horizon_days: Annotated[int, typer.Option("--horizon-days", help="Days to forecast.")] = 28,
    interval_min: IntervalOpt = None,
    model: Annotated[str, typer.Option(help="auto, daily_profile, historical_average or seasonal_naive.")] = "auto",
    events: EventsOpt = None,
    country: CountryOpt = "CN",
    timezone: TzOpt = None,
    missing_dates: MissingOpt = None,
) -> None:
    """Forecast volume and handle time per interval, with p10/p90 quantiles."""
    from wfm.forecast import FORECAST_COLUMNS, ForecastInputError, forecast_demand

    try:
        loaded, drivers = _load_forecast_inputs(history, interval_min, events, timezone, missing_dates)
        with console.status("forecasting"):
            result = forecast_demand(loaded, horizon_days, model=model, events=drivers, country=country or None)
    except ForecastInputError as exc:
        raise _fail(str(exc)) from None
    write_csv_atomically(result.frame[FORECAST_COLUMNS], out)
    daily = result.frame.groupby(result.frame["interval_start"].dt.date)["volume"].sum()
    console.print(
        f"model {result.model}: {horizon_days} days x {loaded.per_day} intervals, {daily.mean():,.0f} a day on "
        f"average (from {daily.index[0]}) -> {out}"
    )


@app.command("backtest")
def backtest_command(
    history: HistoryOpt,
    interval_min: IntervalOpt = None,
    events: EventsOpt = None,
    country: CountryOpt = "CN",
    timezone: TzOpt = None,
    missing_dates: MissingOpt = None,
    origins: Annotated[int, typer.Option(help="Rolling origins.")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON records.")] = False,
) -> None:
    """Rolling-origin accuracy (WAPE, bias, MASE) per model, horizon and level."""
    from wfm.forecast import ForecastInputError, backtest, choose_model

    try:
        loaded, drivers = _load_forecast_inputs(history, interval_min, events, timezone, missing_dates)
        with console.status("backtesting"):
            table = backtest(loaded, events=drivers, country=country or None, origins=origins)
    except ForecastInputError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(table.to_json(orient="records"))
        return
    out = Table(title=f"Backtest: {origins} origins, {loaded.interval_min}-min intervals (best: {choose_model(table)})")
    for column in ("model", "level", "horizon days", "WAPE", "bias", "MASE", "fit+predict s"):
        out.add_column(column, justify="right")
    for row in table.itertuples():
        out.add_row(
            row.model,
            row.level,
            str(row.horizon_days),
            f"{row.wape:.3f}",
            f"{row.bias:+.3f}",
            f"{row.mase:.3f}",
            f"{row.fit_predict_s:.2f}",
        )
    console.print(out)


if __name__ == "__main__":
    app()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Run the HTTP API (database from WFM_DATABASE_URL, default SQLite wfm.db; docs at /docs)."""
    import uvicorn
    from wfm_api.main import create_app

    uvicorn.run(create_app(), host=host, port=port)


apikey_app = typer.Typer(help="API keys of the HTTP API.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
def apikey_create(
    site: Annotated[list[str], typer.Option(help="Site id the key may use (repeat for several).")],
    label: Annotated[str, typer.Option(help="Who the key is for.")] = "",
) -> None:
    """Create an API key for the given sites and print it (it is stored hashed: keep it now)."""
    from wfm_api.db import make_engine, migrate, session_factory
    from wfm_api.schemas import SITE_ID_PATTERN
    from wfm_api.security import create_api_key
    from wfm_api.settings import Settings

    bad = [s for s in site if not re.fullmatch(SITE_ID_PATTERN, s)]
    if bad:
        raise _fail(f"--site: {bad[0]!r} is not a site id (letters, digits, _ . -; at most 64)")
    engine = make_engine(Settings().database_url)
    migrate(engine)
    with session_factory(engine)() as session:
        key = create_api_key(session, site, label)
    engine.dispose()
    typer.echo(key)
