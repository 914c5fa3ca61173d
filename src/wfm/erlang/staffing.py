"""Required agents per interval: the smallest headcount that meets every service target at once."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wfm.erlang.queueing import QueueFigures, queue_figures

_MAX_WIDENINGS = 40


# Beyond this the headcount search would run into float precision (and no queue has a million agents).
MAX_LOAD_ERLANGS = 1_000_000


class StaffingInputError(ValueError):
    """Bad staffing input; ``field`` names the offending input, the message says what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class ServiceTargets:
    """Service targets an interval's staffing must meet together; ``None`` means no such target.

    ``service_level`` is the share of offered contacts answered within ``answer_s`` seconds (abandons count
    against it; with ``sl_excludes_short_abandons`` contacts abandoned within ``short_abandon_s`` are taken
    out of the denominator). ``asa_s`` caps the mean wait of answered contacts, ``max_occupancy`` the busy
    share of staffed time, ``max_abandon`` the share of offered contacts that abandon (Erlang A only).
    ``shrinkage`` is the share of paid time not available for contacts (breaks, meetings, absence).
    """

    service_level: float | None = 0.8
    answer_s: float = 20.0
    asa_s: float | None = None
    max_occupancy: float | None = None
    max_abandon: float | None = None
    shrinkage: float = 0.0
    short_abandon_s: float = 0.0
    sl_excludes_short_abandons: bool = False

    def validate(self) -> None:
        """Raise StaffingInputError for a target out of range or one that no headcount can meet."""
        if self.service_level is not None and not 0.0 <= self.service_level < 1.0:
            raise StaffingInputError(
                "service_level",
                f"must be at least 0 and below 1 (no staffing answers every contact in time), got {self.service_level}",
            )
        if not math.isfinite(self.answer_s) or self.answer_s < 0:
            raise StaffingInputError("answer_s", f"must be a finite number of seconds >= 0, got {self.answer_s}")
        if self.asa_s is not None and not self.asa_s > 0:
            raise StaffingInputError("asa_s", f"must be above 0 seconds (a wait of 0 is unreachable), got {self.asa_s}")
        if self.max_occupancy is not None and not 0.0 < self.max_occupancy <= 1.0:
            raise StaffingInputError("max_occupancy", f"must be in (0, 1], got {self.max_occupancy}")
        if self.max_abandon is not None and not 0.0 < self.max_abandon < 1.0:
            raise StaffingInputError(
                "max_abandon",
                f"must be above 0 and below 1 (some callers always abandon), got {self.max_abandon}",
            )
        if not 0.0 <= self.shrinkage < 1.0:
            raise StaffingInputError("shrinkage", f"must be at least 0 and below 1, got {self.shrinkage}")
        if self.short_abandon_s < 0:
            raise StaffingInputError("short_abandon_s", f"must be >= 0 seconds, got {self.short_abandon_s}")


