"""Concurrent bulk cancels on one Cellcast account: each task pacing alone vs the shared Redis limiter.

``bash benchmarks/run`` runs this after ``benchmarks.main``; alone: ``.venv/bin/python -m
benchmarks.shared_limit``. It starts a throwaway ``redis-server`` (``scripts/install-redis``
installs it) and the emulator as its own process (40 requests/s sliding window per token, 30 ms
latency), then, for 2 and 4 worker processes side by side, runs every worker's bulk cancel of
200 IDs (``CellcastHook.cancel_scheduled_messages``, ``requests_per_second=40``,
``max_concurrency=8``; ``tests/integration/shared_limit_worker.py``) at the same moment, once
with each task pacing alone and once with ``rate_limit_redis_conn_id``. Reported: combined
throughput, wall time against the floor (all IDs / 40 per second), 429s the emulator answered,
cancel requests it received, IDs cancelled and failed. Writes ``benchmarks/shared_limit_results.md``
and ``.json`` and prints the table. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.common import CANCEL_PATH, REPO, emulator_process, load_average, machine_info

WORKER = REPO / "tests" / "integration" / "shared_limit_worker.py"
sys.path.insert(0, str(WORKER.parent))
from shared_limit_worker import next_answer  # noqa: E402 (the worker's own way of reading its answers)

LIMIT = 40
LATENCY_MS = 30
PER_WORKER = 200


@contextmanager
def redis_server() -> Iterator[int]:
    """A ``redis-server`` on a free loopback port without persistence; yields the port."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is missing: run `bash scripts/install-redis`")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        client.close()
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_round(emulator: Any, workers: int, shared: bool, env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """``workers`` processes cancelling 200 IDs each at the same moment; the emulator's counts."""
    client = emulator.client
    client.configure(rate_limit_per_second=None, latency_ms=0)
    ids: list[str] = []
    for index in range(workers):
        contacts = [f"+614{index:02d}{number:06d}" for number in range(PER_WORKER)]
        ids.extend(client.schedule_campaign(contacts=contacts))
    extra: dict[str, Any] = {"requests_per_second": LIMIT, "max_concurrency": 8}
    if shared:
        extra["rate_limit_redis_conn_id"] = "cellcast_redis"
    env = {
        **env,
        "AIRFLOW_CONN_CELLCAST_DEFAULT": json.dumps(
            {"conn_type": "cellcast", "host": emulator.url, "password": emulator.token, "extra": extra}
        ),
    }
    processes = []
    for index in range(workers):
        ids_file = workdir / f"ids_{workers}_{shared}_{index}.json"
        ids_file.write_text(json.dumps(ids[index * PER_WORKER : (index + 1) * PER_WORKER]))
        processes.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), str(ids_file)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        )
    try:
        for process in processes:
            assert process.stdout is not None
            if next_answer(process.stdout) != "ready":
                raise RuntimeError("a benchmark worker failed to start")
        client.configure(rate_limit_per_second=LIMIT, latency_ms=LATENCY_MS)
        time.sleep(1.2)  # the emulator's one-second window starts empty
        client.clear_stats()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = [json.loads(next_answer(process.communicate(timeout=900)[0].splitlines())) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    stats = client.stats()
    client.configure(rate_limit_per_second=None, latency_ms=0)
    wall = max(report["finished"] for report in reports) - min(report["started"] for report in reports)
    total = workers * PER_WORKER
    cancelled = sum(report["outcomes"].get("cancelled", 0) for report in reports)
    failed = sum(report["outcomes"].get("failed", 0) for report in reports)
    return {
        "workers": workers,
        "shared": shared,
        "ids": total,
        "wall_s": wall,
        "floor_s": total / LIMIT,
        "ratio_to_floor": wall / (total / LIMIT),
        "throughput_per_s": total / wall,
        "answered_429": int(stats["rate_limited"]),
        "cancel_requests": int(stats["by_path"].get(CANCEL_PATH, 0)),
        "cancelled": cancelled,
        "failed": failed,
        "failed_status_codes": [report["failed_status_codes"] for report in reports],
    }


def table(rounds: list[dict[str, Any]]) -> str:
    lines = [
        "| processes x IDs | pacing | wall time (floor) | combined throughput | 429s answered | cancel requests "
        "| cancelled | failed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for item in rounds:
        pacing = "shared (Redis)" if item["shared"] else "each task alone"
        lines.append(
            f"| {item['workers']} x {PER_WORKER} | {pacing} | {item['wall_s']:.2f} s ({item['floor_s']:.0f} s, "
            f"{item['ratio_to_floor']:.2f}x) | {item['throughput_per_s']:.1f}/s | {item['answered_429']} | "
            f"{item['cancel_requests']} | {item['cancelled']}/{item['ids']} | {item['failed']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4], help="process counts (2 4)")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="cellcast-bench-shared-"))
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    rounds: list[dict[str, Any]] = []
    info = machine_info()
    info["load_before"] = load_average()
    try:
        with redis_server() as port, emulator_process(env) as emulator:
            env["AIRFLOW_CONN_CELLCAST_REDIS"] = json.dumps({"conn_type": "redis", "host": "127.0.0.1", "port": port})
            for workers in args.workers:
                for shared in (False, True):
                    label = "shared limiter" if shared else "each task alone"
                    print(f"   {workers} processes x {PER_WORKER} IDs, {label} ...", flush=True)
                    rounds.append(run_round(emulator, workers, shared, env, home))
                    last = rounds[-1]
                    print(
                        f"      {last['wall_s']:.2f} s, {last['throughput_per_s']:.1f}/s, "
                        f"{last['answered_429']} answered 429, {last['failed']} failed",
                        flush=True,
                    )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    info["load_after"] = load_average()
    text = table(rounds)
    (REPO / "benchmarks" / "shared_limit_results.json").write_text(
        json.dumps({"machine": info, "limit": LIMIT, "latency_ms": LATENCY_MS, "rounds": rounds}, indent=2) + "\n"
    )
    (REPO / "benchmarks" / "shared_limit_results.md").write_text(
        "# Concurrent bulk cancels on one account\n\n"
        f"Emulator: {LIMIT} requests/s sliding window per token, {LATENCY_MS} ms latency. Each process: "
        f"`cancel_scheduled_messages` over {PER_WORKER} IDs, `requests_per_second={LIMIT}`, `max_concurrency=8`. "
        "Wall time: first start to last finish. Machine: "
        f"{info.get('cpu', '?')}, {info.get('nproc', '?')} CPUs, "
        f"load {info['load_before']} -> {info['load_after']}.\n\n"
        f"{text}\n"
    )
    print()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
