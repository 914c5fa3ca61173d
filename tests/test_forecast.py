"""Forecasting checked against the known process of the generated samples and against the real bank data."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from conftest import shared_path
from typer.testing import CliRunner

from wfm.cli import app
from wfm.forecast import (
    ForecastInputError,
    backtest,
    events_from_frame,
    forecast_demand,
    history_from_frame,
    history_from_records,
    load_events_csv,
    load_history_csv,
    make_model,
)
from wfm.forecast.samples import DRIVER_EFFECTS, HISTORY_DAYS, generate_sample, sample_paths


def _sample(business: str):
    history_path, events_path = sample_paths(business)
    return load_history_csv(history_path), load_events_csv(events_path)


@pytest.mark.parametrize("business", ["call_centre", "spa", "store"])
def test_driver_effects_are_recovered_from_history(business):
    history, events = _sample(business)
    model = make_model("daily_profile").fit(history, events)
    for name, effect in DRIVER_EFFECTS[business].items():
        assert model.driver_effects[f"event_{name}"] == pytest.approx(np.expm1(effect), abs=0.02), name


@pytest.mark.parametrize("business", ["call_centre", "spa", "store"])
def test_forecast_tracks_the_true_rate_and_beats_seasonal_naive(business):
    """Fit on all but the last 28 days; the forecast must sit close to the true (noise-free) rate."""
    sample = generate_sample(business)
    full = history_from_frame(sample.history)
    events = events_from_frame(sample.events)
    origin = full.dates[-28]
    train = full.before(origin)
    truth = sample.truth.set_index("timestamp").loc[origin:, "rate"].to_numpy()
    ours = make_model("daily_profile").fit(train, events).predict(28)["volume"].to_numpy()
    naive = make_model("seasonal_naive").fit(train, events).predict(28)["volume"].to_numpy()
    error_ours = np.abs(ours - truth).sum() / truth.sum()
    error_naive = np.abs(naive - truth).sum() / truth.sum()
    assert error_ours < 0.06, error_ours  # distance to the truth, not to noisy actuals
    assert error_ours < 0.6 * error_naive


def test_quantiles_cover_about_eighty_percent():
    history, events = _sample("store")
    origin = history.dates[-28]
    frame = make_model("daily_profile").fit(history.before(origin), events).predict(28)
    actual = history.between(origin, origin + pd.Timedelta(days=28))["volume"].to_numpy()
    busy = frame["volume"].to_numpy() > 5
    inside = (actual >= frame["volume_p10"].to_numpy()) & (actual <= frame["volume_p90"].to_numpy())
    assert 0.72 <= inside[busy].mean() <= 0.92


def test_handle_time_profile_is_robust_to_outliers():
    sample = generate_sample("call_centre")
    history = history_from_frame(sample.history)
    frame = make_model("historical_average").fit(history).predict(7)
    hours = frame.index.hour
    open_hours = (hours >= 10) & (hours < 18)
    # True AHT is 240 s in the day; 1 % of intervals carry x3 outliers, which a mean would drag up.
    assert frame["aht_s"][open_hours].median() == pytest.approx(240, rel=0.03)


def test_missing_is_not_zero_and_closed_is_zero():
    history, _ = _sample("call_centre")
    outage = history.frame.loc["2025-06-10 10:00":"2025-06-10 11:30", "volume"]
    assert outage.isna().all() and len(outage) == 4
    assert np.isnan(history.daily_totals()[pd.Timestamp("2025-06-10")])
    frame = forecast_demand(history, 7, model="daily_profile").frame
    night = frame[frame["interval_start"].dt.hour < 7]
    assert (night["volume"] == 0).all() and (night["volume_p90"] == 0).all()


def test_auto_choice_picks_the_best_backtested_model():
    history, events = _sample("spa")
    result = forecast_demand(history, 14, events=events)
    assert result.accuracy is not None
    scores = result.accuracy[(result.accuracy["level"] == "interval")].groupby("model")["wape"].mean()
    assert result.model == scores.idxmin() == "daily_profile"
    assert list(result.frame.columns) == ["interval_start", "volume", "aht_s", "volume_p10", "volume_p90"]
    assert len(result.frame) == 14 * 48


def test_contact_records_are_aggregated_as_offered_demand():
    rng = np.random.default_rng(0)
    arrivals = pd.Timestamp("2026-01-05 08:00") + pd.to_timedelta(rng.uniform(0, 15 * 86400, 5000), unit="s")
    records = pd.DataFrame(
        {
            "arrival": arrivals.strftime("%Y-%m-%dT%H:%M:%S"),
            "handle_s": rng.uniform(60, 300, 5000),
            "abandoned": rng.random(5000) < 0.1,
        }
    )
    history = history_from_records(records, interval_min=15)
    assert history.frame["volume"].sum() == 5000  # answered + abandoned
    answered = records[~records["abandoned"]]
    slot = pd.to_datetime(answered["arrival"]).dt.floor("15min")
    expected = answered.groupby(slot)["handle_s"].mean()
    assert np.allclose(history.frame.loc[expected.index, "aht_s"], expected)


def test_time_zone_aware_input_and_dst_fall_back_are_summed():
    stamps = pd.date_range("2026-10-12", "2026-11-02", freq="30min", inclusive="left", tz="Europe/Berlin")
    data = pd.DataFrame({"timestamp": stamps.astype(str), "volume": 1.0})
    history = history_from_frame(data, timezone="Europe/Berlin")
    # 2026-10-25 01:30 +02:00 changes to 02:00 +01:00: the repeated wall-clock hour 02:00-03:00 holds two real hours.
    day = history.frame.loc["2026-10-25"]
    assert day.loc["2026-10-25 02:00", "volume"] == 2 and day["volume"].sum() == 50
    assert len(history.frame) == history.days * 48


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"timestamp": ["2026-01-01T00:00", "yesterday"], "volume": [1, 2]}), "timestamp: row 3"),
        (pd.DataFrame({"timestamp": ["2026-01-01T00:00", "2026-01-01T00:00"], "volume": [1, 2]}), "appears twice"),
        (pd.DataFrame({"timestamp": ["2026-01-01T00:00", "2026-01-01T00:30"], "volume": [1, -2]}), "volume: row 3"),
        (
            pd.DataFrame(
                {"timestamp": pd.date_range("2026-01-01", periods=48 * 5, freq="30min").astype(str), "volume": 1}
            ),
            "at least 14",
        ),
        (
            pd.DataFrame(
                {"timestamp": pd.date_range("2026-01-01", periods=48 * 20, freq="30min").astype(str), "volume": "x"}
            ),
            "volume: row 2",
        ),
    ],
)
def test_bad_history_names_the_row_and_problem(frame, message):
    with pytest.raises(ForecastInputError, match=message):
        history_from_frame(frame)


def test_interval_that_does_not_fit_the_grid_is_rejected():
    history, _ = _sample("store")
    with pytest.raises(ForecastInputError, match="interval_min"):
        history.aggregate(45)
    with pytest.raises(ForecastInputError, match="interval_min"):
        history.aggregate(20)  # does not fit a 30-minute grid


def test_cli_forecast_and_backtest(tmp_path):
    history_path, events_path = sample_paths("store")
    out = tmp_path / "forecast.csv"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "forecast",
            "--history",
            str(history_path),
            "--events",
            str(events_path),
            "--horizon-days",
            "7",
            "--model",
            "daily_profile",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["interval_start", "volume", "aht_s", "volume_p10", "volume_p90"]
    assert frame["interval_start"].iloc[0] == "2026-03-01T00:00:00"
    result = runner.invoke(app, ["backtest", "--history", str(history_path), "--origins", "2", "--json"])
    assert result.exit_code == 0, result.output
    table = pd.read_json(io.StringIO(result.stdout))
    assert {"model", "level", "horizon_days", "wape", "bias", "mase"} <= set(table.columns)
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,volume\n2026-01-01T00:00,1\n")
    result = runner.invoke(app, ["forecast", "--history", str(bad), "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "error: timestamp" in result.output and not (tmp_path / "x.csv").exists()


def test_sample_history_covers_the_documented_span():
    history, events = _sample("call_centre")
    assert history.days == HISTORY_DAYS and events.index[-1] > history.dates[-1]


def test_bank_data_backtest_beats_seasonal_naive():
    calls = shared_path("data", "anonymous_bank_1999", "calls_6min.csv")
    flags = pd.read_csv(calls.parent / "day_flags.csv")
    history = load_history_csv(calls, interval_min=30)
    history = history.mark_missing(pd.to_datetime(flags[flags["kind"].isin(["outage", "imputed"])]["date"]).dt.date)
    table = backtest(history, ["seasonal_naive", "daily_profile"], country="IL", origins=4, horizons=(7, 14))
    wape = table[table["level"] == "interval"].groupby("model")["wape"].mean()
    assert wape["daily_profile"] <= 0.85 * wape["seasonal_naive"]
