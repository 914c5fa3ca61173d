"""The loops of ``wfm.roster.linedp`` over a line's days, compiled by numba: the shortest line, the minute repair
and the polish's move search, with the rule checks they share; and ``best_line``'s rounds of prices around them.

Each is a loop over the days with a few small loops inside. As numpy operations per day the shortest line cost
~15 ms a call on a 364-day line (Python's overhead per operation), and ``best_line`` calls it ~23 times a line;
compiled it takes ~1-2 ms (Curtois 24) and finds the same lines, ties broken the same way. ``best_line`` with
its repairs is 7 times faster, the polish 4 times (60 captured Curtois lines, the same lines as the numpy
code). Compiled too, the rounds of prices around the recursion take a line from 2.9 to 0.7 ms (Curtois 19)
and find the same lines (1514 captured lines of Curtois 5-22: 3 differ, ties of equal cost). No library does
these resource-constrained paths and moves over a roster's days, so they are written here. Imported on first
use (numba takes ~0.4 s to import); compiled once per machine (~30 s: `make` does it at install) and cached
beside this file.

``shortest_line``'s states of a day (flat in ``work``, day ``d``'s from ``work_start[d]``): ``work[f, k, r]``,
the cheapest path ending on option k in a run of r + 1 days of work (capped at the minimum when there is no
maximum); and ``rest[d, f, j]``, ending on a rest day in a run of j + 1 rest days (capped at the minimum). Flag
f = 1: the run began on the first day, so with edge runs exempt it may end short. The forward pass keeps every day's
states; the way back recomputes the one step taken, so no back-pointers are stored.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit, objmode

_INF = np.inf
# Which states count where a run ends: those whose run may end there (a run of the first day may end short),
# every state (the horizon's end, edge runs exempt), or those of full-length runs not of the first day.
_MAY_END, _ALL, _FULL = 0, 1, 2


@njit(cache=True)
def _counts(f: int, length: int, minimum: int, which: int) -> bool:
    if which == _ALL:
        return True
    if which == _MAY_END:
        return f == 1 or length >= minimum
    return f == 0 and length >= minimum


@njit(cache=True)
def _cheapest_work(work: np.ndarray, at: int, options: int, runs: int, min_run: int, which: int) -> tuple[float, int]:
    """The first cheapest of a day's work states that count (``which``): value and flat offset from ``at``."""
    value, first = _INF, 0
    i = 0
    for f in range(2):
        for _ in range(options):
            for r in range(runs):
                v = work[at + i] if _counts(f, r + 1, min_run, which) else _INF
                if i == 0 or v < value:
                    value, first = v, i
                i += 1
    return value, first


@njit(cache=True)
def _cheapest_rest(rest: np.ndarray, day: int, rests: int, min_rest: int, which: int) -> tuple[float, int]:
    """The first cheapest of a day's rest states that count (``which``): value and flat index (f, j)."""
    value, first = _INF, 0
    for f in range(2):
        for j in range(rests):
            v = rest[day, f, j] if _counts(f, j + 1, min_rest, which) else _INF
            if f + j == 0 or v < value:
                value, first = v, f * rests + j
    return value, first


@njit(cache=True)
def _weekend_extras(weekend_number: np.ndarray, day: int, weekend_price: float) -> tuple[float, float]:
    """What working ``day`` adds for its weekend: after a rest day, and in a run of work going on (nothing when
    yesterday was a day of the same weekend, already paid)."""
    if weekend_number[day] < 0:
        return 0.0, 0.0
    return weekend_price, 0.0 if _same_weekend(weekend_number, day) else weekend_price


@njit(cache=True)
def _same_weekend(weekend_number: np.ndarray, day: int) -> bool:
    """Whether ``day`` and the day before are days of one weekend."""
    return day > 0 and weekend_number[day] >= 0 and weekend_number[day - 1] == weekend_number[day]


