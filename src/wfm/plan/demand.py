"""From forecast demand to the interval requirement of each skill (post).

A plan file lists one ``DemandSpec`` per skill. Queues (calls, guests waiting for a therapist, customers at
the tills) are sized by Erlang C or Erlang A against service targets, then inflated by shrinkage; posts
without a queue by a ratio (people per so many guests in the interval) or a fixed headcount during given
hours. A maximum (tills, rooms) caps the requirement and is passed to the roster as a hard ceiling on value.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from wfm.erlang import ServiceTargets, required_agents
from wfm.roster.domain import IntervalRequirement


class Targets(BaseModel):
    """Service targets of a queue (see ``wfm.erlang.ServiceTargets``)."""

    model_config = ConfigDict(extra="forbid")
    service_level: float | None = Field(0.8, ge=0, lt=1)
    answer_s: float = Field(20.0, ge=0)
    asa_s: float | None = Field(None, gt=0)
    max_occupancy: float | None = Field(None, gt=0, le=1)
    max_abandon: float | None = Field(None, gt=0, lt=1)
    shrinkage: float = Field(0.0, ge=0, lt=1)

    def service_targets(self) -> ServiceTargets:
        return ServiceTargets(**self.model_dump())


class DemandSpec(BaseModel):
    """How the requirement of one skill is worked out.

    ``method``: ``erlang_c`` / ``erlang_a`` (a queue: ``volume`` arrivals per interval of ``aht_s`` seconds each,
    from the forecast ``source``), ``ratio`` (one person per ``per_person`` forecast arrivals in the interval,
    at least ``minimum`` while open), ``fixed`` (``required`` people during ``hours`` on open dates).
    """

    model_config = ConfigDict(extra="forbid")
    skill: str
    method: Literal["erlang_c", "erlang_a", "ratio", "fixed"]
    source: str | None = Field(None, description="Name of the forecast series (history) this skill is driven by.")
    share: float = Field(1.0, gt=0, description="Share of the source's arrivals that reach this skill.")
    aht_s: float | None = Field(None, gt=0, description="Handle / session time; default: the forecast's.")
    patience_s: float | None = Field(None, gt=0, description="Erlang A mean patience (default 60 s).")
    targets: Targets = Field(default_factory=Targets)
    per_person: float | None = Field(None, gt=0)
    required: float | None = Field(None, ge=0)
    minimum: float = Field(0.0, ge=0, description="Floor while the site is open.")
    hours: tuple[dt.time, dt.time] | None = Field(None, description="Daily window of a fixed post (start, end).")
    maximum: int | None = Field(None, ge=0, description="Physical cap (tills, rooms).")

    @model_validator(mode="after")
    def _complete(self) -> DemandSpec:
        if self.method in ("erlang_c", "erlang_a", "ratio") and not self.source:
            raise ValueError(f"demand of skill {self.skill!r}: method {self.method} needs a forecast 'source'")
        if self.method == "ratio" and self.per_person is None:
            raise ValueError(f"demand of skill {self.skill!r}: method ratio needs 'per_person'")
        if self.method == "fixed" and self.required is None:
            raise ValueError(f"demand of skill {self.skill!r}: method fixed needs 'required'")
        return self


STAFFING_COLUMNS = ["interval_start", "skill", "volume", "aht_s", "patience_s", "required"]


def _open_mask(stamps: pd.Series, opening: dict[dt.date, tuple[dt.time, dt.time]] | None) -> np.ndarray:
    if not opening:
        return np.ones(len(stamps), dtype=bool)
    mask = np.zeros(len(stamps), dtype=bool)
    for i, stamp in enumerate(stamps):
        hours = opening.get(stamp.date())
        if hours is not None:
            open_at, close_at = hours
            t = stamp.time()
            mask[i] = open_at <= t < close_at if close_at > open_at else (t >= open_at or t < close_at)
    return mask


def staffing_requirement(
    specs: list[DemandSpec],
    forecasts: dict[str, pd.DataFrame],
    interval_min: int,
    opening: dict[dt.date, tuple[dt.time, dt.time]] | None = None,
) -> pd.DataFrame:
    """Required people per interval and skill (``STAFFING_COLUMNS``) from the forecast of each source.

    ``forecasts`` maps a source name to a frame with ``interval_start, volume, aht_s`` on the planning grid.
    """
    if not forecasts:
        raise ValueError("no forecast: at least one demand source is needed to set the planning grid")
    grid = next(iter(forecasts.values()))["interval_start"].reset_index(drop=True)
    is_open = _open_mask(grid, opening)
    parts = []
    for spec in specs:
        frame = pd.DataFrame({"interval_start": grid, "skill": spec.skill})
        if spec.source is not None:
            if spec.source not in forecasts:
                raise ValueError(f"demand of skill {spec.skill!r}: no forecast named {spec.source!r}")
            source = forecasts[spec.source].reset_index(drop=True)
            volume = source["volume"].to_numpy(dtype=float) * spec.share
            aht = np.full(len(grid), spec.aht_s) if spec.aht_s else source["aht_s"].to_numpy(dtype=float)
            aht = np.where(np.isfinite(aht) & (aht > 0), aht, np.nanmedian(aht[aht > 0]) if (aht > 0).any() else 60)
        else:
            volume, aht = np.zeros(len(grid)), np.full(len(grid), np.nan)
        volume = np.where(is_open, volume, 0.0)
        patience = (spec.patience_s or 60.0) if spec.method == "erlang_a" else None
        if spec.method in ("erlang_c", "erlang_a"):
            staff = required_agents(
                volume=volume,
                aht_s=aht,
                patience_s=None if patience is None else np.full(len(grid), patience),
                interval_min=interval_min,
                targets=spec.targets.service_targets(),
            )
            required = staff["scheduled"].to_numpy(dtype=float)
        elif spec.method == "ratio":
            required = np.ceil(volume / spec.per_person)
        else:
            times = grid.dt.time
            start, end = spec.hours or (dt.time(0), dt.time(23, 59, 59))
            inside = np.array([start <= t < end for t in times])
            required = np.where(inside, spec.required, 0.0)
        required = np.where(is_open, np.maximum(required, spec.minimum), 0.0)
        if spec.maximum is not None:
            required = np.minimum(required, spec.maximum)
        frame["volume"] = volume
        frame["aht_s"] = aht
        frame["patience_s"] = patience if patience is not None else np.nan
        frame["required"] = required
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)[STAFFING_COLUMNS]


def requirements_of(staffing: pd.DataFrame, specs: list[DemandSpec]) -> list[IntervalRequirement]:
    """The roster's interval requirement from the staffing table; specs of the same skill add up."""
    caps = {s.skill: s.maximum for s in specs}
    rows = []
    summed = staffing.groupby(["interval_start", "skill"], as_index=False, sort=True)["required"].sum()
    for row in summed.itertuples(index=False):
        if row.required > 0:
            rows.append(
                IntervalRequirement(
                    interval_start=row.interval_start.to_pydatetime(),
                    skill=row.skill,
                    required=math.ceil(row.required - 1e-9),
                    maximum=caps.get(row.skill),
                )
            )
    return rows
