"""Demand history on a complete interval grid: observed counts, missing intervals (NaN) and closed intervals.

Timestamps are local wall-clock times of the site, naive. Time-zone aware input is converted to the site's zone
and made naive; on the autumn DST change two real hours fall on one wall-clock hour and are summed, and the
skipped spring hour is simply empty (closed), as in real ACD exports. Every day has ``1440 / interval_min``
intervals.

*Missing* (NaN) means unknown: rows absent from the input, or dates the caller marks as outages. *Closed* means
zero demand is expected: an interval of the day that (for that weekday) had no demand on nearly all observed
days, or outside given opening hours. Models fit on observed values only and forecast zero when closed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

MIN_HISTORY_DAYS = 14


class ForecastInputError(ValueError):
    """Bad forecasting input; the message names the field (and row) and the problem."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


@dataclass
class History:
    """Interval demand on a complete grid of whole days.

    ``frame`` is indexed by ``interval_start`` with columns ``volume`` (NaN = missing) and ``aht_s`` (NaN where
    unknown or no contacts).
    """

    frame: pd.DataFrame
    interval_min: int

    @property
    def per_day(self) -> int:
        return 1440 // self.interval_min

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.frame.index[:: self.per_day]).normalize()

    @property
    def days(self) -> int:
        return len(self.frame) // self.per_day

    def matrix(self, column: str = "volume") -> np.ndarray:
        """Values as a (days x intervals of the day) array."""
        return self.frame[column].to_numpy(dtype=float).reshape(self.days, self.per_day)

    def daily_totals(self) -> pd.Series:
        """Total per date; NaN for a date with any missing interval."""
        values = self.matrix()
        totals = np.where(np.isnan(values).any(axis=1), np.nan, np.nansum(values, axis=1))
        return pd.Series(totals, index=self.dates)

    def before(self, date: pd.Timestamp) -> History:
        """The history strictly before a date (for backtests)."""
        return History(self.frame[self.frame.index < pd.Timestamp(date)], self.interval_min)

    def between(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        return self.frame[(self.frame.index >= pd.Timestamp(start)) & (self.frame.index < pd.Timestamp(end))]

    def mark_missing(self, dates: Iterable[dt.date]) -> History:
        """A copy with every interval of these dates marked missing (outages, imputed days)."""
        frame = self.frame.copy()
        marked = pd.DatetimeIndex(frame.index).normalize().isin(pd.DatetimeIndex(list(dates)))
        frame.loc[marked, ["volume", "aht_s"]] = np.nan
        return History(frame, self.interval_min)

    def aggregate(self, interval_min: int) -> History:
        """The same history on a coarser grid (sums of volume, volume-weighted AHT)."""
        if interval_min == self.interval_min:
            return self
        if interval_min % self.interval_min or 1440 % interval_min:
            raise ForecastInputError(
                "interval_min",
                f"{interval_min} is not a multiple of the data's {self.interval_min}-minute grid that divides the day",
            )
        factor = interval_min // self.interval_min
        volume = self.frame["volume"].to_numpy().reshape(-1, factor)
        aht = self.frame["aht_s"].to_numpy().reshape(-1, factor)
        total = volume.sum(axis=1)  # NaN if any part is missing
        with np.errstate(invalid="ignore", divide="ignore"):
            weighted = np.nansum(np.nan_to_num(aht) * np.nan_to_num(volume), axis=1) / np.nansum(
                np.where(np.isnan(aht), 0, volume), axis=1
            )
        index = self.frame.index[::factor]
        return History(pd.DataFrame({"volume": total, "aht_s": weighted}, index=index), interval_min)


def _grid_minutes(index: pd.DatetimeIndex) -> int:
    steps = np.diff(index.asi8) // 60_000_000_000
    positive = steps[steps > 0]
    if positive.size == 0:
        raise ForecastInputError("timestamp", "cannot infer the interval from fewer than two timestamps")
    grid = int(np.gcd.reduce(positive.astype(np.int64)))
    minute_of_day = (index.hour * 60 + index.minute).to_numpy()
    grid = int(np.gcd(grid, np.gcd.reduce(minute_of_day.astype(np.int64)))) if minute_of_day.any() else grid
    if 1440 % grid:
        raise ForecastInputError("timestamp", f"the {grid}-minute grid of the data does not divide the day")
    return grid


def history_from_frame(
    data: pd.DataFrame,
    *,
    interval_min: int | None = None,
    timezone: str | None = None,
    time_col: str = "timestamp",
) -> History:
    """Interval counts (``timestamp, volume[, aht_s]``) as a History on a complete grid.

    ``interval_min`` aggregates a finer grid (e.g. 6-minute data to 30 minutes); by default the data's own grid.
    Raises ForecastInputError naming the row and problem for unparseable timestamps, duplicated intervals,
    negative or non-numeric counts, an interval that does not divide the day, or less than two weeks of data.
    """
    if time_col not in data.columns and "interval_start" in data.columns:
        time_col = "interval_start"
    for column in (time_col, "volume"):
        if column not in data.columns:
            raise ForecastInputError(column, f"column is missing (columns: {', '.join(map(str, data.columns))})")
    if interval_min is not None and (interval_min <= 0 or 1440 % interval_min):
        raise ForecastInputError("interval_min", f"must divide the day (5, 6, 15, 30, 60 ...), got {interval_min}")
    raw = data[time_col]
    text = raw.astype(str)
    if pd.api.types.is_datetime64_any_dtype(raw):
        stamps = pd.Series(pd.DatetimeIndex(raw), index=data.index)
        if stamps.dt.tz is not None:
            stamps = stamps.dt.tz_convert(timezone or "UTC").dt.tz_localize(None)
    elif text.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True).any():
        # Offsets given: convert to the site's wall clock (DST changes the offset within the file).
        stamps = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        stamps = stamps.dt.tz_convert(timezone or "UTC").dt.tz_localize(None)
    else:
        stamps = pd.to_datetime(text, errors="coerce", format="ISO8601")
    bad = stamps.isna()
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise ForecastInputError(time_col, f"row {row + 2}: cannot parse {raw.iloc[row]!r} as a date-time")
    volume = pd.to_numeric(data["volume"], errors="coerce")
    bad = volume.isna() & data["volume"].notna()
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise ForecastInputError("volume", f"row {row + 2}: {data['volume'].iloc[row]!r} is not a number")
    if (volume < 0).any():
        row = int(np.argmax((volume < 0).to_numpy()))
        raise ForecastInputError("volume", f"row {row + 2}: negative count {volume.iloc[row]}")
    aht = (
        pd.to_numeric(data["aht_s"], errors="coerce")
        if "aht_s" in data.columns
        else pd.Series(np.nan, index=data.index)
    )
    if (aht < 0).any():
        row = int(np.argmax((aht < 0).to_numpy()))
        raise ForecastInputError("aht_s", f"row {row + 2}: negative handle time {aht.iloc[row]}")
    frame = pd.DataFrame({"volume": volume.to_numpy(), "aht_s": aht.to_numpy()}, index=pd.DatetimeIndex(stamps))
    if timezone is None:
        duplicated = frame.index.duplicated()
        if duplicated.any():
            row = int(np.argmax(duplicated))
            raise ForecastInputError(time_col, f"row {row + 2}: interval {frame.index[row]} appears twice")
    else:  # DST fall-back: two real hours on one wall-clock hour are summed
        frame["weighted"] = frame["aht_s"] * frame["volume"]
        frame = frame.groupby(level=0).sum(min_count=1)
        frame["aht_s"] = frame.pop("weighted") / frame["volume"]
    frame = frame.sort_index()
    grid = _grid_minutes(pd.DatetimeIndex(frame.index))
    first = frame.index[0].normalize()
    last = frame.index[-1].normalize() + pd.Timedelta(days=1)
    full = pd.date_range(first, last, freq=f"{grid}min", inclusive="left")
    frame = frame.reindex(full)
    frame.index.name = "interval_start"
    history = History(frame, grid)
    if history.days < MIN_HISTORY_DAYS:
        raise ForecastInputError("history", f"covers {history.days} day(s); at least {MIN_HISTORY_DAYS} are needed")
    return history.aggregate(interval_min) if interval_min else history


