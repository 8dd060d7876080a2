"""Hundreds of deferred status sensors in one event loop: waiting costs sockets, not threads.

300 status triggers, rebuilt from their serialized form as the triggerer rebuilds them, run at
once in one asyncio loop against an emulator (its own process) that answers every report after
1 s. They poll with the async client: no thread per poll, no thread pool. The emulator counts the
reports it was handling at once (``peak_in_flight``): polled through a thread pool, as 0.2.0's
predecessor did, that is the pool's size (six on two cores), and here it is the hundreds. Threads
are counted as those started during the round, so that threads other tests left behind (Airflow
3.0-3.2 leave one per ``dag.test()``) do not count. The times side by side are
``benchmarks/triggers.py``.
"""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from airflow_provider_cellcast.emulator import emulator_process
from airflow_provider_cellcast.triggers.message_status import CellcastMessageStatusTrigger

pytestmark = pytest.mark.integration
TRIGGERS = 300


async def run_all(triggers: list[CellcastMessageStatusTrigger]) -> tuple[list[dict], set[str]]:
    """Run every trigger to its first event; return the events and the threads started meanwhile."""
    before = set(threading.enumerate())
    started: set[str] = set()
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            started.update(thread.name for thread in set(threading.enumerate()) - before)
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
    return list(events), started


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
        events, new_threads = asyncio.run(run_all(triggers))
        stats = emulator.stats()
    assert [event["status"] for event in events] == ["success"] * TRIGGERS
    assert sorted(next(iter(event["statuses"])) for event in events) == sorted(ids)
    assert stats["by_path"].get("/api/v2/report/message/{messageId}", 0) == TRIGGERS  # nobody polled twice
    # The reports overlapped: each takes 1 s, and the triggers start theirs within that second.
    assert stats["peak_in_flight"] >= TRIGGERS // 3, stats
    # At most the one worker thread that reads the connection without blocking the loop (asgiref's,
    # before Airflow 3.3.2) and a resolver thread: nothing that grows with the triggers.
    assert len(new_threads) <= 3, sorted(new_threads)
