"""The reply triggers against the emulator process, run the way a triggerer runs them (their ``run()``).

* ``CellcastInboundMessageTrigger`` (Airflow 3.0+; on 2.11 it refuses to be built, with a reason):
  started with replies already waiting, it fires exactly one event for each of three new replies
  and none for the old ones; rebuilt from its serialized kwargs with its asset state store, it
  neither misses the replies that arrived meanwhile nor repeats one; an error answer is logged and
  polling goes on; the DAG scheduled on the asset it watches parses and routes YES and STOP.
* ``CellcastReplyTrigger`` (every Airflow): rebuilt from its serialized kwargs after the matching
  reply arrived while no triggerer ran it, it fires for that reply.

Every wait is on an observable condition (the emulator's request journal, the events received).
The asset state store is a stand-in with the accessor's async interface (``aget``/``aset``):
outside a triggerer Airflow sets none.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from airflow_versions import AIRFLOW_3
from conftest import REPO, EmulatorProcess

from airflow_provider_cellcast.triggers.reply import CellcastReplyTrigger

pytestmark = pytest.mark.integration
REPLIES = "/api/v1/apiClient/getResponses"
needs_airflow_3 = pytest.mark.skipif(not AIRFLOW_3, reason="AssetWatcher and BaseEventTrigger exist from Airflow 3.0")


def reads(emulator: EmulatorProcess, after_id: int = 0) -> list[dict[str, Any]]:
    """Reply-list requests the emulator answered, after journal entry ``after_id``."""
    return [
        entry
        for entry in emulator.client.requests_log()
        if entry["path"] == REPLIES and entry.get("status") and entry["id"] > after_id
    ]


def faulted(emulator: EmulatorProcess) -> list[dict[str, Any]]:
    return [entry for entry in emulator.client.requests_log() if entry["path"] == REPLIES and entry.get("fault")]


def last_id(emulator: EmulatorProcess) -> int:
    return max((entry["id"] for entry in emulator.client.requests_log()), default=0)


async def until(condition: Callable[[], Any], seconds: float = 30) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        found = await asyncio.to_thread(condition)
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("the condition was never met")


class Running:
    """A trigger's ``run()`` consumed by a task, its events collected, stopped as a triggerer stops it."""

    def __init__(self, trigger: Any) -> None:
        self.events: list[dict[str, Any]] = []
        self.task = asyncio.ensure_future(self._consume(trigger.run()))

    async def _consume(self, events: AsyncIterator[Any]) -> None:
        async for event in events:
            self.events.append(event.payload)

    async def stop(self) -> None:
        assert not self.task.done(), "the trigger ended on its own"
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class AssetStateStore:
    """The accessor a 3.3 triggerer sets as ``asset_state_store`` (its async half), kept in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        assert value is not None
        self.values[key] = value


def inbound(**kwargs: Any) -> Any:
    from airflow_provider_cellcast.triggers.inbound import CellcastInboundMessageTrigger

    return CellcastInboundMessageTrigger(**{"poll_interval": 0.1, **kwargs})


@needs_airflow_3
def test_inbound_trigger_fires_once_for_each_new_reply_and_never_for_old_ones(emulator: EmulatorProcess) -> None:
    client = emulator.client
    for index in range(25):  # two pages already waiting
        client.inject_reply(
            f"614000{index:05d}", f"old {index}", received_at=client.now() - timedelta(hours=30 - index)
        )

    async def scenario() -> list[dict[str, Any]]:
        running = Running(inbound())
        await until(lambda: reads(emulator))  # the snapshot
        for number, body in (("0400 000 951", "YES"), ("+61400000952", "STOP"), ("61400000953", "What time?")):
            await asyncio.to_thread(client.inject_reply, number, body)
        await until(lambda: len(running.events) >= 3)
        mark = last_id(emulator)
        await until(lambda: len(reads(emulator, mark)) >= 3)  # three more reads: nothing more fired
        await running.stop()
        return running.events

    events = asyncio.run(scenario())
    assert [(event["from"], event["body"]) for event in events] == [
        ("********951", "YES"), ("********952", "STOP"), ("********953", "What time?"),
    ]  # fmt: skip
    assert len({event["fingerprint"] for event in events}) == 3
    assert all("contact_index" not in event for event in events)  # no contacts filter


@needs_airflow_3
def test_a_restarted_inbound_trigger_neither_misses_nor_repeats_a_reply(emulator: EmulatorProcess) -> None:
    client = emulator.client
    client.inject_reply("61400000900", "old", received_at=client.now() - timedelta(hours=1))
    store = AssetStateStore()

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        first = inbound()
        first.asset_state_store = store
        running = Running(first)
        await until(lambda: reads(emulator))
        await asyncio.to_thread(client.inject_reply, "61400000951", "one")
        await until(lambda: running.events)
        await running.stop()  # the triggerer stops; replies arrive while none runs
        await asyncio.to_thread(client.inject_reply, "61400000952", "two")
        await asyncio.to_thread(client.inject_reply, "61400000953", "three")
        classpath, kwargs = first.serialize()
        assert classpath == "airflow_provider_cellcast.triggers.inbound.CellcastInboundMessageTrigger"
        second = type(first)(**kwargs)
        second.asset_state_store = store  # the triggerer hands the rebuilt trigger the asset's store
        resumed = Running(second)
        await until(lambda: len(resumed.events) >= 2)
        mark = last_id(emulator)
        await until(lambda: len(reads(emulator, mark)) >= 3)
        await resumed.stop()
        return running.events, resumed.events

    before, after = asyncio.run(scenario())
    assert [event["body"] for event in before] == ["one"]
    assert [event["body"] for event in after] == ["two", "three"]
    assert store.values["cellcast_inbound_cursor"]["v"] == 1


@needs_airflow_3
def test_the_inbound_trigger_survives_an_error_answer_and_keeps_polling(
    emulator: EmulatorProcess, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    client = emulator.client

    async def scenario() -> list[dict[str, Any]]:
        running = Running(inbound(contacts=["0400 000 951"], pattern=r"(?i)^\s*yes\b"))
        await until(lambda: reads(emulator))
        await asyncio.to_thread(client.inject_fault, "status", path=REPLIES, status=500, count=2)
        await until(lambda: len(faulted(emulator)) >= 2)  # two failed reads, logged
        for number, body in (("61400000951", "no"), ("61400000777", "YES"), ("61400000951", "Yes!")):
            await asyncio.to_thread(client.inject_reply, number, body)
        await until(lambda: running.events)
        mark = last_id(emulator)
        await until(lambda: len(reads(emulator, mark)) >= 2)
        await running.stop()
        return running.events

    events = asyncio.run(scenario())
    assert [(event["body"], event["contact_index"]) for event in events] == [("Yes!", 0)]
    # Logged through structlog and printed (3.3), or through logging (earlier), or both (3.0).
    output = capsys.readouterr()
    records = "\n".join(record.getMessage() for record in caplog.records)
    logged = records if "Could not read" in records else output.out + output.err
    assert logged.count("Could not read Cellcast's replies") == 2
    assert "failure 2 in a row" in logged and "HTTP 500" in logged


@needs_airflow_3
def test_a_dag_scheduled_on_the_watched_asset_parses_and_routes_yes_and_stop(airflow_db: Any) -> None:
    from airflow_versions import dag_bag

    from airflow_provider_cellcast.triggers.inbound import CellcastInboundMessageTrigger

    bag = dag_bag(REPO / "dags" / "cellcast_two_way.py")
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["cellcast_inbound_replies"]
    condition = dag.timetable.asset_condition  # schedule=[inbox]: all of one asset
    [asset] = getattr(condition, "objects", [condition])
    assert asset.name == "cellcast_inbox"
    [watcher] = asset.watchers
    assert isinstance(watcher.trigger, CellcastInboundMessageTrigger)

    class Event:
        def __init__(self, body: str) -> None:
            self.extra = {"from_trigger": True, "payload": {"from": "********951", "body": body, "fingerprint": body}}

    class Events(dict):  # context["triggering_asset_events"]: events by asset (Assets are not hashable on 3.0)
        def __init__(self, *events: Event) -> None:
            super().__init__({"cellcast_inbox": list(events)} if events else {})

        def get(self, key: Any, default: Any = None) -> Any:
            return super().get(key.name, default)

    route = dag.get_task("route").python_callable
    assert route(triggering_asset_events=Events(Event(" yes please"))) == ["confirm"]
    assert route(triggering_asset_events=Events(Event("STOP"), Event("Y"))) == ["confirm", "opt_out"]
    assert route(triggering_asset_events=Events(Event("What time?"))) == ["ignore"]
    assert route(triggering_asset_events=Events()) == ["ignore"]  # a manual run has no events


@pytest.mark.skipif(AIRFLOW_3, reason="Airflow 2.11 only: there the inbound trigger has no AssetWatcher to serve")
def test_on_airflow_2_the_inbound_trigger_says_what_to_use_instead() -> None:
    from airflow_provider_cellcast.exceptions import CellcastConfigurationError

    with pytest.raises(CellcastConfigurationError, match=r"needs Airflow 3.0 or later.*CellcastReplySensor"):
        inbound()


def test_a_reply_trigger_rebuilt_after_the_reply_arrived_fires_for_it(emulator: EmulatorProcess) -> None:
    from airflow_provider_cellcast.hooks.cellcast import CellcastHook

    client = emulator.client
    client.inject_reply("0400000951", "YES", received_at=client.now() - timedelta(hours=1))  # old: not it
    hook = CellcastHook()
    try:
        cursor = hook.client.reply_snapshot()  # what the sensor does before deferring
    finally:
        hook.close()
    trigger = CellcastReplyTrigger(
        contacts=["+61 400 000 951"], pattern=r"(?i)^\s*yes\b", cursor=cursor.to_json(), poll_interval=0.1
    )
    assert "400000951" not in repr(trigger)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        running = Running(trigger)
        await until(lambda: reads(emulator))
        await asyncio.to_thread(client.inject_reply, "61400000951", "not sure")
        mark = last_id(emulator)
        await until(lambda: reads(emulator, mark))
        await running.stop()  # a triggerer restart; the YES arrives while no triggerer runs it
        await asyncio.to_thread(client.inject_reply, "61400000951", "yes")
        _, kwargs = trigger.serialize()
        rebuilt = Running(CellcastReplyTrigger(**kwargs))
        await until(lambda: rebuilt.events)
        return running.events, rebuilt.events

    before, after = asyncio.run(scenario())
    assert before == []
    [event] = after
    assert event["status"] == "success"
    assert [(reply["body"], reply["from"], reply["contact_index"]) for reply in event["replies"]] == [
        ("yes", "********951", 0)
    ]
