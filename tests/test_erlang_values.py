"""The queueing engine against published values, closed forms and an independent state-by-state model."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from queue_reference import erlang_a_by_states

from wfm.erlang import erlang_b, lines_for_blocking, queue_figures


def erlang_c_exact(n: int, a: Fraction) -> Fraction:
    """P(wait) of Erlang C in exact rational arithmetic from the textbook sums."""
    terms = sum(a**k / math.factorial(k) for k in range(n))
    top = a**n / math.factorial(n) * Fraction(n) / (n - a)
    return top / (terms + top)


def test_published_erlang_c_100_calls_30_min_aht_180():
    thirteen, fourteen = queue_figures([13, 14], 10.0, 180.0, 20.0).service_level
    assert round(thirteen, 4) == 0.7956
    assert round(fourteen, 4) == 0.8884
    assert queue_figures(14, 10.0, 180.0).p_wait == pytest.approx(0.174132, abs=5e-7)


def test_published_erlang_a_patience_300():
    f = queue_figures(14, 10.0, 180.0, 20.0, patience_s=300.0)
    assert f.p_wait == pytest.approx(0.145260, abs=5e-7)
    assert f.p_abandon == pytest.approx(0.013984, abs=5e-7)
    assert f.occupancy == pytest.approx(0.704297, abs=5e-7)
    assert f.service_level == pytest.approx(0.916792, abs=5e-7)


@pytest.mark.parametrize(
    ("n", "a"), [(1, Fraction(1, 2)), (5, Fraction(37, 10)), (14, Fraction(10)), (40, Fraction(33))]
)
def test_erlang_c_matches_exact_rational_sum(n, a):
    exact = float(erlang_c_exact(n, a))
    assert queue_figures(n, float(a), 200.0).p_wait == pytest.approx(exact, rel=1e-10)


def test_erlang_b_table_values_and_recursion():
    # Textbook table: E_B(10, 5) = 0.018385, E_B(1, 1) = 0.5.
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=5e-7)
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    # The classical recursion E(n) = a E(n-1) / (n + a E(n-1)) for a range of loads, incl. deep overload.
    for a in (0.3, 7.0, 250.0, 10_000.0):
        e = 1.0
        for n in range(1, 12_001 if a > 1000 else 400):
            e = a * e / (n + a * e)
            if n in (1, 5, 50, 300, 6_000, 9_900, 10_000, 12_000):
                assert erlang_b(n, a) == pytest.approx(e, rel=1e-9), (n, a)


def test_lines_for_blocking_is_the_smallest():
    loads = np.array([0.5, 15.0, 120.0, 3_000.0])
    needed = lines_for_blocking(loads, 0.01)
    assert np.all(erlang_b(needed, loads) <= 0.01)
    assert np.all(erlang_b(needed - 1, loads) > 0.01)


@pytest.mark.parametrize(
    ("n", "volume", "aht_s", "patience_s"),
    [(14, 100, 180, 300), (12, 100, 180, 60), (3, 8, 300, 20), (30, 400, 240, 90), (9, 120, 180, 60)],
)
def test_erlang_a_matches_state_by_state_model(n, volume, aht_s, patience_s):
    lam, mu, theta = volume / 1800.0, 1 / aht_s, 1 / patience_s
    ref = erlang_a_by_states(n, lam, mu, theta, t=20.0)
    f = queue_figures(n, lam / mu, aht_s, 20.0, patience_s=patience_s)
    for key in ("p_wait", "service_level", "p_abandon", "occupancy", "asa_s"):
        assert getattr(f, key) == pytest.approx(ref[key], rel=1e-6, abs=1e-10), key


def test_erlang_a_tends_to_erlang_c_as_patience_grows():
    c = queue_figures(14, 10.0, 180.0, 20.0)
    a = queue_figures(14, 10.0, 180.0, 20.0, patience_s=1e10)
    for key in ("p_wait", "service_level", "asa_s", "occupancy"):
        assert getattr(a, key) == pytest.approx(getattr(c, key), rel=1e-5), key


@pytest.mark.parametrize("load", [0.01, 0.5, 1.0, 10.0, 100.0, 1_000.0, 10_000.0, 25_000.0])
def test_stable_from_a_fraction_to_tens_of_thousands_of_erlangs(load):
    agents = np.unique(
        np.maximum(0, np.round(load + np.array([-3, -1, 0, 1, 2, 5, 20]) * np.sqrt(load) + [0, 0, 0, 1, 1, 1, 1]))
    )
    for patience in (None, 60.0):
        f = queue_figures(agents, load, 180.0, 20.0, patience_s=patience, short_abandon_s=5.0)
        for key in ("p_wait", "service_level", "p_abandon", "occupancy", "service_level_excl_short"):
            values = getattr(f, key)
            assert np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= 1)), (
                key,
                load,
                patience,
            )
        assert np.all(np.diff(f.service_level) >= -1e-12)
        assert not np.any(np.isnan(f.asa_s))


def test_whole_number_load_at_equal_agents_does_not_divide_by_zero():
    f = queue_figures(10, 10.0, 180.0)
    assert f.service_level == 0.0 and f.p_wait == 1.0 and math.isinf(f.asa_s)
