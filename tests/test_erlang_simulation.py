"""Erlang A against a discrete-event simulation of the FCFS M/M/N+M queue."""

from __future__ import annotations

import pytest
from queue_reference import simulate_erlang_a

from wfm.erlang import queue_figures


@pytest.mark.parametrize(
    ("n", "volume_per_30min", "aht_s", "patience_s"),
    [(12, 100, 180, 60), (9, 120, 180, 60), (45, 600, 240, 45)],
)
def test_erlang_a_agrees_with_simulation(n, volume_per_30min, aht_s, patience_s):
    lam, mu, theta = volume_per_30min / 1800.0, 1 / aht_s, 1 / patience_s
    sim = simulate_erlang_a(n, lam, mu, theta, t=20.0, calls=300_000, seed=7, short_abandon_s=5.0)
    f = queue_figures(n, lam / mu, aht_s, 20.0, patience_s=patience_s, short_abandon_s=5.0)
    # 300k calls: standard errors are ~0.001 on the shares; allow about 4 of them.
    assert f.service_level == pytest.approx(sim["service_level"], abs=0.006)
    assert f.p_wait == pytest.approx(sim["p_wait"], abs=0.006)
    assert f.p_abandon == pytest.approx(sim["p_abandon"], abs=0.004)
    assert f.service_level_excl_short == pytest.approx(sim["service_level_excl_short"], abs=0.006)
    assert f.asa_s == pytest.approx(sim["asa_s"], rel=0.06)


def test_erlang_c_agrees_with_simulation_without_abandonment():
    sim = simulate_erlang_a(14, 100 / 1800, 1 / 180, 0.0, t=20.0, calls=300_000, seed=3)
    f = queue_figures(14, 10.0, 180.0, 20.0)
    assert f.service_level == pytest.approx(sim["service_level"], abs=0.008)
    assert f.asa_s == pytest.approx(sim["asa_s"], rel=0.08)