@njit(cache=True)
def shortest_line(
    price: np.ndarray,
    start: np.ndarray,
    succession: np.ndarray,
    succession_start: np.ndarray,
    weekend_number: np.ndarray,
    weekend_price: float,
    runs: int,
    min_run: int,
    min_rest: int,
    capped_runs: bool,
    edge_exempt: bool,
    whole_weekends: bool = False,
) -> np.ndarray:
    """Per day the option position of the cheapest line (-1: rest day). Arrays as ``linedp._Layout`` has them,
    ``price`` per option in the same order; successions cost 0 (allowed) or more (inf: forbidden). With
    ``whole_weekends``, the days of a weekend are all worked or all rested."""
    days = len(start) - 1
    rests = min_rest
    work_start = np.zeros(days + 1, np.int64)
    for d in range(days):
        work_start[d + 1] = work_start[d] + 2 * (start[d + 1] - start[d]) * runs
    work = np.full(work_start[days], _INF)
    rest = np.full((days, 2, rests), _INF)
    first = 1 if edge_exempt else 0
    options = start[1] - start[0]
    for k in range(options):
        work[(first * options + k) * runs] = price[k] + (weekend_price if weekend_number[0] >= 0 else 0.0)
    rest[0, first, 0] = 0.0
    widest = 1
    for d in range(days):
        widest = max(widest, start[d + 1] - start[d])
    best = np.empty((2, widest, runs))
    first_run_open = True  # some state of flag 1 still reachable
    for d in range(1, days):
        before, today = start[d] - start[d - 1], start[d + 1] - start[d]
        after_rest, going_on = _weekend_extras(weekend_number, d, weekend_price)
        at_before, at_today = work_start[d - 1], work_start[d]
        work_ends = _cheapest_work(work, at_before, before, runs, min_run, _MAY_END)[0] if before else _INF
        rest_ends = _cheapest_rest(rest, d - 1, rests, min_rest, _MAY_END)[0]
        if whole_weekends and _same_weekend(weekend_number, d):  # no run ends inside a weekend
            work_ends, rest_ends = _INF, _INF
        if rests > 1:
            for f in range(2):
                for j in range(1, rests):
                    rest[d, f, j] = rest[d - 1, f, j - 1]
                rest[d, f, rests - 1] = min(rest[d, f, rests - 1], rest[d - 1, f, rests - 1])
            rest[d, 0, 0] = work_ends
        else:
            rest[d, 0, 0] = min(rest[d - 1, 0, 0], work_ends)
            rest[d, 1, 0] = rest[d - 1, 1, 0]
        if today and before:
            s0 = succession_start[d]
            for f in range(2 if first_run_open else 1):
                for r in range(runs):
                    # Successions cost 0 or more: the two cheapest options of yesterday settle almost every
                    # option of today; only where both are forbidden before it are all of them scanned.
                    m1, m2, j1, j2 = _INF, _INF, -1, -1
                    for j in range(before):
                        v = work[at_before + (f * before + j) * runs + r]
                        if v < m1:
                            m2, j2 = m1, j1
                            m1, j1 = v, j
                        elif v < m2:
                            m2, j2 = v, j
                    for k in range(today):
                        b = _INF
                        if j1 >= 0:
                            s1 = succession[s0 + j1 * today + k]
                            if s1 == 0.0:
                                b = m1
                            elif j2 >= 0 and succession[s0 + j2 * today + k] == 0.0:
                                b = min(m1 + s1, m2)
                            else:
                                for j in range(before):
                                    b = min(b, work[at_before + (f * before + j) * runs + r]
                                            + succession[s0 + j * today + k])
                        best[f, k, r] = b
                for k in range(today):
                    add = price[start[d] + k] + going_on
                    at = at_today + (f * today + k) * runs
                    for r in range(1, runs):
                        work[at + r] = best[f, k, r - 1]
                    if capped_runs:
                        work[at + runs - 1] = min(work[at + runs - 1], best[f, k, runs - 1])
                    for r in range(runs):
                        work[at + r] += add
        for k in range(today):
            at = at_today + k * runs
            work[at] = min(work[at], rest_ends + price[start[d] + k] + after_rest)
        if first_run_open:
            first_run_open = False
            for j in range(rests):
                first_run_open |= rest[d, 1, j] < _INF
            for i in range(today * runs):
                first_run_open |= work[at_today + today * runs + i] < _INF
    # The last run touches the horizon's end: exempt from the minimums where edge runs are.
    last = days - 1
    options = start[days] - start[last]
    which = _ALL if edge_exempt else _FULL
    work_value, work_at = _cheapest_work(work, work_start[last], options, runs, min_run, which)
    rest_value, rest_at = _cheapest_rest(rest, last, rests, min_rest, which)
    choice = np.full(days, -1, np.int64)
    # The state held: working (f, k, r) or resting (f, r).
    if options and work_value < rest_value:
        working, f, k, r = True, work_at // (options * runs), work_at // runs % options, work_at % runs
    else:
        working, f, k, r = False, rest_at // rests, 0, rest_at % rests
    for d in range(days - 1, 0, -1):
        before, today = start[d] - start[d - 1], start[d + 1] - start[d]
        at_before = work_start[d - 1]
        after_rest, going_on = _weekend_extras(weekend_number, d, weekend_price)
        joined = whole_weekends and _same_weekend(weekend_number, d)  # as in the forward pass
        # Yesterday's states that lead here, in the order of the numpy recursion this replaced (the first of
        # the cheapest is taken): work on, then a run of work begun after rest; rest on, then rest after work.
        found, value = False, _INF
        step = (False, 0, 0, 0)
        if working:
            choice[d] = k
            for length in (r - 1, r):
                if length < 0 or (length == r and not (capped_runs and r == runs - 1)) or not before:
                    continue
                s0 = succession_start[d]
                through, j_best = _INF, 0
                for j in range(before):
                    v = work[at_before + (f * before + j) * runs + length] + succession[s0 + j * today + k]
                    if j == 0 or v < through:
                        through, j_best = v, j
                if not found or through + going_on < value:
                    found, value, step = True, through + going_on, (True, f, j_best, length)
            if f == 0 and r == 0 and not joined:
                v, at = _cheapest_rest(rest, d - 1, rests, min_rest, _MAY_END)
                if not found or v + after_rest < value:
                    found, value, step = True, v + after_rest, (False, at // rests, 0, at % rests)
        else:
            if r > 0:
                found, value, step = True, rest[d - 1, f, r - 1], (False, f, 0, r - 1)
            if r == rests - 1 and (not found or rest[d - 1, f, r] < value):
                found, value, step = True, rest[d - 1, f, r], (False, f, 0, r)
            if f == 0 and r == 0 and before and not joined:
                v, at = _cheapest_work(work, at_before, before, runs, min_run, _MAY_END)
                if not found or v < value:
                    found, value, step = True, v, (True, at // (before * runs), at // runs % before, at % runs)
        working, f, k, r = step
    if working:
        choice[0] = k
    return choice


@njit(cache=True)
def _follows(
    day: int, option: int, before: int, after: int, option_start: np.ndarray, succession: np.ndarray,
    succession_start: np.ndarray,
) -> bool:
    """Whether working ``option`` on ``day`` keeps the successions with the options held the days either side
    (``before`` and ``after``; -1: a rest day or none)."""
    today = option_start[day + 1] - option_start[day]
    if before >= 0 and not np.isfinite(succession[succession_start[day] + before * today + option]):
        return False
    if after >= 0:
        tomorrow = option_start[day + 2] - option_start[day + 1]
        return bool(np.isfinite(succession[succession_start[day + 1] + option * tomorrow + after]))
    return True


@njit(cache=True)
def run_lengths_kept(
    choice: np.ndarray, day: int, max_run: int, min_run: int, min_rest: int, edge_exempt: bool
) -> bool:
    """Whether the runs of work and rest from the one holding the day before ``day`` to the one holding the day
    after keep their maximum (``max_run`` < 0: none) and minimum lengths."""
    days = len(choice)
    lo, hi = max(0, day - 1), min(days - 1, day + 1)
    first = lo
    while first > 0 and (choice[first - 1] >= 0) == (choice[lo] >= 0):
        first -= 1
    d = first
    while d < days and (d <= hi or (choice[d] >= 0) == (choice[d - 1] >= 0)):
        end = d + 1
        while end < days and (choice[end] >= 0) == (choice[d] >= 0):
            end += 1
        length, working = end - d, choice[d] >= 0
        if working and max_run >= 0 and length > max_run:
            return False
        exempt = edge_exempt and (d == 0 or end == days)
        if not exempt and length < (min_run if working else min_rest):
            return False
        d = end
    return True


@njit(cache=True)
def _moves_kept(
    choice: np.ndarray,
    days_moved: np.ndarray,
    options_moved: np.ndarray,
    per_template: np.ndarray,
    max_per_template: np.ndarray,
    weekend_number: np.ndarray,
    weekends: int,
    max_weekends: int,
    start: np.ndarray,
    template: np.ndarray,
    succession: np.ndarray,
    succession_start: np.ndarray,
    max_run: int,
    min_run: int,
    min_rest: int,
    edge_exempt: bool,
    whole_weekends: bool,
) -> bool:
    """Whether a line with the moves (day, new option position) applied keeps the template maxima and weekends
    (``per_template`` and ``weekends``: the line's counts before; no worse where it already broke them; with
    ``whole_weekends``, no weekend worked whole split), and the successions and runs around the days moved.
    The minutes are the caller's. ``choice`` is restored. Called ~1200 times a step of ``best_move``: it looks
    only at what the moves touch, with no copies."""
    moves = len(days_moved)
    for m in range(moves):  # the maxima of the templates the moves take (only those can rise)
        if options_moved[m] < 0:
            continue
        t = template[start[days_moved[m]] + options_moved[m]]
        change = 0
        for n in range(moves):
            d, k = days_moved[n], options_moved[n]
            if choice[d] >= 0 and template[start[d] + choice[d]] == t:
                change -= 1
            if k >= 0 and template[start[d] + k] == t:
                change += 1
        if per_template[t] + change > max(per_template[t], max_per_template[t]):
            return False
    held = np.empty(moves, np.int64)
    for m in range(moves):
        held[m] = choice[days_moved[m]]
        choice[days_moved[m]] = options_moved[m]
    kept = True
    if max_weekends >= 0:
        extra = 0
        days = len(choice)
        for m in range(moves):
            w = weekend_number[days_moved[m]]
            if w < 0 or (m == 1 and weekend_number[days_moved[0]] == w):
                continue  # no weekend, or the first move's
            now = was = False
            now_all = was_all = True
            # A weekend's days lie in one ISO week (``model.weekend_groups``), so within six days of each other.
            for x in range(max(0, days_moved[m] - 6), min(days, days_moved[m] + 7)):
                if weekend_number[x] == w:
                    was_option = choice[x]
                    for n in range(moves):
                        if days_moved[n] == x:
                            was_option = held[n]
                    now |= choice[x] >= 0
                    was |= was_option >= 0
                    now_all &= choice[x] >= 0
                    was_all &= was_option >= 0
            extra += int(now) - int(was)
            if whole_weekends and now and not now_all and not (was and not was_all):
                kept = False  # a whole weekend split: lines planned with whole weekends keep them so
        kept = kept and not (extra > 0 and weekends + extra > max_weekends)
    for m in range(moves):
        if not kept:
            break
        d = days_moved[m]
        before = choice[d - 1] if d > 0 else -1
        after = choice[d + 1] if d < len(choice) - 1 else -1
        if choice[d] >= 0 and not _follows(d, choice[d], before, after, start, succession, succession_start):
            kept = False
        kept = kept and run_lengths_kept(choice, d, max_run, min_run, min_rest, edge_exempt)
    for m in range(moves - 1, -1, -1):
        choice[days_moved[m]] = held[m]
    return kept


@njit(cache=True, nogil=True)
def best_move(
    delta: np.ndarray,
    minutes: np.ndarray,
    alone: np.ndarray,
    day: np.ndarray,
    alt: np.ndarray,
    total_min: float,
    low: float,
    high: float,
    near: int,
    anchors: int,
    tries: int,
    choice: np.ndarray,
    rules: tuple,
) -> tuple[float, np.ndarray]:
    """One step of ``linedp.polish_line``: the best single-day change that keeps every rule, and the best pair
    of changes with one of the ``anchors`` cheapest single changes (each with its ``tries`` cheapest partners
    in the minutes window), if better. Per alternative (flat, ``day`` and ``alt``): what it changes in cost
    (``delta``) and minutes, and whether it keeps the rules around its day alone (``alone``). Returns the gain
    (negative; -1e-9 where there is none) and the alternatives to take (none, one or two). ``rules``: the
    arguments of ``_moves_kept`` after the moves, the line's counts with them. The alternatives are sorted by
    ``delta`` once, and each anchor's partners are read off that order until their sum no longer gains (not
    filtered and sorted per anchor: half the time of a step on Curtois 22)."""
    best_value = -1e-9
    best = np.zeros(0, np.int64)
    order = np.argsort(delta, kind="mergesort")  # cheapest first, ties in index order
    for i in order:
        if delta[i] >= 0:
            break
        if not (alone[i] and low <= total_min + minutes[i] <= high):
            continue
        if _moves_kept(choice, day[i:i + 1], alt[i:i + 1], *rules):
            best_value, best = delta[i], np.array([i])
            break
    pair_days = np.zeros(2, np.int64)
    pair_options = np.zeros(2, np.int64)
    for i in order[:anchors]:
        if delta[i] >= best_value:
            break
        d1 = day[i]
        tried = 0
        for j in order:
            total = delta[i] + delta[j]
            if total >= best_value:
                break
            # A day that breaks a run or succession rule alone is mended only by a change near it.
            if day[j] == d1 or not (abs(day[j] - d1) <= near or (alone[i] and alone[j])):
                continue
            if not low <= total_min + minutes[i] + minutes[j] <= high:
                continue
            pair_days[0], pair_days[1] = d1, day[j]
            pair_options[0], pair_options[1] = alt[i], alt[j]
            if _moves_kept(choice, pair_days, pair_options, *rules):
                best_value, best = total, np.array([i, j])
                break
            tried += 1
            if tried == tries:
                break
    return best_value, best


@njit(cache=True)
def _run_kept(length: int, work: bool, first: int, last: int, days: int, max_run: int, min_run: int,
              min_rest: int, edge_exempt: bool) -> bool:
    """Whether a run of work (or rest) over days ``first`` to ``last`` keeps its maximum and minimum length."""
    if work and max_run >= 0 and length > max_run:
        return False
    if edge_exempt and (first == 0 or last == days - 1):
        return True
    return length >= (min_run if work else min_rest)


@njit(cache=True)
def flips_kept(working: np.ndarray, max_run: int, min_run: int, min_rest: int, edge_exempt: bool) -> np.ndarray:
    """Per day, whether turning it from work to rest or back, alone, keeps the lengths of the runs around it (as
    ``run_lengths_kept`` after the flip): the part of its run before it and the part after it, and the new run
    it joins with the runs either side of a run of one day."""
    days = len(working)
    left = np.ones(days, np.int64)  # days of the run up to and with each day
    right = np.ones(days, np.int64)  # days of the run from each day on
    for d in range(1, days):
        if working[d] == working[d - 1]:
            left[d] = left[d - 1] + 1
    for d in range(days - 2, -1, -1):
        if working[d] == working[d + 1]:
            right[d] = right[d + 1] + 1
    kept = np.empty(days, np.bool_)
    rules = (days, max_run, min_run, min_rest, edge_exempt)
    for d in range(days):
        work = working[d]
        before = left[d] == 1 or _run_kept(left[d] - 1, work, d - left[d] + 1, d - 1, *rules)
        after = right[d] == 1 or _run_kept(right[d] - 1, work, d + 1, d + right[d] - 1, *rules)
        reach_left = left[d - 1] if left[d] == 1 and d > 0 else 0
        reach_right = right[d + 1] if right[d] == 1 and d < days - 1 else 0
        joined = _run_kept(reach_left + 1 + reach_right, not work, d - reach_left, d + reach_right, *rules)
        kept[d] = before and after and joined
    return kept


@njit(cache=True)
def repair_minutes(
    choice: np.ndarray,
    paid: float,
    low: float,
    high: float,
    alt_start: np.ndarray,
    alt: np.ndarray,
    alt_cost: np.ndarray,
    alt_paid: np.ndarray,
    alt_template: np.ndarray,
    max_per_template: np.ndarray,
    weekend_number: np.ndarray,
    max_weekends: int,
    option_start: np.ndarray,
    succession: np.ndarray,
    succession_start: np.ndarray,
    max_run: int,
    min_run: int,
    min_rest: int,
    edge_exempt: bool,
    whole_weekends: bool,
) -> np.ndarray:
    """``linedp._repair_minutes``: a line's paid minutes brought into [``low``, ``high``], one change at a time,
    the cheapest per minute first (the first of the cheapest, in day order), as far as the rules allow. Every
    day's alternatives flat (``alt_start[d]``: day d's rest day, then its options), as ``linedp._Alternatives``
    lays them out."""
    choice = choice.copy()
    days = len(choice)
    per_template = np.zeros(len(max_per_template))
    worked_days = np.zeros(max(1, weekend_number.max() + 1 if days else 1), np.int64)
    weekend_size = np.zeros(len(worked_days), np.int64)
    for d in range(days):
        if weekend_number[d] >= 0:
            weekend_size[weekend_number[d]] += 1
    while not (low <= paid <= high):
        shed = paid > high
        working = choice >= 0
        per_template[:] = 0
        worked_days[:] = 0
        for d in range(days):
            if working[d]:
                per_template[alt_template[alt_start[d] + choice[d] + 1]] += 1
                if weekend_number[d] >= 0:
                    worked_days[weekend_number[d]] += 1
        weekend_full = max_weekends >= 0 and (worked_days > 0).sum() >= max_weekends
        flips = flips_kept(working, max_run, min_run, min_rest, edge_exempt)
        best, best_day, best_ratio = -1, -1, np.inf
        for d in range(days):
            before = choice[d - 1] if d > 0 else -1
            after = choice[d + 1] if d < days - 1 else -1
            # a rest day inside a rest run: a run of one day's work, rarely allowed
            run_end = d == 0 or d == days - 1 or working[d] != (before >= 0) or working[d] != (after >= 0)
            if not (working[d] or run_end):
                continue
            if weekend_full and weekend_number[d] >= 0 and worked_days[weekend_number[d]] == 0 and not working[d]:
                continue  # a weekend more than allowed
            # A day of a whole weekend (worked on every day or none) planned so changes only between options.
            w = weekend_number[d]
            whole_only = whole_weekends and w >= 0 and weekend_size[w] > 1 and worked_days[w] % weekend_size[w] == 0
            current = alt_start[d] + choice[d] + 1
            for i in range(alt_start[d], alt_start[d] + option_start[d + 1] - option_start[d] + 1):
                change = alt_paid[current] - alt_paid[i]  # minutes shed by taking the alternative instead
                if not ((0 < change <= paid - low) if shed else (change < 0 and -change <= high - paid)):
                    continue
                k = alt[i]
                if k < 0 and not (working[d] and run_end):
                    continue  # only a worked day at a run's end is rested
                if whole_only and working[d] != (k >= 0):
                    continue  # it would split a whole weekend
                if k >= 0:
                    t = alt_template[i]
                    if per_template[t] + 1 > max_per_template[t] and not (working[d] and t == alt_template[current]):
                        continue
                if not (working[d] and k >= 0) and not flips[d]:
                    continue  # the run rules: only a change between work and rest can break them
                if k >= 0 and not _follows(d, k, before, after, option_start, succession, succession_start):
                    continue
                ratio = (alt_cost[i] - alt_cost[current]) / abs(change)
                if ratio < best_ratio:
                    best, best_day, best_ratio = i, d, ratio
        if best < 0:
            return choice
        paid -= alt_paid[alt_start[best_day] + choice[best_day] + 1] - alt_paid[best]
        choice[best_day] = alt[best]
    return choice


@njit(cache=True, nogil=True)
def locally_kept(
    choice: np.ndarray,
    alt_start: np.ndarray,
    alt: np.ndarray,
    option_start: np.ndarray,
    succession: np.ndarray,
    succession_start: np.ndarray,
    max_run: int,
    min_run: int,
    min_rest: int,
    edge_exempt: bool,
) -> np.ndarray:
    """Per alternative (flat, as in ``repair_minutes``), whether changing only its day to it keeps the
    successions with its neighbours and the run lengths around it (the horizon's limits aside)."""
    days = len(choice)
    flips = flips_kept(choice >= 0, max_run, min_run, min_rest, edge_exempt)
    kept = np.ones(len(alt), np.bool_)
    for d in range(days):
        before = choice[d - 1] if d > 0 else -1
        after = choice[d + 1] if d < days - 1 else -1
        for i in range(alt_start[d], alt_start[d] + option_start[d + 1] - option_start[d] + 1):
            k = alt[i]
            if (choice[d] >= 0) != (k >= 0) and not flips[d]:
                kept[i] = False  # between work and rest: the runs change
            elif k >= 0:
                kept[i] = _follows(d, k, before, after, option_start, succession, succession_start)
    return kept


@njit(cache=True)
def _over(per_template: np.ndarray, max_per_template: np.ndarray) -> bool:
    return bool(np.any(per_template > max_per_template))


@njit(cache=True)
def repair_templates(
    choice: np.ndarray, low: float, high: float, option_start: np.ndarray, cost: np.ndarray, paid: np.ndarray,
    template: np.ndarray, max_per_template: np.ndarray, succession: np.ndarray, succession_start: np.ndarray,
) -> np.ndarray:
    """``linedp._repair_templates``: per pass every worked day's swaps out of a template over its maximum into
    one with room, applied cheapest first (ties in day order, then option order), each checked against the
    line as it stands then (minutes in ``low``..``high``, successions); until no template is over or a pass
    changes nothing."""
    held = choice.copy()
    days = len(held)
    while True:
        per_template = np.zeros(len(max_per_template))
        total = 0.0
        for d in range(days):
            if held[d] >= 0:
                per_template[template[option_start[d] + held[d]]] += 1
                total += paid[option_start[d] + held[d]]
        if not _over(per_template, max_per_template):
            return held
        delta = np.empty(len(cost))
        swap_day = np.empty(len(cost), np.int64)
        swap_option = np.empty(len(cost), np.int64)
        n = 0
        for d in range(days):
            if held[d] < 0:
                continue
            current = option_start[d] + held[d]
            if per_template[template[current]] <= max_per_template[template[current]]:
                continue
            for j in range(option_start[d + 1] - option_start[d]):
                other = template[option_start[d] + j]
                if per_template[other] < max_per_template[other]:
                    delta[n] = cost[option_start[d] + j] - cost[current]
                    swap_day[n] = d
                    swap_option[n] = j
                    n += 1
        changed = False
        for s in np.argsort(delta[:n], kind="mergesort"):
            d, j = swap_day[s], swap_option[s]
            current, new = option_start[d] + held[d], option_start[d] + j
            old_template, new_template = template[current], template[new]
            after_swap = total - paid[current] + paid[new]
            if (
                per_template[old_template] <= max_per_template[old_template]
                or per_template[new_template] >= max_per_template[new_template]
                or not low <= after_swap <= high
            ):
                continue
            before = held[d - 1] if d > 0 else -1
            after = held[d + 1] if d + 1 < days else -1
            if not _follows(d, j, before, after, option_start, succession, succession_start):
                continue
            held[d] = j
            per_template[old_template] -= 1
            per_template[new_template] += 1
            total = after_swap
            changed = True
            if not _over(per_template, max_per_template):
                return held
        if not changed:
            return held


@njit(cache=True)
def _measured(
    choice: np.ndarray, start: np.ndarray, cost: np.ndarray, paid: np.ndarray, template: np.ndarray,
    weekend_number: np.ndarray, per_template: np.ndarray, weekend_seen: np.ndarray,
) -> tuple[float, float, int]:
    """``linedp._measure``: a line's cost, paid minutes and weekends worked; its shifts per template into
    ``per_template``."""
    total_cost, total_paid, weekends = 0.0, 0.0, 0
    per_template[:] = 0.0
    weekend_seen[:] = False
    for d in range(len(choice)):
        if choice[d] >= 0:
            at = start[d] + choice[d]
            total_cost += cost[at]
            total_paid += paid[at]
            per_template[template[at]] += 1.0
            w = weekend_number[d]
            if w >= 0 and not weekend_seen[w]:
                weekend_seen[w] = True
                weekends += 1
    return total_cost, total_paid, weekends


@njit(cache=True)
def _judged(
    choice: np.ndarray, start: np.ndarray, cost: np.ndarray, paid: np.ndarray, template: np.ndarray,
    weekend_number: np.ndarray, per_template: np.ndarray, weekend_seen: np.ndarray, max_per_template: np.ndarray,
    low: float, high: float, max_weekends: int, unit_min: float,
) -> tuple[float, float]:
    """``linedp._judged``: a line's cost and how far it breaks the horizon's limits, in shifts."""
    line_cost, total_paid, weekends = _measured(choice, start, cost, paid, template, weekend_number, per_template,
                                                weekend_seen)
    breach = 0.0
    for t in range(len(per_template)):
        breach += max(0.0, per_template[t] - max_per_template[t])
    if high < _INF:
        breach += max(0.0, total_paid - high) / unit_min
    if low > -_INF:
        breach += max(0.0, low - total_paid) / unit_min
    if max_weekends >= 0:
        breach += max(0, weekends - max_weekends)
    return line_cost, breach


# A price searched by bisection (``best_line``), as an array: price, floor, low, high, first stride, stride. It
# is raised while the quantity it prices is above its limit, lowered while below; strides double until the price
# is bracketed. The other prices move meanwhile, so a bracket that has closed (to 1/64 of the first stride) on a
# price still on the wrong side is opened again, with the first stride.
_PRICE, _FLOOR, _LOW, _HIGH, _FIRST_STRIDE, _STRIDE = 0, 1, 2, 3, 4, 5


@njit(cache=True)
def _bisection(stride: float, floor: float) -> np.ndarray:
    return np.array([max(0.0, floor), floor, floor, _INF, stride, stride])


@njit(cache=True)
def _closed(b: np.ndarray) -> bool:
    """A bracket closed to 1/64 of the first stride: opened again by the caller, with the first stride."""
    if b[_HIGH] - b[_LOW] >= b[_FIRST_STRIDE] / 64:
        return False
    b[_STRIDE] = b[_FIRST_STRIDE]
    return True


@njit(cache=True)
def _raise_price(b: np.ndarray) -> None:
    b[_LOW] = b[_PRICE]
    if _closed(b):
        b[_HIGH] = _INF
    b[_PRICE] = (b[_LOW] + b[_HIGH]) / 2 if b[_HIGH] < _INF else b[_PRICE] + b[_STRIDE]
    b[_STRIDE] *= 2


@njit(cache=True)
def _lower_price(b: np.ndarray) -> None:
    b[_HIGH] = b[_PRICE]
    if _closed(b):
        b[_LOW] = b[_FLOOR]
    b[_PRICE] = (b[_LOW] + b[_HIGH]) / 2 if b[_LOW] > -_INF else b[_PRICE] - b[_STRIDE]
    b[_STRIDE] *= 2


@njit(cache=True)
def _now() -> float:
    with objmode(now="float64"):
        now = time.perf_counter()
    return now


@njit(cache=True, nogil=True)
def best_line(
    cost: np.ndarray,
    paid: np.ndarray,
    template: np.ndarray,
    start: np.ndarray,
    succession: np.ndarray,
    succession_start: np.ndarray,
    weekend_number: np.ndarray,
    max_per_template: np.ndarray,
    low: float,
    high: float,
    max_weekends: int,
    max_run: int,
    min_run: int,
    min_rest: int,
    edge_exempt: bool,
    alt_start: np.ndarray,
    alt: np.ndarray,
    alt_paid: np.ndarray,
    alt_template: np.ndarray,
    iterations: int,
    until: float,
    whole_weekends: bool = False,
) -> tuple[np.ndarray, float, float]:
    """``linedp.best_line`` but for its weekends decided beforehand: the best line found in ``iterations``
    rounds of prices (fewer once ``until`` passes), its cost and breach. Arrays as ``linedp._Layout`` and
    ``linedp._Alternatives`` lay them out (the alternatives' costs are taken from ``cost``); limits absent are
    -inf / inf / -1."""
    days = len(start) - 1
    templates = len(max_per_template)
    unit_min = paid.mean() if len(paid) else 1.0
    longest_min = paid.max() if len(paid) else 1.0
    scale = np.abs(cost).max() if len(cost) else 0.0
    if scale <= 0:
        scale = 1.0
    runs = max_run if max_run >= 0 else min_run
    per_template = np.zeros(templates)
    weekend_seen = np.zeros(max(1, weekend_number.max() + 1 if days else 1), np.bool_)
    alt_cost = _alternative_costs(cost, start, alt_start)
    minute = _bisection(scale / unit_min / 8, -_INF)
    weekend = _bisection(scale / 4, 0.0)
    template_price = np.zeros(templates)
    best, best_cost, best_breach = np.zeros(0, np.int64), _INF, _INF
    # The nearest line above the window (side 1) and below it (side 0): distance, line, minutes; and the side
    # found first, the order the final mending takes them in.
    near_distance = np.array([_INF, _INF])
    near_line = np.zeros((2, days), np.int64)
    near_paid = np.zeros(2)
    first_side = -1
    prices = np.empty(len(cost))
    for iteration in range(iterations):
        if iteration and until < _INF and _now() > until:
            break
        for i in range(len(cost)):
            prices[i] = cost[i] + minute[_PRICE] * paid[i] + template_price[template[i]]
        choice = shortest_line(prices, start, succession, succession_start, weekend_number, weekend[_PRICE], runs,
                               min_run, min_rest, max_run < 0, edge_exempt, whole_weekends)
        _, total_paid, weekends = _measured(choice, start, cost, paid, template, weekend_number, per_template,
                                            weekend_seen)
        above = total_paid - high if high < _INF else -_INF
        below = low - total_paid if low > -_INF else -_INF
        outside = max(above, below)
        extra_weekends = weekends - max_weekends if max_weekends >= 0 else 0
        extra_shifts = per_template - max_per_template
        candidate = np.zeros(0, np.int64)
        if outside > 0:
            # Mended only when nearer the window than any line before on its side, and near enough: mending
            # costs a pass over the days per change.
            side = 1 if above > 0 else 0
            if outside < near_distance[side]:
                if first_side < 0:
                    first_side = side
                near_distance[side], near_line[side], near_paid[side] = outside, choice, total_paid
                if outside <= 2 * longest_min:
                    candidate = _mended(choice, total_paid, low, high, cost, paid, template, start, succession,
                                        succession_start, weekend_number, max_per_template, max_weekends, max_run,
                                        min_run, min_rest, edge_exempt, alt_start, alt, alt_cost, alt_paid,
                                        alt_template, whole_weekends)
        else:
            candidate = repair_templates(choice, low, high, start, cost, paid, template, max_per_template,
                                         succession, succession_start)
        if len(candidate):
            c_cost, c_breach = _judged(candidate, start, cost, paid, template, weekend_number, per_template,
                                       weekend_seen, max_per_template, low, high, max_weekends, unit_min)
            if c_breach < best_breach or (c_breach == best_breach and c_cost < best_cost):
                best, best_cost, best_breach = candidate, c_cost, c_breach
        if above > 0:
            _raise_price(minute)
        elif below > 0:
            _lower_price(minute)
        if extra_weekends > 0:
            _raise_price(weekend)
        elif weekend[_PRICE] > 0:  # the least price that keeps the weekends to their maximum
            _lower_price(weekend)
        step = scale / 4 / (1.0 + iteration / 3)
        for t in range(templates):
            template_price[t] = max(0.0, template_price[t] + step * min(1.0, max(-1.0, extra_shifts[t])))
    if best_breach > 0:  # the minute price's breakpoint may leave every line far outside: mend the nearest
        for side in (first_side, 1 - first_side):
            if side < 0 or near_distance[side] == _INF or near_distance[side] <= 2 * longest_min:
                continue
            candidate = _mended(near_line[side], near_paid[side], low, high, cost, paid, template, start, succession,
                                succession_start, weekend_number, max_per_template, max_weekends, max_run, min_run,
                                min_rest, edge_exempt, alt_start, alt, alt_cost, alt_paid, alt_template,
                                whole_weekends)
            c_cost, c_breach = _judged(candidate, start, cost, paid, template, weekend_number, per_template,
                                       weekend_seen, max_per_template, low, high, max_weekends, unit_min)
            if c_breach < best_breach or (c_breach == best_breach and c_cost < best_cost):
                best, best_cost, best_breach = candidate, c_cost, c_breach
    return best, best_cost, best_breach


@njit(cache=True)
def _alternative_costs(cost: np.ndarray, start: np.ndarray, alt_start: np.ndarray) -> np.ndarray:
    """The alternatives' costs (``linedp._Alternatives.cost``): 0 for each day's rest day, then its options'."""
    days = len(start) - 1
    alt_cost = np.zeros(len(cost) + days)
    for d in range(days):
        for k in range(start[d + 1] - start[d]):
            alt_cost[alt_start[d] + 1 + k] = cost[start[d] + k]
    return alt_cost


@njit(cache=True)
def _mended(
    choice: np.ndarray, total_paid: float, low: float, high: float, cost: np.ndarray, paid: np.ndarray,
    template: np.ndarray, start: np.ndarray, succession: np.ndarray, succession_start: np.ndarray,
    weekend_number: np.ndarray, max_per_template: np.ndarray, max_weekends: int, max_run: int, min_run: int,
    min_rest: int, edge_exempt: bool, alt_start: np.ndarray, alt: np.ndarray, alt_cost: np.ndarray,
    alt_paid: np.ndarray, alt_template: np.ndarray, whole_weekends: bool,
) -> np.ndarray:
    """A line outside the minutes' window repaired in its minutes (``repair_minutes``), then its templates."""
    minutes = repair_minutes(choice, total_paid, low, high, alt_start, alt, alt_cost, alt_paid, alt_template,
                             max_per_template, weekend_number, max_weekends, start, succession, succession_start,
                             max_run, min_run, min_rest, edge_exempt, whole_weekends)
    return repair_templates(minutes, low, high, start, cost, paid, template, max_per_template, succession,
                            succession_start)
