"""Forecasting models with one ``fit`` / ``predict`` interface (statsforecast's style).

* ``seasonal_naive``: the same interval one week earlier (the latest observed such day).
* ``historical_average``: mean of the same weekday and interval over recent weeks.
* ``daily_profile``: daily totals from a log-linear model of weekday, holidays, holiday eves and event
  drivers (effects estimated from history by robust regression) with the remaining level forecast by
  statsforecast's AutoETS, times a weekday-specific intraday profile shrunk towards the pooled profile where
  data are sparse.

All models forecast handle time with the same robust weekday x interval profile and give quantiles from a
negative binomial whose overdispersion is estimated from recent in-sample errors.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from wfm.forecast.calendar import day_features
from wfm.forecast.history import ForecastInputError, History

DEFAULT_QUANTILES = (0.1, 0.9)


def quantile_column(q: float) -> str:
    return f"volume_p{round(q * 100):d}"


def _weekly_stack(history: History, weeks: int, column: str = "volume") -> np.ndarray:
    """The last ``weeks`` whole weeks as an array (weeks, 7, intervals), aligned so [:, w] is weekday w."""
    values = history.matrix(column)
    dates = history.dates
    days = min(len(dates), weeks * 7)
    values, dates = values[-days:], dates[-days:]
    out = np.full((weeks, 7, history.per_day), np.nan)
    for i, date in enumerate(dates):
        back = (len(dates) - 1 - i) // 7
        out[weeks - 1 - back, date.weekday()] = values[i]
    return out


@dataclass
class AhtProfile:
    """Handle time per weekday x interval: volume-weighted median over recent weeks (robust to outliers), shrunk
    towards the interval-of-day median where few contacts were handled."""

    weeks: int = 8
    shrink_contacts: float = 30.0
    table: np.ndarray | None = None

    def fit(self, history: History) -> AhtProfile:
        aht = _weekly_stack(history, self.weeks, "aht_s")
        volume = np.nan_to_num(_weekly_stack(history, self.weeks, "volume"))
        weights = np.where(np.isnan(aht), 0.0, volume)
        if weights.sum() == 0:
            self.table = np.full((7, history.per_day), np.nan)
            return self
        cell = _weighted_median(aht, weights, axis=0)  # (7, intervals)
        cell_weight = weights.sum(axis=0)
        pooled = _weighted_median(
            aht.transpose(1, 0, 2).reshape(-1, history.per_day),
            weights.transpose(1, 0, 2).reshape(-1, history.per_day),
            axis=0,
        )
        overall = _weighted_median(aht.reshape(-1), weights.reshape(-1), axis=0)
        pooled = np.where(np.isnan(pooled), overall, pooled)
        blend = (np.nan_to_num(cell) * cell_weight + pooled * self.shrink_contacts) / (
            cell_weight + self.shrink_contacts
        )
        self.table = blend
        return self

    def for_dates(self, dates: pd.DatetimeIndex) -> np.ndarray:
        assert self.table is not None
        return self.table[np.asarray(dates.weekday)].reshape(-1)


def _weighted_median(values: np.ndarray, weights: np.ndarray, axis: int) -> np.ndarray:
    """Weighted median along an axis, ignoring NaN values (weight 0); NaN where all weights are 0."""
    values = np.moveaxis(np.asarray(values, dtype=float), axis, -1) if values.ndim else values
    weights = np.moveaxis(np.asarray(weights, dtype=float), axis, -1) if weights.ndim else weights
    weights = np.where(np.isnan(values), 0.0, weights)
    filled = np.where(np.isnan(values), np.inf, values)
    order = np.argsort(filled, axis=-1)
    sorted_values = np.take_along_axis(filled, order, axis=-1)
    cumulative = np.cumsum(np.take_along_axis(weights, order, axis=-1), axis=-1)
    total = cumulative[..., -1:]
    position = np.argmax(cumulative >= 0.5 * total, axis=-1)
    median = np.take_along_axis(sorted_values, position[..., None], axis=-1)[..., 0]
    return np.where(total[..., 0] > 0, median, np.nan)


def overdispersion(actual: np.ndarray, expected: np.ndarray) -> float:
    """Negative-binomial phi in Var = mu + phi mu^2, by moments over observed intervals with mu > 0."""
    mask = ~np.isnan(actual) & (expected > 0)
    if mask.sum() < 10:
        return 0.05
    a, m = actual[mask], expected[mask]
    phi = float(np.sum((a - m) ** 2 - m) / np.sum(m**2))
    return float(np.clip(phi, 1e-4, 5.0))


def count_quantiles(mean: np.ndarray, phi: float, q: float) -> np.ndarray:
    """Quantile ``q`` of a negative binomial with this mean and overdispersion."""
    mean = np.maximum(np.asarray(mean, dtype=float), 0.0)
    n = 1.0 / phi
    p = n / (n + np.maximum(mean, 1e-12))
    return np.where(mean > 0, stats.nbinom.ppf(q, n, p), 0.0)


@dataclass
class _Fitted:
    history: History
    events: pd.DataFrame | None
    country: str | None
    aht: AhtProfile
    phi: float = 0.05


class _IntervalModel(ABC):
    """Shared parts: fitting the AHT profile, dispersion, building the output frame."""

    name = "base"

    def __init__(self, country: str | None = "CN") -> None:
        self.country = country
        self._fitted: _Fitted | None = None

    def fit(self, history: History, events: pd.DataFrame | None = None) -> _IntervalModel:
        self._fitted = _Fitted(history, events, self.country, AhtProfile().fit(history))
        self._fit(history, events)
        # Overdispersion from the last four weeks, forecast as if from four weeks before the end.
        if history.days >= 5 * 7:
            origin = history.dates[-28]
            past = type(self)(**self._params())
            past._fitted = _Fitted(history.before(origin), events, self.country, self._fitted.aht)
            past._fit(past._fitted.history, events)
            expected = past._mean(28)
            actual = history.frame["volume"].to_numpy()[-28 * history.per_day :]
            self._fitted.phi = overdispersion(actual, expected)
        return self

    def _params(self) -> dict:
        return {"country": self.country}

    @abstractmethod
    def _fit(self, history: History, events: pd.DataFrame | None) -> None:
        """Estimate the model from the history (and event drivers)."""

    @abstractmethod
    def _mean(self, horizon_days: int) -> np.ndarray:
        """Mean volume per interval of the next ``horizon_days`` days, flattened day by day."""

    def future_dates(self, horizon_days: int) -> pd.DatetimeIndex:
        assert self._fitted is not None
        last = self._fitted.history.dates[-1]
        return pd.date_range(last + pd.Timedelta(days=1), periods=horizon_days, freq="D")

    def predict(self, horizon_days: int, quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> pd.DataFrame:
        """Per interval of the next ``horizon_days`` days: ``volume``, ``aht_s`` and a column per quantile."""
        if self._fitted is None:
            raise RuntimeError("fit the model before predicting")
        if horizon_days < 1:
            raise ForecastInputError("horizon_days", f"must be at least 1, got {horizon_days}")
        history = self._fitted.history
        dates = self.future_dates(horizon_days)
        index = pd.date_range(dates[0], periods=horizon_days * history.per_day, freq=f"{history.interval_min}min")
        mean = np.maximum(self._mean(horizon_days), 0.0)
        frame = pd.DataFrame({"volume": mean, "aht_s": self._fitted.aht.for_dates(dates)}, index=index)
        for q in quantiles:
            frame[quantile_column(q)] = count_quantiles(mean, self._fitted.phi, q)
        frame.index.name = "interval_start"
        return frame


class SeasonalNaive(_IntervalModel):
    """The same interval on the latest observed day of the same weekday."""

    name = "seasonal_naive"

    def _fit(self, history: History, events: pd.DataFrame | None) -> None:
        stack = _weekly_stack(history, 6)
        latest = np.full(stack.shape[1:], np.nan)
        for week in range(stack.shape[0]):  # later weeks overwrite earlier ones where observed
            day_observed = ~np.isnan(stack[week]).any(axis=1)
            latest[day_observed] = stack[week][day_observed]
        self._week = np.nan_to_num(latest)

    def _mean(self, horizon_days: int) -> np.ndarray:
        return self._week[np.asarray(self.future_dates(horizon_days).weekday)].reshape(-1)


class HistoricalAverage(_IntervalModel):
    """Mean of the same weekday and interval over the last ``weeks`` weeks (missing values skipped)."""

    name = "historical_average"

    def __init__(self, country: str | None = "CN", weeks: int = 8) -> None:
        super().__init__(country)
        self.weeks = weeks

    def _params(self) -> dict:
        return {"country": self.country, "weeks": self.weeks}

    def _fit(self, history: History, events: pd.DataFrame | None) -> None:
        stack = _weekly_stack(history, self.weeks)
        observed = (~np.isnan(stack)).sum(axis=0)
        self._week = np.nansum(stack, axis=0) / np.maximum(observed, 1)

    def _mean(self, horizon_days: int) -> np.ndarray:
        return self._week[np.asarray(self.future_dates(horizon_days).weekday)].reshape(-1)


@dataclass
class DailyEffects:
    """Log-linear daily model: weekday levels, holiday / eve / event effects and a spline trend."""

    weekday: np.ndarray = field(default_factory=lambda: np.zeros(7))
    effects: dict[str, float] = field(default_factory=dict)


class DailyProfile(_IntervalModel):
    """Daily totals (drivers + AutoETS level) x weekday intraday profile with shrinkage."""

    name = "daily_profile"

    def __init__(self, country: str | None = "CN", profile_weeks: int = 12, shrink_contacts: float = 2.0) -> None:
        super().__init__(country)
        self.profile_weeks = profile_weeks
        self.shrink_contacts = shrink_contacts

    def _params(self) -> dict:
        return {"country": self.country, "profile_weeks": self.profile_weeks, "shrink_contacts": self.shrink_contacts}

    def _fit(self, history: History, events: pd.DataFrame | None) -> None:
        from statsforecast import StatsForecast  # imported here: it takes a second to load
        from statsforecast.models import AutoETS

        totals = history.daily_totals()
        features = day_features(history.dates, self.country, events)
        self._driver_columns = [c for c in features.columns if c != "weekday"]
        y = np.log1p(totals.to_numpy())
        observed = ~np.isnan(y)
        t = np.arange(len(y), dtype=float)
        knots = np.arange(56, len(y) - 28, 56, dtype=float)
        trend = np.column_stack([t, *[np.maximum(0.0, t - k) for k in knots]]) / max(len(y), 1)
        weekday = np.eye(7)[features["weekday"].to_numpy()]
        drivers = features[self._driver_columns].to_numpy(dtype=float)
        # Drivers that never vary in the history cannot be estimated: leave them out.
        active = drivers[observed].std(axis=0) > 0 if observed.any() else np.zeros(drivers.shape[1], bool)
        self._active = active
        design = np.column_stack([weekday, drivers[:, active], trend])
        coef = _huber_regression(design[observed], y[observed])
        n_drivers = int(active.sum())
        self._weekday_coef = coef[:7]
        self._driver_coef = coef[7 : 7 + n_drivers]
        seasonal = weekday @ self._weekday_coef + drivers[:, active] @ self._driver_coef
        level = pd.Series(y - seasonal).interpolate(limit_direction="both").to_numpy()
        frame = pd.DataFrame({"unique_id": "total", "ds": history.dates, "y": level})
        self._ets = StatsForecast(models=[AutoETS(season_length=1)], freq="D")
        self._ets_frame = frame
        self._events = events
        self._profile = self._intraday_profile(history, features)

    def _intraday_profile(self, history: History, features: pd.DataFrame) -> np.ndarray:
        """Share of the day's volume per interval, per weekday.

        Hierarchical shrinkage: the recent weekday profile (last ``profile_weeks`` weeks) is shrunk towards the
        same weekday's long-run profile (up to a year), which is shrunk towards the all-days profile; each prior
        weighs ``shrink_contacts`` contacts per open interval, so it only matters where data are sparse.
        """
        weeks_all = max(self.profile_weeks, min(52, history.days // 7))
        stack = _weekly_stack(history, weeks_all)
        dates = history.dates[-weeks_all * 7 :]
        holiday = features["holiday"].to_numpy()[-weeks_all * 7 :]
        for i, date in enumerate(dates):  # holidays have their own shape
            if holiday[i]:
                stack[weeks_all - 1 - (len(dates) - 1 - i) // 7, date.weekday()] = np.nan
        full_days = ~np.isnan(stack).any(axis=2)
        counts = np.where(full_days[..., None], np.nan_to_num(stack), 0.0)  # (weeks, 7, intervals)
        long_run = counts.sum(axis=0)
        recent = counts[-self.profile_weeks :].sum(axis=0)
        pooled = long_run.sum(axis=0) / max(long_run.sum(), 1e-9)
        kappa = self.shrink_contacts * max(1, np.count_nonzero(pooled))

        def shrink(observed: np.ndarray, prior: np.ndarray) -> np.ndarray:
            return (observed + kappa * prior) / (observed.sum(axis=-1, keepdims=True) + kappa)

        weekday_long = shrink(long_run, pooled[None, :])
        profile = shrink(recent, weekday_long)
        return profile / np.maximum(profile.sum(axis=1, keepdims=True), 1e-12)

    def daily_forecast(self, horizon_days: int) -> np.ndarray:
        """Forecast daily totals for the next ``horizon_days`` days."""
        level = self._ets.forecast(h=horizon_days, df=self._ets_frame)["AutoETS"].to_numpy()
        dates = self.future_dates(horizon_days)
        features = day_features(dates, self.country, self._events)
        drivers = features[self._driver_columns].to_numpy(dtype=float)[:, self._active]
        seasonal = self._weekday_coef[np.asarray(dates.weekday)] + drivers @ self._driver_coef
        return np.maximum(np.expm1(level + seasonal), 0.0)

    def _mean(self, horizon_days: int) -> np.ndarray:
        totals = self.daily_forecast(horizon_days)
        weekdays = np.asarray(self.future_dates(horizon_days).weekday)
        return (totals[:, None] * self._profile[weekdays]).reshape(-1)

    @property
    def driver_effects(self) -> dict[str, float]:
        """Estimated multiplicative effect of each driver (e.g. 0.25 = +25 % per unit)."""
        names = [c for c, a in zip(self._driver_columns, self._active, strict=True) if a]
        return {name: float(np.expm1(c)) for name, c in zip(names, self._driver_coef, strict=True)}


def _huber_regression(x: np.ndarray, y: np.ndarray, delta: float = 1.345, iterations: int = 20) -> np.ndarray:
    """Least squares with Huber weights (iteratively reweighted), so outage-hit or odd days pull less.

    Written by hand because it is ten lines; statsmodels' RLM would add a dependency for this alone.
    """
    ridge = 1e-6 * np.eye(x.shape[1])
    weights = np.ones(len(y))
    coef = np.zeros(x.shape[1])
    for _ in range(iterations):
        w = np.sqrt(weights)[:, None]
        coef = np.linalg.solve((x * w).T @ (x * w) + ridge, (x * w).T @ (y * w[:, 0]))
        residual = y - x @ coef
        scale = 1.4826 * np.median(np.abs(residual - np.median(residual))) + 1e-9
        u = np.abs(residual) / (delta * scale)
        new = np.where(u <= 1, 1.0, 1.0 / np.maximum(u, 1e-12))
        if np.allclose(new, weights, atol=1e-6):
            break
        weights = new
    return coef


MODELS: dict[str, type[_IntervalModel]] = {
    SeasonalNaive.name: SeasonalNaive,
    HistoricalAverage.name: HistoricalAverage,
    DailyProfile.name: DailyProfile,
}


def make_model(name: str, country: str | None = "CN") -> _IntervalModel:
    """A model by name (``seasonal_naive``, ``historical_average``, ``daily_profile``)."""
    if name not in MODELS:
        raise ForecastInputError("model", f"unknown model {name!r}; choose from {', '.join(MODELS)} or auto")
    return MODELS[name](country=country)
