"""What a roster really delivers per interval: by the Erlang formulas and by discrete-event simulation.

The formulas treat each interval as a steady state of its own. The simulation (SimPy) follows every contact:
Poisson arrivals at the forecast rate, exponential handle times and patience (the Erlang A assumptions),
first come first served, and the staff on duty changing at interval boundaries, so a queue built up in a
peak carries into the next interval and an agent leaving finishes the contact in hand first. Where the
steady-state assumptions hold the two agree; where demand jumps, the simulation is the truer figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import simpy

from wfm.erlang import queue_figures

KPI_COLUMNS = [
    "interval_start", "skill", "volume", "aht_s", "required", "scheduled", "service_level", "asa_s", "p_abandon",
    "occupancy",
]


def effective_agents(scheduled: np.ndarray, shrinkage: float) -> np.ndarray:
    """People able to take contacts: scheduled (on duty, not on break) less the shrinkage share, rounded."""
    return np.round(np.asarray(scheduled, dtype=float) * (1.0 - shrinkage))


def erlang_kpis(
    volume: np.ndarray, aht_s: np.ndarray, agents: np.ndarray, interval_min: int, answer_s: float,
    patience_s: float | None,
) -> pd.DataFrame:
    """Steady-state service level, ASA, abandonment and occupancy per interval."""
    load = np.asarray(volume, dtype=float) * np.asarray(aht_s, dtype=float) / (interval_min * 60.0)
    load = np.where(np.isfinite(load), load, 0.0)
    figures = queue_figures(agents, load, np.where(np.isfinite(aht_s), aht_s, 1.0), answer_s, patience_s)
    return pd.DataFrame({
        "service_level": figures.service_level,
        "asa_s": figures.asa_s,
        "p_abandon": figures.p_abandon,
        "occupancy": figures.occupancy,
    })


@dataclass
class _Tally:
    offered: np.ndarray
    answered_in_time: np.ndarray
    answered: np.ndarray
    wait_answered: np.ndarray
    abandoned: np.ndarray
    busy_s: np.ndarray


def simulate_kpis(
    volume: np.ndarray,
    aht_s: np.ndarray,
    agents: np.ndarray,
    interval_min: int,
    answer_s: float,
    patience_s: float | None,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulated service level, ASA, abandonment and occupancy per interval (contacts counted by arrival)."""
    rng = np.random.default_rng(seed)
    n = len(volume)
    length_s = interval_min * 60.0
    volume = np.where(np.isfinite(volume), np.asarray(volume, dtype=float), 0.0)
    aht = np.where(np.isfinite(aht_s) & (np.asarray(aht_s) > 0), aht_s, 1.0)
    tally = _Tally(*(np.zeros(n) for _ in range(6)))
    env = simpy.Environment()
    pool = simpy.Store(env)  # free agents, one token each
    state = {"on_duty": 0, "leaving": 0}

    def set_staff(target: int) -> None:
        change = target - state["on_duty"]
        state["on_duty"] = target
        if change > 0:
            cancel = min(change, state["leaving"])  # people due to leave stay instead
            state["leaving"] -= cancel
            for _ in range(change - cancel):
                pool.put(object())
        elif change < 0:
            idle = min(-change, len(pool.items))
            del pool.items[:idle]
            state["leaving"] += -change - idle

    def release() -> None:
        if state["leaving"]:
            state["leaving"] -= 1
        else:
            pool.put(object())

    def contact(i: int, service_s: float, patience: float):
        arrived = env.now
        request = pool.get()
        outcome = yield request | env.timeout(patience)
        if request not in outcome:
            request.cancel()
            tally.abandoned[i] += 1
            return
        wait = env.now - arrived
        tally.answered[i] += 1
        tally.wait_answered[i] += wait
        tally.answered_in_time[i] += wait <= answer_s
        start = env.now
        yield env.timeout(service_s)
        # Busy time is credited to the intervals it falls in.
        first, last = int(start // length_s), int(min(env.now, n * length_s - 1e-9) // length_s)
        for j in range(first, min(last, n - 1) + 1):
            tally.busy_s[j] += min(env.now, (j + 1) * length_s) - max(start, j * length_s)
        release()

    def arrivals():
        for i in range(n):
            set_staff(int(agents[i]))
            count = rng.poisson(volume[i])
            times = np.sort(rng.uniform(0, length_s, count))
            services = rng.exponential(aht[i], count)
            patiences = rng.exponential(patience_s, count) if patience_s else np.full(count, math.inf)
            base = i * length_s
            for t, service, patience in zip(times, services, patiences, strict=True):
                yield env.timeout(base + t - env.now)
                tally.offered[i] += 1
                env.process(contact(i, service, patience))
            yield env.timeout(base + length_s - env.now)

    env.process(arrivals())
    env.run(until=n * length_s + 6 * 3600)  # let the last queue drain
    offered = np.maximum(tally.offered, 1)
    staffed_s = np.asarray(agents, dtype=float) * length_s
    return pd.DataFrame({
        "service_level": np.where(tally.offered > 0, tally.answered_in_time / offered, 1.0),
        "asa_s": np.where(tally.answered > 0, tally.wait_answered / np.maximum(tally.answered, 1), 0.0),
        "p_abandon": tally.abandoned / offered,
        "occupancy": np.where(staffed_s > 0, np.minimum(tally.busy_s / np.maximum(staffed_s, 1e-9), 1.0), 0.0),
        "offered": tally.offered,
        "answered_in_time": tally.answered_in_time,
        "abandoned": tally.abandoned,
    })


def overall_service_level(kpis: pd.DataFrame) -> tuple[float, float] | None:
    """Volume-weighted service level over every queue interval: (Erlang, simulated); None without volume."""
    queues = kpis.dropna(subset=["service_level"])
    volume = queues["volume"].fillna(0)
    if volume.sum() <= 0:
        return None
    weight = volume / volume.sum()
    erlang = float((queues["service_level"] * weight).sum())
    simulated = float((queues["sim_service_level"] * weight).sum()) if "sim_service_level" in queues else erlang
    return erlang, simulated


def daily_rollup(kpis: pd.DataFrame) -> pd.DataFrame:
    """Per date and skill: volume-weighted service level, ASA, abandonment; staffed hours."""
    frame = kpis.copy()
    frame["date"] = pd.to_datetime(frame["interval_start"]).dt.date
    frame["w"] = frame["volume"].fillna(0)
    grouped = frame.groupby(["date", "skill"])
    out = pd.DataFrame({
        "volume": grouped["w"].sum(),
        "required": grouped["required"].sum(),
        "scheduled": grouped["scheduled"].sum(),
    })
    for column in ("service_level", "asa_s", "p_abandon", "occupancy"):
        weighted = (frame[column] * frame["w"]).groupby([frame["date"], frame["skill"]]).sum()
        out[column] = weighted / out["volume"].where(out["volume"] > 0)
    return out.reset_index()
