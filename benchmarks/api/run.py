"""Load run of the HTTP API on loopback: concurrent staffing requests (idle and while roster jobs solve) and
roster jobs through the worker processes. Writes benchmarks/api/RESULTS.md.

Usage: python benchmarks/api/run.py [--requests 400] [--concurrency 16] [--jobs 4] [--job-time-limit 5]
Starts its own `wfm serve` on a free port with a temporary SQLite database (nothing else is touched).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from machine import machine_description  # noqa: E402

from wfm.roster.samples import call_centre_scenario  # noqa: E402

WFM = Path(sys.executable).with_name("wfm")
SAMPLE = call_centre_scenario(agents=12, days=7, seed=5, leaders=False, outbound=False)
STAFFING = {
    "interval_min": 30,
    "patience_s": 60,
    "targets": {"service_level": 0.8, "answer_s": 20, "shrinkage": 0.3},
    "intervals": [{"volume": 20 + 5 * (i % 24), "aht_s": 240} for i in range(48)],  # a day of half hours
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def staffing_load(client: httpx.AsyncClient, total: int, concurrency: int) -> dict:
    latencies: list[float] = []
    errors = 0
    queue = list(range(total))

    async def worker() -> None:
        nonlocal errors
        while queue:
            queue.pop()
            began = time.perf_counter()
            answer = await client.post("/staffing", json=STAFFING)
            latencies.append(time.perf_counter() - began)
            errors += answer.status_code != 200

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "requests": total,
        "errors": errors,
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))],
        "throughput_rps": total / wall,
    }


async def roster_jobs(client: httpx.AsyncClient, count: int, time_limit_s: float) -> dict:
    body = {
        "start_date": SAMPLE.start_date.isoformat(),
        "days": SAMPLE.days,
        "time_limit_s": time_limit_s,
        "requirements": [r.model_dump(mode="json", exclude_none=True) for r in SAMPLE.requirements],
    }
    began = time.perf_counter()
    ids = []
    for _ in range(count):
        answer = await client.post("/sites/hotline/roster-jobs", json=body)
        answer.raise_for_status()
        ids.append(answer.json()["id"])
    submitted = time.perf_counter() - began
    finished: dict[str, float] = {}
    states: dict[str, str] = {}
    while len(finished) < count:
        for job_id in ids:
            if job_id in finished:
                continue
            job = (await client.get(f"/sites/hotline/roster-jobs/{job_id}")).json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                finished[job_id], states[job_id] = time.perf_counter() - began, job["status"]
        await asyncio.sleep(0.2)
    return {
        "jobs": count,
        "succeeded": sum(s == "succeeded" for s in states.values()),
        "submit_s": submitted,
        "all_done_s": max(finished.values()),
        "per_job_s": sorted(finished.values()),
    }


async def run(args: argparse.Namespace, base_url: str, key: str) -> dict:
    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": key}, timeout=120) as client:
        await staffing_load(client, 20, 4)  # warm-up
        idle = await staffing_load(client, args.requests, args.concurrency)
        jobs_task = asyncio.create_task(roster_jobs(client, args.jobs, args.job_time_limit))
        await asyncio.sleep(1.0)
        busy = await staffing_load(client, args.requests, args.concurrency)
        jobs = await jobs_task
    return {"idle": idle, "busy": busy, "jobs": jobs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--job-time-limit", type=float, default=5.0)
    parser.add_argument("--max-concurrent-jobs", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="wfm-api-bench-"))
    env = dict(
        os.environ,
        WFM_DATABASE_URL=f"sqlite:///{folder / 'wfm.db'}",
        WFM_MAX_CONCURRENT_JOBS=str(args.max_concurrent_jobs),
        WFM_SOLVER_WORKERS="1",
    )
    key = subprocess.run(
        [str(WFM), "apikey", "create", "--site", "hotline"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [str(WFM), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base_url}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        with httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=60) as client:
            client.put("/sites/hotline", json={"business": "call_centre", "rules": {"handover_min": 10}})
            employees = [e.model_dump(mode="json", exclude_defaults=True) | {"id": e.id} for e in SAMPLE.employees]
            client.put("/sites/hotline/employees", json=employees).raise_for_status()
            templates = [t.model_dump(mode="json", exclude_defaults=True) for t in SAMPLE.templates]
            client.put("/sites/hotline/shift-templates", json=templates).raise_for_status()
        figures = asyncio.run(run(args, base_url, key))
    finally:
        server.terminate()
        server.wait(timeout=30)
    write_results(args, figures)


def write_results(args: argparse.Namespace, figures: dict) -> None:
    lines = [
        "# HTTP API load run (loopback)",
        "",
        f"Machine: {machine_description()}.",
        f"Command: `python benchmarks/api/run.py --requests {args.requests} --concurrency {args.concurrency} "
        f"--jobs {args.jobs} --job-time-limit {args.job_time_limit} --max-concurrent-jobs "
        f"{args.max_concurrent_jobs}` (one `wfm serve` process, uvicorn, SQLite; CP-SAT 1 worker per solve).",
        "",
        "Staffing: `POST /staffing` with a day of 48 half hours (Erlang A 80/20, 60 s patience), "
        f"{args.concurrency} concurrent clients.",
        "",
        "| staffing load | requests | errors | p50 ms | p95 ms | throughput req/s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, label in (("idle", "server idle"), ("busy", "while roster jobs solve")):
        f = figures[name]
        lines.append(
            f"| {label} | {f['requests']} | {f['errors']} | {f['p50_ms']:.1f} | {f['p95_ms']:.1f} | "
            f"{f['throughput_rps']:.0f} |"
        )
    jobs = figures["jobs"]
    lines += [
        "",
        f"Roster jobs: {jobs['jobs']} jobs (12 agents x 7 days, {args.job_time_limit:g} s solver limit each) "
        f"submitted in {jobs['submit_s']:.2f} s; {jobs['succeeded']} succeeded; all done after "
        f"{jobs['all_done_s']:.1f} s (each: {', '.join(f'{t:.1f}' for t in jobs['per_job_s'])} s). "
        f"With {args.max_concurrent_jobs} solve(s) at a time they run one after another; the solves run in "
        "worker processes, so the staffing figures above were served while they ran.",
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
