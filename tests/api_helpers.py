"""Shared set-up of the API tests: databases (SQLite always, PostgreSQL when WFM_TEST_DATABASE_URL names one),
apps, keys and a realistic call-centre site built from the roster engine's sample."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from wfm_api.db import make_engine, migrate, session_factory
from wfm_api.main import create_app
from wfm_api.security import create_api_key
from wfm_api.settings import Settings

from wfm.roster.samples import call_centre_scenario

POSTGRES_URL = os.environ.get("WFM_TEST_DATABASE_URL", "")


def backends() -> list:
    """SQLite always; PostgreSQL when configured (required in CI, where WFM_REQUIRE_POSTGRES=1)."""
    marks = []
    if not POSTGRES_URL:
        reason = "WFM_TEST_DATABASE_URL is not set: no PostgreSQL to test against"
        if os.environ.get("WFM_REQUIRE_POSTGRES") == "1":
            raise RuntimeError(f"{reason}, but WFM_REQUIRE_POSTGRES=1")
        marks = [pytest.mark.skip(reason=reason)]
    return ["sqlite", pytest.param("postgresql", marks=marks)]


def fresh_database(kind: str, folder: Path) -> str:
    """A URL of an empty database of the kind (PostgreSQL: the configured one, emptied)."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'wfm.db'}"
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return POSTGRES_URL


def make_key(url: str, *sites: str) -> str:
    engine = make_engine(url)
    migrate(engine)
    with session_factory(engine)() as session:
        key = create_api_key(session, list(sites))
    engine.dispose()
    return key


def api_settings(url: str, **overrides: object) -> Settings:
    values = {"database_url": url, "max_concurrent_jobs": 1, "solver_workers": 2, "poll_interval_s": 0.1}
    values.update(overrides)
    return Settings(**values)


def client_for(url: str, **overrides: object) -> TestClient:
    return TestClient(create_app(api_settings(url, **overrides)), raise_server_exceptions=False)


SAMPLE = call_centre_scenario(agents=12, days=7, seed=5, leaders=False, outbound=False)


def site_config() -> dict:
    return {"name": "Hotline", "business": "call_centre", "timezone": "Asia/Shanghai", "interval_min": 30,
            "rules": {"handover_min": 10}}


def load_sample_site(client: TestClient, key: str, site: str) -> None:
    """A twelve-agent hotline: site, employees and shift templates pushed as an HR system would."""
    headers = {"X-API-Key": key}
    assert client.put(f"/sites/{site}", json=site_config(), headers=headers).status_code == 201
    employees = [e.model_dump(mode="json", exclude_defaults=True) | {"id": e.id} for e in SAMPLE.employees]
    answer = client.put(f"/sites/{site}/employees", json=employees, headers=headers)
    assert answer.status_code == 200, answer.text
    templates = [t.model_dump(mode="json", exclude_defaults=True) for t in SAMPLE.templates]
    answer = client.put(f"/sites/{site}/shift-templates", json=templates, headers=headers)
    assert answer.status_code == 200, answer.text


def sample_requirements() -> list[dict]:
    return [r.model_dump(mode="json", exclude_none=True) for r in SAMPLE.requirements]


def wait_for_job(client: TestClient, key: str, site: str, job_id: str, states: tuple[str, ...], limit_s: float = 120):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        job = client.get(f"/sites/{site}/roster-jobs/{job_id}", headers={"X-API-Key": key}).json()
        if job["status"] in states:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not reach {states} in {limit_s} s: {job}")
