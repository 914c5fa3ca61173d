"""Sample demand histories for the three businesses, drawn from a known process.

Each business is a non-homogeneous Poisson process per interval with rate

    rate(day, interval) = base x (1 + trend)^(years since start) x weekday factor x holiday factor
                          x exp(sum of driver effect x driver value) x intraday shape(day type, interval)

* call centre (open 08:00-22:00): the embedded sample day's shape on weekdays and a flatter one at weekends;
  PRC holidays x0.4 and eves x0.85; advertising drivers ``tv_grp`` (bursts of 40-120 GRPs, +0.4 % per GRP) and
  ``online_spend`` (0-20 a day, +1 % per unit); handle time about 240 s, longer in the morning and evening.
* spa (open 10:00-24:00): guests with an evening peak and stronger weekends; holidays x1.5 and eves x1.2;
  ``reservations`` (group bookings, +6 % each); the "handle time" is the session length (about 80 min).
* store (open 08:00-22:00): checkout customers with lunch and evening peaks; holidays x0.85, eves x1.3;
  ``promotion`` days (+45 %); service time at the till about 90 s.

Handle times are the mean of the interval's contacts with 1 % gross outliers, so robust estimators matter.
The call-centre history has one recording outage (rows absent: missing, not zero).

``python -m wfm.forecast.samples`` rewrites the embedded files in ``wfm/data/`` (fixed seeds, reproducible).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import holidays
import numpy as np
import pandas as pd

BUSINESSES = ("call_centre", "spa", "store")
HISTORY_START = dt.date(2025, 1, 1)
HISTORY_DAYS = 424  # to 2026-02-28
EVENTS_DAYS = 485  # the driver schedule runs two months past the history (it is planned ahead)


@dataclass(frozen=True)
class Sample:
    """Generated history (``timestamp, volume, aht_s``), daily drivers (``date, ...``) and the true rates."""

    history: pd.DataFrame
    events: pd.DataFrame
    truth: pd.DataFrame


def _bumps(hours: np.ndarray, peaks: list[tuple[float, float, float]], base: float) -> np.ndarray:
    shape = np.full_like(hours, base)
    for centre, width, height in peaks:
        shape += height * np.exp(-0.5 * ((hours - centre) / width) ** 2)
    return shape


def intraday_shapes(business: str, interval_min: int) -> tuple[np.ndarray, np.ndarray]:
    """(weekday shape, weekend shape) over the intervals of a day, each summing to 1, zero when closed."""
    per_day = 1440 // interval_min
    hours = (np.arange(per_day) + 0.5) * interval_min / 60.0
    if business == "call_centre":
        with resources.as_file(resources.files("wfm") / "data" / "call_centre_day.csv") as path:
            day = pd.read_csv(path)["volume"].to_numpy(dtype=float)
        half_hour_hours = (np.arange(48) + 0.5) / 2.0
        weekday = np.interp(hours, half_hour_hours, day)
        weekend = np.where(weekday > 0, weekday**0.6, 0.0)
        opening = (hours >= 8) & (hours < 22)
    elif business == "spa":
        weekday = _bumps(hours, [(15.0, 1.5, 0.4), (20.5, 1.8, 1.0)], 0.15)
        weekend = _bumps(hours, [(14.5, 2.0, 0.9), (20.0, 2.0, 1.0)], 0.2)
        opening = hours >= 10
    elif business == "store":
        weekday = _bumps(hours, [(12.3, 0.9, 0.8), (18.2, 1.2, 1.0)], 0.25)
        weekend = _bumps(hours, [(11.5, 1.5, 0.9), (16.5, 2.0, 0.9)], 0.35)
        opening = (hours >= 8) & (hours < 22)
    else:
        raise ValueError(f"business must be one of {', '.join(BUSINESSES)}, got {business!r}")
    weekday, weekend = weekday * opening, weekend * opening
    return weekday / weekday.sum(), weekend / weekend.sum()


_SPEC = {
    #               base/day, trend/yr, weekday factors Mon..Sun,        holiday, eve,  aht_s
    "call_centre": (6000.0, 0.10, [1.15, 1.05, 1.0, 1.0, 0.95, 0.62, 0.48], 0.40, 0.85, 240.0),
    "spa": (420.0, 0.05, [0.7, 0.7, 0.75, 0.8, 1.1, 1.5, 1.35], 1.50, 1.20, 4800.0),
    "store": (3000.0, 0.03, [0.9, 0.9, 0.9, 0.95, 1.1, 1.35, 1.25], 0.85, 1.30, 90.0),
}
DRIVER_EFFECTS = {
    "call_centre": {"tv_grp": 0.004, "online_spend": 0.01},
    "spa": {"reservations": 0.06},
    "store": {"promotion": float(np.log(1.45))},
}


def _drivers(business: str, dates: pd.DatetimeIndex, rng: np.random.Generator) -> pd.DataFrame:
    n = len(dates)
    events = pd.DataFrame({"date": dates.strftime("%Y-%m-%d")})
    if business == "call_centre":
        grp = np.zeros(n)
        day = int(rng.integers(5, 20))
        while day < n:
            length = int(rng.integers(3, 8))
            grp[day : day + length] = rng.uniform(40, 120)
            day += length + int(rng.integers(18, 36))
        events["tv_grp"] = grp.round(1)
        events["online_spend"] = np.clip(rng.normal(8, 5, n), 0, 20).round(1)
    elif business == "spa":
        events["reservations"] = rng.poisson(np.where(dates.weekday >= 4, 2.0, 0.7))
    else:
        promotion = np.zeros(n)
        for start in range(int(rng.integers(3, 10)), n, 14):
            promotion[start : start + 2] = 1.0
        events["promotion"] = promotion
    return events


def generate_sample(business: str, interval_min: int = 30, seed: int | None = None) -> Sample:
    """Draw the sample history of a business (deterministic for a given seed)."""
    base, trend, weekday_factor, holiday_factor, eve_factor, aht_mean = _SPEC[business]
    seed = BUSINESSES.index(business) + 2025 if seed is None else seed
    rng = np.random.default_rng(seed)
    all_dates = pd.date_range(HISTORY_START, periods=EVENTS_DAYS, freq="D")
    events = _drivers(business, all_dates, rng)
    dates = all_dates[:HISTORY_DAYS]
    calendar = holidays.country_holidays("CN", years=range(2024, 2028))
    weekday_shape, weekend_shape = intraday_shapes(business, interval_min)
    per_day = 1440 // interval_min
    rows_rate = np.zeros((len(dates), per_day))
    for i, date in enumerate(dates):
        factor = base * (1 + trend) ** (i / 365.0) * weekday_factor[date.weekday()]
        day = date.date()
        if day in calendar:
            factor *= holiday_factor
        elif day + dt.timedelta(days=1) in calendar:
            factor *= eve_factor
        for name, effect in DRIVER_EFFECTS[business].items():
            factor *= np.exp(effect * events[name].iloc[i])
        shape = weekend_shape if date.weekday() >= 5 else weekday_shape
        rows_rate[i] = factor * shape
    rate = rows_rate.reshape(-1)
    volume = rng.poisson(rate).astype(float)
    hours = np.tile((np.arange(per_day) + 0.5) * interval_min / 60.0, len(dates))
    aht_true = aht_mean * (1 + 0.08 * (hours < 10) + 0.12 * (hours >= 19))
    noise = np.exp(rng.normal(0, 0.35 / np.sqrt(np.maximum(volume, 1))))
    outlier = np.where(rng.random(volume.size) < 0.01, 3.0, 1.0)
    aht = np.where(volume > 0, aht_true * noise * outlier, np.nan).round(1)
    stamps = pd.date_range(dates[0], periods=len(rate), freq=f"{interval_min}min")
    history = pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%S"), "volume": volume, "aht_s": aht})
    truth = pd.DataFrame({"timestamp": stamps, "rate": rate, "aht_s": aht_true})
    if business == "call_centre":  # a recording outage: rows absent, i.e. missing, not zero
        outage = (stamps >= pd.Timestamp("2025-06-10 10:00")) & (stamps < pd.Timestamp("2025-06-10 12:00"))
        history = history[~outage]
    return Sample(history.reset_index(drop=True), events, truth)


def sample_paths(business: str) -> tuple[Path, Path]:
    """Paths of the embedded history (csv.gz) and events (csv) of a business."""
    base = resources.files("wfm") / "data"
    return Path(str(base / f"history_{business}.csv.gz")), Path(str(base / f"events_{business}.csv"))


def write_embedded_samples() -> None:
    """Regenerate the embedded sample files."""
    for business in BUSINESSES:
        sample = generate_sample(business)
        history_path, events_path = sample_paths(business)
        sample.history.to_csv(history_path, index=False, compression={"method": "gzip", "mtime": 0})
        sample.events.to_csv(events_path, index=False)


if __name__ == "__main__":
    write_embedded_samples()
