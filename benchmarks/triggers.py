"""Deferred status sensors in one triggerer loop: the thread-based trigger against the async one.

``bash benchmarks/run`` runs this; alone: ``.venv/bin/python -m benchmarks.triggers``. The
emulator runs as its own process and answers every report after 1 s (no rate limit). For N = 100,
300 and 1,000 deferred sensors (one message each), one fresh process runs N status triggers at
once in one event loop until every one fired, twice side by side:

* **threads**: the trigger as it was before the client package: each round ran the blocking
  hook in ``asyncio.to_thread`` (asyncio's default executor: ``min(32, cpus + 4)`` threads), and
  the hook started its own thread pool for the round;
* **async**: today's ``CellcastMessageStatusTrigger``, polling with ``AsyncCellcastClient``
  (aiohttp, tasks, no threads).

Reported: the time for the round, the peak number of threads alive, and the process's peak RSS.
Writes ``benchmarks/triggers_results.md`` and ``.json``. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import threading
import time
from typing import Any

from benchmarks.common import REPO, emulator_process, load_average, machine_info

SIZES = (100, 300, 1000)
LATENCY_MS = 1000


async def _round(mode: str, ids: list[str]) -> tuple[float, int]:
    from airflow_provider_cellcast.hooks.cellcast import CellcastHook
    from airflow_provider_cellcast.statuses import StatusRules
    from airflow_provider_cellcast.triggers.message_status import CellcastMessageStatusTrigger

    rules = StatusRules.build("canceled", None)
    peak = threading.active_count()
    finished = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not finished.is_set():
            peak = max(peak, threading.active_count())
            await asyncio.sleep(0.01)

    async def threaded(message_id: str) -> str:
        # The pre-client trigger: the blocking hook in a worker thread of the default executor.
        hook = CellcastHook("cellcast_bench", requests_per_second=0)
        try:
            check = await asyncio.to_thread(hook.check_statuses, [message_id], rules, {})
        finally:
            hook.close()
        return "success" if check.finished and not check.failed else "failed"

    async def asynchronous(message_id: str) -> str:
        trigger = CellcastMessageStatusTrigger(
            message_ids=[message_id],
            target_statuses=["canceled"],
            cellcast_conn_id="cellcast_bench",
            hook_params={"requests_per_second": 0},
        )
        async for event in trigger.run():
            return str(event.payload["status"])
        return "no event"

    sampler = asyncio.ensure_future(sample())
    started = time.monotonic()
    poll = threaded if mode == "threads" else asynchronous
    outcomes = await asyncio.gather(*(poll(message_id) for message_id in ids))
    elapsed = time.monotonic() - started
    finished.set()
    await sampler
    if outcomes.count("success") != len(ids):
        raise RuntimeError(f"{mode}: {len(ids) - outcomes.count('success')} trigger(s) did not succeed")
    return elapsed, peak


def one(mode: str, ids: list[str]) -> dict[str, Any]:
    """Run one round in this process (a fresh one, so that its peak RSS is its own)."""
    elapsed, peak = asyncio.run(_round(mode, ids))
    return {
        "mode": mode,
        "triggers": len(ids),
        "seconds": round(elapsed, 2),
        "peak_threads": peak,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--one", nargs=2, metavar=("MODE", "IDS_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        mode, ids_file = args.one
        with open(ids_file) as handle:
            print(json.dumps(one(mode, json.load(handle))))
        return 0

    rows: list[dict[str, Any]] = []
    with emulator_process(dict(os.environ)) as emulator:
        emulator.client.configure(latency_ms=LATENCY_MS)
        env = {
            **os.environ,
            "AIRFLOW_CONN_CELLCAST_BENCH": json.dumps(
                {"conn_type": "cellcast", "host": emulator.url, "password": emulator.token}
            ),
        }
        for size in args.sizes:
            ids = [emulator.client.seed_message(status="canceled", auto_advance=False)["_id"] for _ in range(size)]
            ids_file = REPO / ".artifacts" / f"trigger-ids-{size}.json"
            ids_file.parent.mkdir(exist_ok=True)
            ids_file.write_text(json.dumps(ids))
            for mode in ("threads", "async"):
                done = subprocess.run(
                    [sys.executable, "-m", "benchmarks.triggers", "--one", mode, str(ids_file)],
                    env=env,
                    capture_output=True,
                    text=True,
                    cwd=REPO,
                    timeout=1800,
                    check=False,
                )
                if done.returncode != 0:
                    raise RuntimeError(f"{mode} x {size} failed:\n{done.stderr[-3000:]}")
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(
                    f"{row['triggers']:>5} triggers, {mode:<7}: {row['seconds']:>7.2f} s, "
                    f"{row['peak_threads']:>3} threads, {row['peak_rss_mb']:>6.1f} MB peak RSS",
                    flush=True,
                )
    write(rows)
    return 0


def write(rows: list[dict[str, Any]]) -> None:
    machine = machine_info()
    lines = [
        "# Deferred status sensors in one event loop: thread-based trigger vs async trigger",
        "",
        f"Command: `.venv/bin/python -m benchmarks.triggers` (run by `bash benchmarks/run`). Emulator in its own "
        f"process, every report answered after {LATENCY_MS} ms, no rate limit; one message per trigger; each "
        "cell a fresh process. Machine: "
        + ", ".join(f"{key} {value}" for key, value in machine.items())
        + f"; load average at the end {load_average()}.",
        "",
        "| triggers | threads: round (s) | async: round (s) | speed-up | threads: peak threads | async: peak threads "
        "| threads: peak RSS (MB) | async: peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by_size: dict[int, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_size.setdefault(row["triggers"], {})[row["mode"]] = row
    for size, pair in sorted(by_size.items()):
        threaded, asynchronous = pair["threads"], pair["async"]
        lines.append(
            f"| {size} | {threaded['seconds']} | {asynchronous['seconds']} | "
            f"{threaded['seconds'] / asynchronous['seconds']:.1f}x | {threaded['peak_threads']} | "
            f"{asynchronous['peak_threads']} | {threaded['peak_rss_mb']} | {asynchronous['peak_rss_mb']} |"
        )
    (REPO / "benchmarks" / "triggers_results.md").write_text("\n".join(lines) + "\n")
    (REPO / "benchmarks" / "triggers_results.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
