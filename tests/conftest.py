"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the test with a clear reason when this checkout lacks it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is missing: this checkout has no ../shared beside it")
    return path


@pytest.fixture(scope="session", autouse=True)
def _compiled_line_code() -> None:
    """The line code compiled (or loaded from numba's cache) before any test: on a fresh checkout compiling it
    takes ~30 s, which a solve's time limit would otherwise pay (CI once found Curtois 1 not proven optimal in
    its 30 s)."""
    from wfm.roster import linedp

    linedp._warmed_up()
