"""API settings, read from the environment (``WFM_*``) once per app."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}: must be an integer, got {value!r}") from None


@dataclass(frozen=True)
class Settings:
    """``database_url``: SQLAlchemy URL (default an SQLite file ``wfm.db`` in the working directory).
    ``max_concurrent_jobs``: solves running at once, each in its own worker process.
    ``solver_workers``: CP-SAT workers per solve (None: all cores).
    ``max_body_bytes``: larger request bodies get 413. ``max_time_limit_s``: cap on a job's solver time."""

    database_url: str = field(default_factory=lambda: os.environ.get("WFM_DATABASE_URL", "sqlite:///wfm.db"))
    max_concurrent_jobs: int = field(default_factory=lambda: _int("WFM_MAX_CONCURRENT_JOBS", 1))
    solver_workers: int | None = field(default_factory=lambda: _int("WFM_SOLVER_WORKERS", 0) or None)
    max_body_bytes: int = field(default_factory=lambda: _int("WFM_MAX_BODY_BYTES", 20 * 1024 * 1024))
    max_time_limit_s: int = field(default_factory=lambda: _int("WFM_MAX_TIME_LIMIT_S", 3600))
    max_job_attempts: int = 2
    poll_interval_s: float = 0.5
