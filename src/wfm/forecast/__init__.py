"""Forecasting: demand per interval and handle time from history, with drivers, quantiles and backtests.

The service function ``forecast_demand`` is what the CLI, the pipeline and the API call.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from wfm.forecast.backtest import backtest, choose_model
from wfm.forecast.calendar import day_features, events_from_frame, load_events_csv
from wfm.forecast.history import (
    ForecastInputError,
    History,
    history_from_frame,
    history_from_records,
    load_history_csv,
)
from wfm.forecast.models import DEFAULT_QUANTILES, MODELS, make_model

FORECAST_COLUMNS = ["interval_start", "volume", "aht_s", "volume_p10", "volume_p90"]


@dataclass
class ForecastResult:
    """Interval forecast (``interval_start, volume, aht_s, volume_p10, volume_p90``), the model used and, when the
    model was chosen automatically, the backtest that chose it."""

    frame: pd.DataFrame
    model: str
    accuracy: pd.DataFrame | None = None


def forecast_demand(
    history: History,
    horizon_days: int,
    *,
    model: str = "auto",
    events: pd.DataFrame | None = None,
    country: str | None = "CN",
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
    backtest_origins: int = 3,
) -> ForecastResult:
    """Forecast the next ``horizon_days`` days after the history. ``model='auto'`` picks the model with the
    best backtest WAPE (interval level, horizons up to two weeks) on this history."""
    if horizon_days < 1 or horizon_days > 366:
        raise ForecastInputError("horizon_days", f"must be between 1 and 366, got {horizon_days}")
    accuracy = None
    if model == "auto":
        accuracy = backtest(history, events=events, country=country, origins=backtest_origins, horizons=(1, 7, 14))
        model = choose_model(accuracy)
    fitted = make_model(model, country).fit(history, events)
    frame = fitted.predict(horizon_days, quantiles).reset_index()
    return ForecastResult(frame, model, accuracy)


__all__ = [
    "FORECAST_COLUMNS",
    "MODELS",
    "ForecastInputError",
    "ForecastResult",
    "History",
    "backtest",
    "choose_model",
    "day_features",
    "events_from_frame",
    "forecast_demand",
    "history_from_frame",
    "history_from_records",
    "load_events_csv",
    "load_history_csv",
    "make_model",
]
