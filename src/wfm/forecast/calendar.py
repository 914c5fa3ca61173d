"""Daily drivers: weekday, public holidays (the ``holidays`` package, PRC by default), holiday eves, and event
regressors given as a daily file (advertising per medium, campaigns, promotions, reservations)."""

from __future__ import annotations

from pathlib import Path

import holidays
import numpy as np
import pandas as pd

from wfm.forecast.history import ForecastInputError


def load_events_csv(path: str | Path) -> pd.DataFrame:
    """A daily event file: a ``date`` column and one numeric column per driver (e.g. ``tv_grp``, ``promotion``)."""
    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        raise ForecastInputError("events", f"file not found: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ForecastInputError("events", f"cannot read {path} ({exc})") from None
    return events_from_frame(table)


def events_from_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Validate an event table and index it by date; drivers are the numeric columns other than ``date``."""
    if "date" not in table.columns:
        raise ForecastInputError("events.date", "column is missing")
    dates = pd.to_datetime(table["date"], errors="coerce", format="ISO8601")
    if dates.isna().any():
        row = int(np.argmax(dates.isna().to_numpy()))
        raise ForecastInputError("events.date", f"row {row + 2}: cannot parse {table['date'].iloc[row]!r}")
    if dates.duplicated().any():
        row = int(np.argmax(dates.duplicated().to_numpy()))
        raise ForecastInputError("events.date", f"row {row + 2}: date {dates.iloc[row].date()} appears twice")
    drivers = {}
    for column in table.columns:
        if column == "date":
            continue
        values = pd.to_numeric(table[column], errors="coerce")
        if values.isna().any():
            row = int(np.argmax(values.isna().to_numpy()))
            raise ForecastInputError(f"events.{column}", f"row {row + 2}: {table[column].iloc[row]!r} is not a number")
        drivers[column] = values.to_numpy(dtype=float)
    return pd.DataFrame(drivers, index=pd.DatetimeIndex(dates).normalize()).sort_index()


def day_features(
    dates: pd.DatetimeIndex, country: str | None = "CN", events: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per date: ``weekday``, ``holiday`` and ``holiday_eve`` flags, and every event driver (0 where absent)."""
    dates = pd.DatetimeIndex(dates).normalize()
    features = pd.DataFrame(index=dates)
    features["weekday"] = dates.weekday
    if country:
        years = range(dates.min().year - 1, dates.max().year + 2)
        calendar = holidays.country_holidays(country, years=years)
        is_holiday = np.array([d.date() in calendar for d in dates])
        next_is_holiday = np.array([(d + pd.Timedelta(days=1)).date() in calendar for d in dates])
    else:
        is_holiday = next_is_holiday = np.zeros(len(dates), dtype=bool)
    features["holiday"] = is_holiday.astype(float)
    features["holiday_eve"] = (next_is_holiday & ~is_holiday).astype(float)
    if events is not None and not events.empty:
        aligned = events.reindex(dates).fillna(0.0)
        for column in events.columns:
            features[f"event_{column}"] = aligned[column].to_numpy(dtype=float)
    return features
