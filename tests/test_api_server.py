"""The API as a real server process: `wfm apikey create`, `wfm serve`, and a server killed with SIGKILL during
a solve: after a restart every job is queued again or final (none left "running"), the worker of the killed
server is gone, and the published roster is intact."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_helpers import SAMPLE, sample_requirements, site_config

WFM = Path(sys.executable).with_name("wfm")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(WFM), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError(f"server did not start: {server.stderr.read().decode()[-2000:]}")


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_status(client: httpx.Client, path: str, states: set[str], limit_s: float = 90) -> dict:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        job = client.get(path).json()
        if job["status"] in states:
            return job
        time.sleep(0.2)
    raise AssertionError(f"{path} did not reach {states}: {job}")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to find worker processes")
def test_server_killed_during_a_solve_leaves_no_running_job_and_keeps_the_published_roster(tmp_path) -> None:
    env = dict(os.environ, WFM_DATABASE_URL=f"sqlite:///{tmp_path / 'wfm.db'}", WFM_SOLVER_WORKERS="2")
    created = subprocess.run([str(WFM), "apikey", "create", "--site", "hotline"], env=env, capture_output=True,
                             text=True, check=True)
    key = created.stdout.strip()
    assert key.startswith("wfm_")
    port = free_port()
    server = start_server(env, port)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=30)
        assert client.put("/sites/hotline", json=site_config()).status_code == 201
        employees = [e.model_dump(mode="json", exclude_defaults=True) | {"id": e.id} for e in SAMPLE.employees]
        client.put("/sites/hotline/employees", json=employees).raise_for_status()
        templates = [t.model_dump(mode="json", exclude_defaults=True) for t in SAMPLE.templates]
        client.put("/sites/hotline/shift-templates", json=templates).raise_for_status()
        body = {"start_date": "2026-03-02", "days": 7, "requirements": sample_requirements()}
        first = client.post("/sites/hotline/roster-jobs", json=body | {"time_limit_s": 4}).json()
        done = wait_status(client, f"/sites/hotline/roster-jobs/{first['id']}", {"succeeded", "failed"})
        assert done["status"] == "succeeded", done
        roster_id = done["roster_id"]
        client.post(f"/sites/hotline/rosters/{roster_id}/publish").raise_for_status()
        published = client.get(f"/sites/hotline/rosters/{roster_id}").json()
        long_jobs = [client.post("/sites/hotline/roster-jobs", json=body | {"time_limit_s": 120}).json()["id"]
                     for _ in range(2)]
        wait_status(client, f"/sites/hotline/roster-jobs/{long_jobs[0]}", {"running"})
        time.sleep(2)  # well into the solve
        workers = children_of(server.pid)
        assert workers, "the running job has no worker process"
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in workers), "a worker outlived its killed server"

    # Restart without starting solves, to see the state the recovery leaves.
    server = start_server(dict(env, WFM_MAX_CONCURRENT_JOBS="0"), port)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=30)
        jobs = {j["id"]: j for j in client.get("/sites/hotline/roster-jobs").json()}
        assert {j["status"] for j in jobs.values()} <= {"queued", "succeeded", "failed", "cancelled"}
        assert jobs[long_jobs[0]]["status"] == "queued" and "restart" in jobs[long_jobs[0]]["error"]
        assert jobs[long_jobs[1]]["status"] == "queued" and jobs[first["id"]]["status"] == "succeeded"
        assert client.get(f"/sites/hotline/rosters/{roster_id}").json() == published
    finally:
        server.terminate()
        server.wait(timeout=30)
