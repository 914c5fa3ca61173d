"""Erlang B, Erlang C and Erlang A (M/M/N+M) performance figures, vectorised over intervals.

Everything is computed in log space from regularized incomplete gamma functions, so it is stable from a
fraction of an Erlang to well beyond 10,000 Erlangs, with no factorials and no loops over servers.
scipy's gamma functions underflow in the far tails; there the two quantities that matter (the inverse
Erlang B ratio and Erlang A's ``A`` function) switch to short convergent series.

Erlang A, exact. With arrival rate ``lam``, service rate ``mu``, abandonment rate ``theta`` (mean
patience ``1/theta``) and ``N`` agents, put ``x = lam/theta`` and ``s = N*mu/theta``. An arrival that
finds ``n`` callers waiting has an offered wait ``V`` with ``theta*V = -log(B)``, ``B ~ Beta(s, n+1)``
(a sum of exponentials with rates ``s, s+1, ..., s+n``). Summing over the stationary distribution
(Mandelbaum & Zeltyn, "The Palm/Erlang-A queue", 2005) gives, with ``gamma`` the lower incomplete gamma
function and ``H(p, y) = e^x x^-p gamma(p, y)``:

* ``A = s H(s, x)``; ``pi_N = E_B / (1 + (A - 1) E_B)``; ``P(wait) = A pi_N``
* ``P(V > t) = pi_N s H(s, x e^-theta t)``
* ``P(answered after waiting at most t) = pi_N s [H(s+1, x) - H(s+1, x e^-theta t)]``
* ``P(abandon) = P(wait) - P(answered after waiting)``
* ``E[wait; answered] = pi_N s/theta * integral_0^1 b^s (-log b) e^{x(1-b)} db`` (derivative in ``s``)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

_TINY = 1e-290  # below this a regularized gamma value is treated as underflowed
_SERIES_TERMS_MAX = 5000


def _as_float(values: object) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _log_inverse_erlang_b(servers: np.ndarray, load: np.ndarray) -> np.ndarray:
    """log(1 / ErlangB(servers, load)) = log(sum_{j<=N} a^j/j! / (a^N/N!)), for integer ``servers``.

    Uses the Poisson identity ``sum_{j<=N} a^j/j! = e^a Q(N+1, a)``; where ``Q`` underflows
    (``N`` far below ``a``) it sums ``sum_k N!/(N-k)!/a^k``, whose ratio ``N/a`` is then well below 1.
    """
    n, a = np.broadcast_arrays(_as_float(servers), _as_float(load))
    out = np.zeros(n.shape)
    positive = a > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        q = special.gammaincc(n + 1.0, np.where(positive, a, 1.0))
        direct = np.log(q) + a - n * np.log(np.where(positive, a, 1.0)) + special.gammaln(n + 1.0)
    ok = positive & (q > _TINY)
    out[ok] = direct[ok]
    # a == 0: blocking is 0 for N >= 1, so 1/E_B is infinite; N == 0 blocks everything.
    out[~positive] = np.where(n[~positive] > 0, np.inf, 0.0)
    series = positive & ~ok
    if series.any():
        ns, as_ = n[series], a[series]
        total = np.ones(ns.shape)
        term = np.ones(ns.shape)
        for k in range(_SERIES_TERMS_MAX):
            term = term * np.maximum(ns - k, 0.0) / as_
            total += term
            if np.all(term < 1e-17 * total):
                break
        out[series] = np.log(total)
    return out


def erlang_b(lines: object, load_erl: object) -> np.ndarray:
    """Blocking probability of an M/M/N/N loss system (Erlang B) with ``lines`` servers and ``load_erl``."""
    n = np.floor(_as_float(lines))
    return np.exp(-_log_inverse_erlang_b(n, _as_float(load_erl)))


def lines_for_blocking(load_erl: object, max_blocking: float) -> np.ndarray:
    """Smallest number of lines whose Erlang B blocking is at most ``max_blocking``."""
    if not 0.0 < max_blocking < 1.0:
        raise ValueError(f"max_blocking: must be between 0 and 1 (exclusive), got {max_blocking}")
    load = _as_float(load_erl)
    lo = np.zeros(load.shape)
    hi = np.ceil(load + 10.0 * np.sqrt(load) + 10.0)
    while True:  # widen until every interval is met at hi
        short = erlang_b(hi, load) > max_blocking
        if not short.any():
            break
        hi = np.where(short, 2.0 * hi + 1.0, hi)
    while np.any(hi - lo > 0):
        mid = np.floor((lo + hi) / 2.0)
        meets = erlang_b(mid, load) <= max_blocking
        hi = np.where(meets, mid, hi)
        lo = np.where(meets, lo, mid + 1.0)
    return hi.astype(int)


def _log_h(p: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log H(p, y) = log(e^x x^-p gamma(p, y)) for 0 <= y <= x.

    Where scipy's gamma(p, y) underflows (y far below p) it uses the series
    ``gamma(p, y) = y^p e^-y sum_k y^k / (p (p+1) ... (p+k))``, whose ratio y/(p+k) is then small.
    """
    with np.errstate(divide="ignore"):
        out = x - p * np.log(x) + special.gammaln(p) + np.log(special.gammainc(p, y))
    series = ~np.isfinite(out) & (y > 0)
    if series.any():
        ps, ys, xs = p[series], y[series], x[series]
        total, term = np.zeros(ps.shape), np.ones(ps.shape)
        for k in range(_SERIES_TERMS_MAX):
            term = term * (ys / (ps + k) if k else 1.0 / ps)
            total += term
            if np.all(term < 1e-17 * total):
                break
        out[series] = (xs - ys) + ps * np.log(ys / xs) + np.log(total)
    return out