def history_from_records(records: pd.DataFrame, interval_min: int, *, timezone: str | None = None) -> History:
    """Contact records (``arrival``, ``handle_s``, optional ``abandoned``, ``blocked``) aggregated to intervals.

    Offered demand counts every record: answered, abandoned and (where present) blocked. AHT is the mean handle
    time of answered contacts.
    """
    for column in ("arrival",):
        if column not in records.columns:
            raise ForecastInputError(column, "column is missing from the contact records")
    arrival = pd.to_datetime(records["arrival"], errors="coerce", format="ISO8601")
    if arrival.isna().any():
        row = int(np.argmax(arrival.isna().to_numpy()))
        raise ForecastInputError("arrival", f"row {row + 2}: cannot parse {records['arrival'].iloc[row]!r}")
    if getattr(arrival.dt, "tz", None) is not None:
        arrival = arrival.dt.tz_convert(timezone or "UTC").dt.tz_localize(None)
    slot = arrival.dt.floor(f"{interval_min}min")
    answered = ~records.get("abandoned", pd.Series(False, index=records.index)).astype(bool)
    if "blocked" in records.columns:
        answered &= ~records["blocked"].astype(bool)
    handle = pd.to_numeric(records.get("handle_s", pd.Series(np.nan, index=records.index)), errors="coerce")
    grouped = pd.DataFrame({"slot": slot, "one": 1, "handle": handle.where(answered), "answered": answered})
    table = grouped.groupby("slot").agg(volume=("one", "sum"), handle=("handle", "sum"), answered=("answered", "sum"))
    table["aht_s"] = table["handle"] / table["answered"].where(table["answered"] > 0)
    first = table.index.min().normalize()
    last = table.index.max().normalize() + pd.Timedelta(days=1)
    full = pd.date_range(first, last, freq=f"{interval_min}min", inclusive="left")
    # Intervals with no record are zero demand (the log is complete over its span), not missing.
    frame = table[["volume", "aht_s"]].reindex(full).fillna({"volume": 0.0})
    frame.index.name = "interval_start"
    history = History(frame.astype(float), interval_min)
    if history.days < MIN_HISTORY_DAYS:
        raise ForecastInputError("history", f"covers {history.days} day(s); at least {MIN_HISTORY_DAYS} are needed")
    return history


def load_history_csv(path: str | Path, *, interval_min: int | None = None, timezone: str | None = None) -> History:
    """Read ``timestamp,volume[,aht_s]`` (or ``interval_start,...``) from a CSV file."""
    try:
        data = pd.read_csv(path, dtype={"timestamp": str, "interval_start": str})
    except FileNotFoundError:
        raise ForecastInputError("history", f"file not found: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ForecastInputError("history", f"cannot read {path} as CSV ({exc})") from None
    return history_from_frame(data, interval_min=interval_min, timezone=timezone)
