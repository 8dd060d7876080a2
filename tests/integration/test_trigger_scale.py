"""Hundreds of deferred status sensors in one event loop: waiting costs sockets, not threads.

300 status triggers, rebuilt from their serialized form as the triggerer rebuilds them, run at
once in one asyncio loop against an emulator (its own process) that answers every report after
1 s. They poll with the async client: no thread per poll, no thread pool. With the thread-based
trigger of 0.2.0's predecessor they were polled six at a time (asyncio's default executor on two
cores): 50 s. The figures side by side are ``benchmarks/triggers.py``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from airflow_provider_cellcast.emulator import emulator_process
from airflow_provider_cellcast.triggers.message_status import CellcastMessageStatusTrigger

pytestmark = pytest.mark.integration
TRIGGERS = 300


async def run_all(triggers: list[CellcastMessageStatusTrigger]) -> tuple[list[dict], int]:
    peak = threading.active_count()
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, threading.active_count())
            await asyncio.sleep(0.01)

    async def first_event(trigger: CellcastMessageStatusTrigger) -> dict:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    sampler = asyncio.ensure_future(sample())
    try:
        events = await asyncio.gather(*(first_event(trigger) for trigger in triggers))
    finally:
        done.set()
        await sampler
    return list(events), peak


def test_three_hundred_deferred_sensors_poll_at_once_on_a_handful_of_threads(monkeypatch):
    with emulator_process(None, "--latency-ms", "1000") as emulator:
        monkeypatch.setenv(
            "AIRFLOW_CONN_CELLCAST_SCALE",
            json.dumps({"conn_type": "cellcast", "host": emulator.base_url, "password": emulator.token}),
        )
        ids = [emulator.seed_message(status="canceled", auto_advance=False)["_id"] for _ in range(TRIGGERS)]
        triggers = []
        for message_id in ids:
            built = CellcastMessageStatusTrigger(
                message_ids=[message_id],
                target_statuses=["canceled"],
                cellcast_conn_id="cellcast_scale",
                hook_params={"requests_per_second": 0},  # no rate limit set
            )
            classpath, kwargs = built.serialize()
            assert classpath == "airflow_provider_cellcast.triggers.message_status.CellcastMessageStatusTrigger"
            triggers.append(CellcastMessageStatusTrigger(**json.loads(json.dumps(kwargs))))
        emulator.clear_stats()
        started = time.monotonic()
        events, peak_threads = asyncio.run(run_all(triggers))
        elapsed = time.monotonic() - started
        reports = emulator.stats()["by_path"].get("/api/v2/report/message/{messageId}", 0)
    assert [event["status"] for event in events] == ["success"] * TRIGGERS
    assert sorted(next(iter(event["statuses"])) for event in events) == sorted(ids)
    assert reports == TRIGGERS  # one report each: nobody polled twice
    assert peak_threads <= 24
    # Concurrency, not a benchmark: polled a few at a time, 300 answers of 1 s each take minutes.
    assert elapsed < 5, f"{TRIGGERS} triggers took {elapsed:.1f} s"
