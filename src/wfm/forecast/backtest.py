"""Rolling-origin backtests: accuracy by model, horizon and level, and automatic model choice."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wfm.forecast.history import ForecastInputError, History
from wfm.forecast.models import MODELS, make_model

DEFAULT_HORIZONS = (1, 7, 14, 28)


@dataclass(frozen=True)
class Split:
    """Fit on everything before ``origin``; score the ``horizon_days`` days from it."""

    origin: pd.Timestamp
    horizon_days: int


def rolling_origins(history: History, origins: int = 4, step_days: int = 5, horizon_days: int = 28) -> list[Split]:
    """The last ``origins`` origins, ``step_days`` apart (5 by default, so origins fall on different weekdays), each
    leaving ``horizon_days`` of actuals to score."""
    last_origin = history.dates[-1] + pd.Timedelta(days=1) - pd.Timedelta(days=horizon_days)
    splits = [Split(last_origin - pd.Timedelta(days=step_days * k), horizon_days) for k in range(origins)][::-1]
    if (splits[0].origin - history.dates[0]).days < 28:
        raise ForecastInputError(
            "history",
            f"too short for {origins} backtest origins {step_days} days apart with a {horizon_days}-day horizon",
        )
    return splits


def _mase_scale(values: np.ndarray, lag: int) -> float:
    """In-sample MAE of the seasonal naive with this lag (skipping missing values)."""
    diff = np.abs(values[lag:] - values[:-lag])
    diff = diff[~np.isnan(diff)]
    return float(diff.mean()) if diff.size and diff.mean() > 0 else float("nan")


def accuracy(actual: np.ndarray, forecast: np.ndarray, scale: float) -> dict[str, float]:
    """WAPE, bias (forecast - actual over actual) and MASE over observed values."""
    mask = ~np.isnan(actual)
    a, f = actual[mask], forecast[mask]
    total = a.sum()
    return {
        "wape": float(np.abs(f - a).sum() / total) if total > 0 else float("nan"),
        "bias": float((f - a).sum() / total) if total > 0 else float("nan"),
        "mase": float(np.abs(f - a).mean() / scale) if scale == scale and a.size else float("nan"),
    }


def backtest(
    history: History,
    models: list[str] | None = None,
    *,
    events: pd.DataFrame | None = None,
    country: str | None = "CN",
    origins: int = 4,
    step_days: int = 5,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    extra: dict[str, Callable[[History, int], np.ndarray]] | None = None,
) -> pd.DataFrame:
    """Accuracy per model, horizon (days 1..h after the origin) and level (``interval`` / ``daily``).

    ``extra`` adds outside forecasters (name -> function(train history, horizon days) -> interval means) scored
    on the same splits, for side-by-side comparisons.
    """
    models = list(models or MODELS)
    horizon = max(horizons)
    splits = rolling_origins(history, origins, step_days, horizon)
    per_day = history.per_day
    forecasters: dict[str, Callable[[History, int], np.ndarray]] = {
        name: (lambda train, h, n=name: make_model(n, country).fit(train, events).predict(h)["volume"].to_numpy())
        for name in models
    }
    forecasters.update(extra or {})
    rows = []
    for name, forecaster in forecasters.items():
        for split in splits:
            train = history.before(split.origin)
            started = time.perf_counter()
            predicted = forecaster(train, split.horizon_days)
            seconds = time.perf_counter() - started
            actual = history.between(split.origin, split.origin + pd.Timedelta(days=split.horizon_days))
            actual_values = actual["volume"].to_numpy()
            interval_scale = _mase_scale(train.frame["volume"].to_numpy(), 7 * per_day)
            daily_scale = _mase_scale(train.daily_totals().to_numpy(), 7)
            for h in horizons:
                cut = h * per_day
                a, f = actual_values[:cut], predicted[:cut]
                rows.append(
                    {
                        "model": name,
                        "origin": split.origin,
                        "horizon_days": h,
                        "level": "interval",
                        "fit_predict_s": seconds,
                        **accuracy(a, f, interval_scale),
                    }
                )
                a_day = a.reshape(h, per_day)
                day_missing = np.isnan(a_day).any(axis=1)
                a_daily = np.where(day_missing, np.nan, np.nansum(a_day, axis=1))
                f_daily = f.reshape(h, per_day).sum(axis=1)
                rows.append(
                    {
                        "model": name,
                        "origin": split.origin,
                        "horizon_days": h,
                        "level": "daily",
                        "fit_predict_s": seconds,
                        **accuracy(a_daily, f_daily, daily_scale),
                    }
                )
    detail = pd.DataFrame(rows)
    return detail.groupby(["model", "level", "horizon_days"], as_index=False).agg(
        wape=("wape", "mean"),
        bias=("bias", "mean"),
        mase=("mase", "mean"),
        fit_predict_s=("fit_predict_s", "mean"),
        origins=("origin", "nunique"),
    )


def choose_model(table: pd.DataFrame, max_horizon_days: int = 14) -> str:
    """The model with the lowest mean interval-level WAPE over horizons up to ``max_horizon_days``."""
    scored = table[(table["level"] == "interval") & (table["horizon_days"] <= max_horizon_days)]
    return str(scored.groupby("model")["wape"].mean().idxmin())