def _column(name: str, values: object, length: int, *, allow_inf: bool = False) -> np.ndarray:
    """A per-interval float column from a scalar or an array, checked for missing and non-numeric values."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise StaffingInputError(name, f"must be numeric ({exc})") from None
    if array.ndim == 0:
        array = np.full(length, float(array))
    if array.shape != (length,):
        raise StaffingInputError(name, f"has {array.size} values for {length} intervals")
    bad = np.isnan(array) | (~allow_inf & np.isinf(array))
    if bad.any():
        raise StaffingInputError(name, f"is missing or not finite in interval {int(np.argmax(bad))}")
    return array


def _meets(figures: QueueFigures, load: np.ndarray, targets: ServiceTargets, erlang_c: np.ndarray) -> np.ndarray:
    ok = np.ones(load.shape, dtype=bool)
    if targets.service_level is not None:
        achieved = figures.service_level_excl_short if targets.sl_excludes_short_abandons else figures.service_level
        ok &= achieved >= targets.service_level
    if targets.asa_s is not None:
        ok &= figures.asa_s <= targets.asa_s
    if targets.max_occupancy is not None:
        ok &= figures.occupancy <= targets.max_occupancy
    if targets.max_abandon is not None:
        ok &= figures.p_abandon <= targets.max_abandon
    # Erlang C has no steady state at or below the offered load, whatever the targets.
    ok &= ~erlang_c | (figures.agents > load)
    return ok


def required_agents(
    intervals: pd.DataFrame | None = None,
    *,
    volume: object = None,
    aht_s: object = None,
    patience_s: object = None,
    interval_min: float = 30.0,
    targets: ServiceTargets | None = None,
) -> pd.DataFrame:
    """Required and scheduled agents per interval, with the figures they achieve.

    Give either a frame ``intervals`` with columns ``volume``, ``aht_s`` and optionally ``patience_s``, or
    the arrays/scalars directly. ``patience_s`` (mean patience, seconds) selects Erlang A for the rows where
    it is given and finite; elsewhere Erlang C is used. Targets may be scalars or, by passing a frame with
    columns named like the ``ServiceTargets`` fields, per interval.

    Returns a frame (same index as ``intervals``) with ``volume, aht_s, load_erl, agents, scheduled,
    service_level, asa_s, p_wait, p_abandon, occupancy``. Zero volume gives zero agents.
    """
    targets = targets or ServiceTargets()
    targets.validate()
    index = None
    if intervals is not None:
        missing = [c for c in ("volume", "aht_s") if c not in intervals.columns]
        if missing:
            raise StaffingInputError(missing[0], "column is missing from the intervals")
        index = intervals.index
        volume = intervals["volume"].to_numpy()
        aht_s = intervals["aht_s"].to_numpy()
        if "patience_s" in intervals.columns:
            patience_s = intervals["patience_s"].to_numpy()
    if volume is None or aht_s is None:
        raise StaffingInputError("volume" if volume is None else "aht_s", "is required")
    length = int(np.size(volume)) if np.ndim(volume) else 1
    vol = _column("volume", volume, length)
    aht = _column("aht_s", aht_s, length)
    patience = _column("patience_s", np.inf if patience_s is None else patience_s, length, allow_inf=True)
    if not interval_min > 0:
        raise StaffingInputError("interval_min", f"must be above 0 minutes, got {interval_min}")

    def first(mask: np.ndarray) -> str:
        """The interval where ``mask`` first holds, by its index label when a frame was given."""
        position = int(np.argmax(mask))
        return f"interval {index[position] if index is not None else position}"

    if (vol < 0).any():
        raise StaffingInputError("volume", f"is negative ({vol[vol < 0][0]:g}) in {first(vol < 0)}")
    if (aht <= 0).any():
        raise StaffingInputError("aht_s", f"must be above 0 seconds, got {aht[aht <= 0][0]:g} in {first(aht <= 0)}")
    if (patience <= 0).any():
        raise StaffingInputError(
            "patience_s",
            f"must be above 0 seconds, got {patience[patience <= 0][0]:g} in {first(patience <= 0)}",
        )

    load = vol * aht / (interval_min * 60.0)
    if (load > MAX_LOAD_ERLANGS).any():
        raise StaffingInputError(
            "volume",
            f"offered load {load[load > MAX_LOAD_ERLANGS][0]:.3g} Erlangs in {first(load > MAX_LOAD_ERLANGS)} is above "
            f"the {MAX_LOAD_ERLANGS:,} one queue can have (check volume, aht_s and interval_min)",
        )
    erlang_c = ~np.isfinite(patience)
    pat = np.where(erlang_c, np.inf, patience)

    def evaluate(agents: np.ndarray, rows: np.ndarray) -> QueueFigures:
        return queue_figures(agents, load[rows], aht[rows], targets.answer_s, pat[rows], targets.short_abandon_s)

    busy = load > 0
    lo = np.where(erlang_c, np.floor(load), 0.0)
    hi = np.ceil(load + 3.0 * np.sqrt(load) + 3.0)
    hi[~busy] = 0.0
    # Widen the upper end until every target is met there (each figure is monotone in the headcount).
    pending = busy.copy()
    for _ in range(_MAX_WIDENINGS):
        rows = np.flatnonzero(pending)
        if rows.size == 0:
            break
        met = _meets(evaluate(hi[rows], rows), load[rows], targets, erlang_c[rows])
        pending[rows[met]] = False
        lo[rows[~met]] = hi[rows[~met]] + 1.0
        hi[rows[~met]] = 2.0 * hi[rows[~met]] + 1.0
    if pending.any():
        raise StaffingInputError(
            "targets",
            f"cannot be met together by any headcount in {first(pending)} "
            f"(load {load[np.argmax(pending)]:.1f} Erlangs)",
        )
    # Bisection on "all targets met", which is monotone because each target is.
    while True:
        rows = np.flatnonzero(hi > lo)
        if rows.size == 0:
            break
        mid = np.floor((lo[rows] + hi[rows]) / 2.0)
        met = _meets(evaluate(mid, rows), load[rows], targets, erlang_c[rows])
        hi[rows] = np.where(met, mid, hi[rows])
        lo[rows] = np.where(met, lo[rows], mid + 1.0)

    agents = hi.astype(int)
    figures = queue_figures(agents, load, aht, targets.answer_s, pat, targets.short_abandon_s)
    service_level = figures.service_level_excl_short if targets.sl_excludes_short_abandons else figures.service_level
    scheduled = np.ceil(agents / (1.0 - targets.shrinkage) - 1e-9).astype(int)
    return pd.DataFrame(
        {
            "volume": vol,
            "aht_s": aht,
            "load_erl": load,
            "agents": agents,
            "scheduled": scheduled,
            "service_level": service_level,
            "asa_s": figures.asa_s,
            "p_wait": figures.p_wait,
            "p_abandon": figures.p_abandon,
            "occupancy": figures.occupancy,
        },
        index=index,
    )
