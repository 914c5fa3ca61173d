"""The erlang / staff / lines / demo commands as a user runs them."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from wfm.cli import app

runner = CliRunner()


def test_erlang_json_has_the_documented_keys_and_values():
    result = runner.invoke(
        app,
        [
            "erlang",
            "--volume",
            "100",
            "--interval-min",
            "30",
            "--aht-s",
            "180",
            "--sl",
            "0.8",
            "--answer-s",
            "20",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"agents", "scheduled", "service_level", "asa_s", "p_wait", "p_abandon", "occupancy"}
    assert data["agents"] == 14 and data["p_wait"] == pytest.approx(0.174132, abs=1e-6)


def test_erlang_a_with_all_targets_prints_a_table():
    result = runner.invoke(
        app,
        [
            "erlang",
            "--volume",
            "100",
            "--aht-s",
            "180",
            "--patience-s",
            "60",
            "--max-occupancy",
            "0.85",
            "--max-abandon",
            "0.05",
            "--asa-s",
            "30",
            "--shrinkage",
            "0.3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "required agents" in result.output and "Erlang A" in result.output


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--volume", "-5", "--aht-s", "180"], "volume"),
        (["--volume", "5", "--aht-s", "0"], "aht_s"),
        (["--volume", "5", "--aht-s", "180", "--sl", "1.5"], "service_level"),
        (["--volume", "5", "--aht-s", "180", "--max-abandon", "0"], "max_abandon"),
    ],
)
def test_erlang_bad_input_is_a_clear_error(args, field):
    result = runner.invoke(app, ["erlang", *args])
    assert result.exit_code == 2
    assert f"error: {field}" in result.output.replace("\n", " ")
    assert "Traceback" not in result.output


def test_staff_writes_the_documented_columns(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(
        "interval_start,volume,aht_s\n2026-03-02T09:00:00,100,180\n2026-03-02T09:30:00,0,180\n"
        "2026-03-02T10:00:00,250,200\n"
    )
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app,
        ["staff", "--intervals", str(src), "--out", str(out), "--patience-s", "60", "--shrinkage", "0.25"],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == [
        "interval_start",
        "volume",
        "aht_s",
        "agents",
        "scheduled",
        "service_level",
        "asa_s",
        "p_abandon",
        "occupancy",
    ]
    assert frame["interval_start"].iloc[0] == "2026-03-02T09:00:00"
    assert frame["agents"].iloc[1] == 0 and (frame["scheduled"] >= frame["agents"]).all()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("interval_start,volume,aht_s\nnot-a-date,1,180\n", "interval_start: row 2"),
        ("interval_start,volume,aht_s\n2026-03-02T09:00,abc,180\n", "volume: row 2"),
        ("interval_start,volume\n2026-03-02T09:00,1\n", "aht_s: column is missing"),
        ("interval_start,volume,aht_s\n2026-03-02T09:00,1,180\n2026-03-02T09:00,2,180\n", "appears twice"),
        (
            "interval_start,volume,aht_s\n2026-03-02T09:00,-3,180\n2026-03-02T09:30,2,180\n",
            "volume: is negative",
        ),
    ],
)
def test_staff_bad_file_names_row_and_field_and_writes_nothing(tmp_path, body, message):
    src = tmp_path / "in.csv"
    src.write_text(body)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["staff", "--intervals", str(src), "--out", str(out), "--interval-min", "30"])
    assert result.exit_code == 2
    assert message in result.output.replace("\n", " ")
    assert not out.exists()


def test_lines_by_erlang_b():
    result = runner.invoke(app, ["lines", "--volume", "300", "--aht-s", "180", "--max-blocking", "0.01"])
    assert result.exit_code == 0 and "24 lines" in result.output