def _log_wait_integral(p: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log of integral_0^1 b^(p-1) (-log b) e^{x(1-b)} db = -dH(p, x)/dp.

    Direct regime: H(p, x) * (log x - digamma(p) - d/dp log P(p, x)), the last term by central
    difference (P is smooth in p on a scale of sqrt(p)). Underflow regime: the series of
    ``_log_h`` differentiated term by term.
    """
    step = 1e-4 * np.maximum(1.0, np.sqrt(p))
    lo = np.maximum(p - step, 1e-12)
    hi = p + step
    with np.errstate(divide="ignore", invalid="ignore"):
        d_log_p = (np.log(special.gammainc(hi, x)) - np.log(special.gammainc(lo, x))) / (hi - lo)
        bracket = np.log(x) - special.digamma(p) - d_log_p
        out = _log_h(p, x, x) + np.log(np.maximum(bracket, 0.0))
    series = ~np.isfinite(d_log_p)
    if series.any():
        ps, xs = p[series], x[series]
        total, term, harmonic = np.zeros(ps.shape), np.ones(ps.shape), np.zeros(ps.shape)
        for k in range(_SERIES_TERMS_MAX):
            term = term * (xs / (ps + k) if k else 1.0 / ps)
            harmonic = harmonic + 1.0 / (ps + k)
            total += term * harmonic
            if np.all(term * harmonic < 1e-17 * total):
                break
        out[series] = np.log(total)
    return out


def _log_a_function(s: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log A(s, x) with A = s e^x x^-s gamma(s, x)."""
    return np.log(s) + _log_h(s, x, x)


@dataclass(frozen=True)
class QueueFigures:
    """Achieved figures per interval for a given number of agents (arrays of one shape).

    ``service_level``: answered within the answer time over all offered (abandons count against it);
    ``service_level_excl_short``: the same with short abandons removed from the denominator;
    ``asa_s``: mean wait of answered contacts; ``p_abandon``: share of offered that abandon;
    ``occupancy``: busy time (talk + hold + after-call work) over staffed time.
    """

    agents: np.ndarray
    p_wait: np.ndarray
    service_level: np.ndarray
    service_level_excl_short: np.ndarray
    asa_s: np.ndarray
    p_abandon: np.ndarray
    p_short_abandon: np.ndarray
    occupancy: np.ndarray


def _erlang_c(n: np.ndarray, a: np.ndarray, aht: np.ndarray, answer_s: np.ndarray) -> dict[str, np.ndarray]:
    stable = n > a
    log_inv = _log_inverse_erlang_b(n, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(stable, n - a, 1.0)
        # P(wait) = N / (N + (N - a)(1/E_B - 1)) ... written as N / ((N - a)/E_B + a) in logs
        log_c = np.log(n) - np.logaddexp(log_inv + np.log(gap), np.log(np.where(a > 0, a, 1.0)))
        p_wait = np.where(stable, np.exp(log_c), 1.0)
        service_level = np.where(stable, 1.0 - p_wait * np.exp(-gap * answer_s / aht), 0.0)
        asa = np.where(stable, p_wait * aht / gap, np.inf)
        occupancy = np.where(stable, a / np.where(n > 0, n, 1.0), 1.0)
    zeros = np.zeros(n.shape)
    return {
        "p_wait": p_wait,
        "service_level": service_level,
        "service_level_excl_short": service_level,
        "asa_s": asa,
        "p_abandon": zeros,
        "p_short_abandon": zeros,
        "occupancy": occupancy,
    }


def _erlang_a(
    n: np.ndarray,
    a: np.ndarray,
    aht: np.ndarray,
    patience: np.ndarray,
    answer_s: np.ndarray,
    short_abandon_s: np.ndarray,
) -> dict[str, np.ndarray]:
    theta = 1.0 / patience
    mu = 1.0 / aht
    x = a * mu / theta  # lam / theta
    s = n * mu / theta
    has_agents = n > 0
    s_safe = np.where(has_agents, s, 1.0)

    log_inv = _log_inverse_erlang_b(n, a)
    log_a_fn = _log_a_function(s_safe, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_inv_minus_1 = log_inv + np.log1p(-np.exp(-log_inv))  # log(1/E_B - 1), -inf when N = 0
        log_pi_n = -np.logaddexp(log_inv_minus_1, log_a_fn)
        p_wait = np.where(has_agents, np.exp(log_a_fn + log_pi_n), 1.0)

        log_pref = log_pi_n + np.log(s_safe)  # pi_N * s
        p1 = s_safe + 1.0
        log_h_full = _log_h(p1, x, x)

        def answered_after_wait(t: np.ndarray) -> np.ndarray:
            """P(wait > 0 and answered with wait <= t) = pi_N s [H(s+1, x) - H(s+1, x e^-theta t)]."""
            y = x * np.exp(-theta * t)
            # In the direct regime subtract whichever regularized tails keep precision.
            lower = special.gammainc(p1, x) - special.gammainc(p1, y)
            upper = special.gammaincc(p1, y) - special.gammaincc(p1, x)
            diff = np.where(special.gammainc(p1, x) < 0.5, lower, upper)
            direct = np.exp(log_pref + x - p1 * np.log(x) + special.gammaln(p1) + np.log(diff))
            # Where gamma underflowed, difference the series values instead (the absolute error then is
            # ~1e-16 of P(wait), far below what any target can see).
            series = np.exp(log_pref + log_h_full) * -np.expm1(_log_h(p1, y, x) - log_h_full)
            return np.where(special.gammainc(p1, x) > _TINY, direct, series)

        answered_waited = answered_after_wait(np.full(n.shape, np.inf))
        p_abandon = np.where(has_agents, np.clip(p_wait - answered_waited, 0.0, 1.0), 1.0)
        sl_wait_part = answered_after_wait(answer_s)
        service_level = np.where(has_agents, np.clip(1.0 - p_wait + sl_wait_part, 0.0, 1.0), 0.0)

        # Short abandons: abandoned after waiting at most short_abandon_s.
        #   P = P(wait) - P(answered, wait <= ts) - e^-theta ts P(V > ts), P(V > t) = pi_N s H(s, x e^-theta t)
        ts = short_abandon_s
        y_ts = x * np.exp(-theta * ts)
        p_v_gt_ts = np.where(y_ts > 0, np.exp(log_pref + _log_h(s_safe, y_ts, x)), 0.0)
        p_short = np.clip(p_wait - answered_after_wait(ts) - np.exp(-theta * ts) * p_v_gt_ts, 0.0, 1.0)
        p_short = np.where(has_agents, p_short, 1.0 - np.exp(-theta * ts))
        denominator = 1.0 - p_short
        sl_excl = np.where(denominator > 0, np.clip(service_level / denominator, 0.0, 1.0), 0.0)

        # E[wait; answered] = pi_N s / theta * integral_0^1 b^s (-log b) e^{x(1-b)} db
        wait_answered = np.exp(log_pref + _log_wait_integral(p1, x)) / theta
        wait_answered = np.where(np.isfinite(wait_answered), wait_answered, 0.0)
        p_answered = 1.0 - p_abandon
        asa = np.where(has_agents & (p_answered > 0), wait_answered / np.maximum(p_answered, 1e-300), np.inf)
        occupancy = np.where(has_agents, a * (1.0 - p_abandon) / np.where(has_agents, n, 1.0), 0.0)
    return {
        "p_wait": p_wait,
        "service_level": service_level,
        "service_level_excl_short": sl_excl,
        "asa_s": asa,
        "p_abandon": p_abandon,
        "p_short_abandon": p_short,
        "occupancy": np.clip(occupancy, 0.0, 1.0),
    }


def queue_figures(
    agents: object,
    load_erl: object,
    aht_s: object,
    answer_s: object = 20.0,
    patience_s: object = None,
    short_abandon_s: object = 0.0,
) -> QueueFigures:
    """Service level, ASA, P(wait), abandonment and occupancy for ``agents`` against ``load_erl``.

    Erlang C when ``patience_s`` is None (or infinite), Erlang A (exponential patience) otherwise.
    All arguments broadcast; intervals with zero load get perfect figures and zero occupancy.
    """
    n = np.floor(_as_float(agents))
    a = _as_float(load_erl)
    aht = _as_float(aht_s)
    t = _as_float(answer_s)
    patience = np.full(np.broadcast(n, a).shape, np.inf) if patience_s is None else _as_float(patience_s)
    n, a, aht, t, patience, ts = np.broadcast_arrays(n, a, aht, t, patience, _as_float(short_abandon_s))
    shape = n.shape
    n, a, aht, t, patience, ts = (v.ravel() for v in (n, a, aht, t, patience, ts))

    result = {key: np.zeros(n.shape) for key in QueueFigures.__dataclass_fields__ if key != "agents"}
    result["service_level"][:] = 1.0
    result["service_level_excl_short"][:] = 1.0
    busy = a > 0
    erlang_c_rows = busy & ~np.isfinite(patience)
    erlang_a_rows = busy & np.isfinite(patience)
    for rows, figures in (
        (erlang_c_rows, lambda r: _erlang_c(n[r], a[r], aht[r], t[r])),
        (erlang_a_rows, lambda r: _erlang_a(n[r], a[r], aht[r], patience[r], t[r], ts[r])),
    ):
        if rows.any():
            for key, values in figures(rows).items():
                result[key][rows] = values
    return QueueFigures(agents=n.reshape(shape), **{k: v.reshape(shape) for k, v in result.items()})
