"""The reply trigger and the inbound trigger without a network: kwargs, masked reprs, the 2.11 refusal,
the cursor saved before events, and a loop that never ends on errors.

Runs use a real ``AsyncCellcastClient`` whose transport is a scripted Cellcast (``unit.scripted_inbox``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from airflow.triggers.base import BaseEventTrigger, BaseTrigger

from airflow_provider_cellcast.client import AsyncCellcastClient
from airflow_provider_cellcast.exceptions import CellcastConfigurationError, CellcastServerError
from airflow_provider_cellcast.hooks import cellcast as hook_module
from airflow_provider_cellcast.settings import CellcastSettings
from airflow_provider_cellcast.triggers import inbound as inbound_module
from airflow_provider_cellcast.triggers.inbound import CellcastInboundMessageTrigger
from airflow_provider_cellcast.triggers.reply import CellcastReplyTrigger
from unit.scripted_inbox import TOKEN, ScriptedCellcast


class AsyncScripted:
    def __init__(self, cellcast: ScriptedCellcast) -> None:
        self.cellcast = cellcast

    async def send(self, request: Any, **kwargs: Any) -> Any:
        return self.cellcast.send(request, **kwargs)

    async def close(self) -> None:
        pass


@pytest.fixture
def cellcast(monkeypatch: pytest.MonkeyPatch) -> ScriptedCellcast:
    """The Cellcast every trigger built in the test talks to."""
    scripted = ScriptedCellcast()

    class Hook:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        async def get_async_client(self) -> AsyncCellcastClient:
            settings = CellcastSettings(requests_per_second=0, backoff_seconds=0.0)
            return AsyncCellcastClient(
                TOKEN, base_url="https://cellcast.invalid", settings=settings, transport=AsyncScripted(scripted)
            )

    monkeypatch.setattr(hook_module, "CellcastHook", Hook)
    return scripted


def test_the_reply_trigger_round_trips_and_masks_numbers_in_its_repr() -> None:
    trigger = CellcastReplyTrigger(
        contacts=["0400 000 951"], pattern="yes", cursor={"v": 1}, hook_params={"timeout": 5}, poll_interval=2
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_cellcast.triggers.reply.CellcastReplyTrigger"
    assert kwargs["contacts"] == ["61400000951"]
    assert CellcastReplyTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert "400000951" not in repr(trigger) and "********951" in repr(trigger)


def test_the_inbound_trigger_is_an_event_trigger_that_round_trips() -> None:
    trigger = CellcastInboundMessageTrigger(poll_interval=5, pattern="(?i)stop", contacts=["+61400000951"])
    assert isinstance(trigger, BaseEventTrigger)
    classpath, kwargs = trigger.serialize()
    assert kwargs == {
        "cellcast_conn_id": "cellcast_default", "poll_interval": 5.0, "pattern": "(?i)stop",
        "contacts": ["61400000951"], "hook_params": {},
    }  # fmt: skip
    assert CellcastInboundMessageTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert "400000951" not in repr(trigger)
    with pytest.raises(Exception, match="not a valid regular expression"):
        CellcastInboundMessageTrigger(pattern="(")


def test_without_event_triggers_building_one_says_what_to_use(monkeypatch: pytest.MonkeyPatch) -> None:
    # What Airflow 2.11 sees: the module imports, the class derives from BaseTrigger, building it refuses.
    monkeypatch.setattr(inbound_module, "_HAS_EVENT_TRIGGERS", False)
    assert issubclass(CellcastInboundMessageTrigger, BaseTrigger)
    with pytest.raises(CellcastConfigurationError, match=r"needs Airflow 3\.0 or later"):
        CellcastInboundMessageTrigger()


class Store:
    def __init__(self, log: list[str]) -> None:
        self.values: dict[str, Any] = {}
        self.log = log

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.log.append("saved")
        self.values[key] = value


async def collect(trigger: Any, cellcast: ScriptedCellcast, script: dict[int, Any], reads: int) -> list[Any]:
    """Run ``trigger`` until Cellcast was read ``reads`` times; before read N do ``script[N](cellcast)``."""
    events: list[Any] = []
    done = asyncio.Event()

    def before_read(request: Any) -> None:
        count = cellcast.page_requests()
        if count in script:
            script[count](cellcast)
        if count >= reads:
            done.set()

    cellcast.on_request = before_read

    async def consume() -> None:
        async for event in trigger.run():
            events.append(event.payload)

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(done.wait(), 10)
    await asyncio.sleep(0.05)
    assert not task.done(), "the trigger ended"
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return events


def test_the_inbound_trigger_saves_its_cursor_before_each_event_and_never_exits_on_errors(
    cellcast: ScriptedCellcast,
) -> None:
    order: list[str] = []
    trigger = CellcastInboundMessageTrigger(poll_interval=0.01, contacts=["0400000951"])
    trigger.asset_state_store = Store(order)
    cellcast.add("61400000951", "old", "2031-01-15 08:00:00")

    def boom(request: Any, **kwargs: Any) -> Any:
        raise CellcastServerError("HTTP 500", status_code=500)

    original = cellcast.send

    def fail_twice(scripted: ScriptedCellcast) -> None:
        failures = iter(range(2))

        def send(request: Any, **kwargs: Any) -> Any:
            if next(failures, None) is not None:
                return boom(request, **kwargs)
            return original(request, **kwargs)

        scripted.send = send  # type: ignore[method-assign]

    def reply(scripted: ScriptedCellcast) -> None:
        scripted.add("61400000951", "hello", "2031-01-15 09:00:00")
        scripted.add("61400000777", "not a contact", "2031-01-15 09:00:01")

    events = asyncio.run(collect(trigger, cellcast, {1: fail_twice, 2: reply}, reads=6))
    assert [(event["body"], event["contact_index"]) for event in events] == [("hello", 0)]
    assert order[0] == "saved"  # the snapshot was stored before any read could fire
