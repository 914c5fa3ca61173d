"""Independent references for the queueing engine, sharing no code with ``wfm.erlang``.

* ``erlang_a_by_states``: the M/M/N+M stationary distribution summed state by state, with each waiting
  caller's fate (answered within t / abandoned) taken from the matrix exponential of its own absorbing
  Markov chain (scipy.linalg.expm) - no incomplete gamma functions anywhere.
* ``simulate_erlang_a``: a discrete-event simulation of the FCFS M/M/N+M queue.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
from scipy.linalg import expm


def erlang_a_by_states(n: int, lam: float, mu: float, theta: float, t: float, max_queue: int = 400) -> dict:
    weights = [1.0]
    for j in range(1, n + max_queue + 1):
        rate_out = min(j, n) * mu + max(j - n, 0) * theta
        weights.append(weights[-1] * lam / rate_out)
    pi = np.array(weights) / sum(weights)
    p_wait = pi[n:].sum()
    answered_within_t = pi[:n].sum()
    answered_total = pi[:n].sum()
    wait_answered = 0.0
    for queue_ahead in range(0, max_queue):
        weight = pi[n + queue_ahead]
        if weight < 1e-16:
            continue
        # Transient states k = callers ahead (queue_ahead..0); absorbing: answered, abandoned.
        size = queue_ahead + 1
        q = np.zeros((size + 2, size + 2))
        for k in range(size):
            q[k, k] = -(n * mu + k * theta + theta)
            if k > 0:
                q[k, k - 1] = n * mu + k * theta
            else:
                q[k, size] = n * mu  # answered
            q[k, size + 1] = theta  # own patience runs out
        start = queue_ahead
        answered_within_t += weight * expm(q * t)[start, size]
        # Fundamental matrix: expected time in each transient state; E[wait; answered] weights the time
        # spent in state k by the chance of being answered from there.
        sub = q[:size, :size]
        fundamental = np.linalg.inv(-sub)
        p_answered_from = fundamental @ q[:size, size]
        answered_total += weight * p_answered_from[start]
        wait_answered += weight * fundamental[start, :] @ p_answered_from
    p_abandon = 1.0 - answered_total
    return {
        "p_wait": p_wait,
        "service_level": answered_within_t,
        "p_abandon": p_abandon,
        "asa_s": wait_answered / answered_total,
        "occupancy": lam * (1 - p_abandon) / mu / n,
    }


def simulate_erlang_a(
    n: int, lam: float, mu: float, theta: float, t: float, calls: int, seed: int, short_abandon_s: float = 0.0
) -> dict:
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / lam, calls))
    services = rng.exponential(1 / mu, calls)
    patience = (
        rng.exponential(1 / theta, calls)
        if math.isfinite(1 / theta if theta else math.inf) and theta > 0
        else np.full(calls, np.inf)
    )
    free_at = [0.0] * n
    answered_in_t = abandoned = waited = short = 0
    wait_answered = 0.0
    answered = 0
    for arrival, service, tau in zip(arrivals, services, patience, strict=True):
        earliest = free_at[0]
        wait = max(0.0, earliest - arrival)
        if wait > 0:
            waited += 1
        if wait <= tau:
            heapq.heapreplace(free_at, arrival + wait + service)
            answered += 1
            wait_answered += wait
            answered_in_t += wait <= t
        else:
            abandoned += 1
            short += tau <= short_abandon_s
    return {
        "p_wait": waited / calls,
        "service_level": answered_in_t / calls,
        "p_abandon": abandoned / calls,
        "asa_s": wait_answered / answered,
        "service_level_excl_short": answered_in_t / (calls - short),
    }
