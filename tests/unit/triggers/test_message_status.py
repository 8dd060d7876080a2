"""CellcastMessageStatusTrigger: serialisation, polling rounds and the one event it fires.

The trigger builds its hook from ``hooks.cellcast.CellcastHook`` when it runs; the tests put a
factory there that returns a hook whose ``get_message`` answers from a script (with the real
``check_statuses``), and one test polls the emulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_cellcast.exceptions import (
    CellcastAuthenticationError,
    CellcastBadRequestError,
    CellcastInputError,
    CellcastServerError,
)
from airflow_provider_cellcast.hooks import cellcast as hook_module
from airflow_provider_cellcast.triggers.message_status import CellcastMessageStatusTrigger
from unit.fakes import ScriptedHook

A, B = "675161d8a000000000000001", "675161d8a000000000000002"

pytestmark = pytest.mark.usefixtures("scripted_connection")


def test_a_hand_built_trigger_normalises_and_checks_statuses() -> None:
    built = CellcastMessageStatusTrigger(message_ids=[A], target_statuses=["Cancelled"], failure_statuses=[])
    assert (built.target_statuses, built.failure_statuses) == (["canceled"], [])
    assert CellcastMessageStatusTrigger(message_ids=[A], target_statuses=["sent"]).failure_statuses == [
        "blocked", "expired", "failed", "rejected",
    ]  # fmt: skip
    with pytest.raises(CellcastInputError):
        CellcastMessageStatusTrigger(message_ids=[A], target_statuses=["gone"])


def test_serialize_round_trips() -> None:
    trigger = CellcastMessageStatusTrigger(
        message_ids=[A, B], target_statuses=["delivered"], cellcast_conn_id="cc", hook_params={"timeout": 5},
        poll_interval=15,
    )  # fmt: skip
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_cellcast.triggers.message_status.CellcastMessageStatusTrigger"
    assert kwargs == {
        "message_ids": [A, B],
        "target_statuses": ["delivered"],
        "failure_statuses": ["blocked", "expired", "failed", "rejected"],
        "cellcast_conn_id": "cc",
        "hook_params": {"timeout": 5},
        "poll_interval": 15.0,
    }
    assert CellcastMessageStatusTrigger(**kwargs).serialize() == (classpath, kwargs)


# -- polling ----------------------------------------------------------------------------------------------


# -- the trigger -----------------------------------------------------------------------------------


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Make the trigger build a ScriptedHook from ``box["script"]``; ``box["hook"]`` is the one made."""
    box: dict[str, Any] = {}

    def factory(*args: Any, **kwargs: Any) -> ScriptedHook:
        box["hook"] = ScriptedHook(box["script"])
        box["args"] = (args, kwargs)
        return box["hook"]

    monkeypatch.setattr(hook_module, "CellcastHook", factory)
    yield box


def collect(trigger: CellcastMessageStatusTrigger) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(run())


def trigger(**kwargs: Any) -> CellcastMessageStatusTrigger:
    kwargs.setdefault("message_ids", [A, B])
    kwargs.setdefault("target_statuses", ["canceled"])
    kwargs.setdefault("poll_interval", 0)
    return CellcastMessageStatusTrigger(**kwargs)


def test_trigger_polls_until_every_message_is_done(scripted: dict[str, Any]) -> None:
    scripted["script"] = {A: ["scheduled", "scheduled", "canceled"], B: ["canceled"]}
    events = collect(trigger(cellcast_conn_id="cc", hook_params={"timeout": 3}))
    assert len(events) == 1
    assert events[0]["status"] == "success"
    assert events[0]["statuses"] == {A: "canceled", B: "canceled"}
    assert "after 3 polling round(s)" in events[0]["message"]
    assert scripted["hook"].asked == [A, B, A, A]  # B was done in round one
    assert scripted["hook"].closed == 1
    assert scripted["args"] == (("cc",), {"timeout": 3})


def test_trigger_fires_failed_when_a_target_becomes_unreachable(scripted: dict[str, Any]) -> None:
    scripted["script"] = {A: ["scheduled", "sent"], B: ["canceled"]}
    [event] = collect(trigger())
    assert event["status"] == "failed"
    assert event["statuses"] == {A: "sent", B: "canceled"}
    assert f"{A}: 'sent', from which 'canceled' cannot be reached" in event["message"]


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (CellcastServerError("HTTP 503 after retries", status_code=503), False),
        (CellcastAuthenticationError("token refused", status_code=401), False),
        (CellcastBadRequestError("HTTP 400", status_code=400), True),
    ],
)
def test_trigger_reports_errors_with_their_permanence(
    scripted: dict[str, Any], error: Exception, permanent: bool
) -> None:
    scripted["script"] = {A: [error], B: ["canceled"]}
    [event] = collect(trigger())
    assert event == {"status": "error", "statuses": {}, "message": str(error), "permanent": permanent}
    assert scripted["hook"].closed == 1


def test_trigger_polls_the_emulator(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    canceled = emulator.seed_message(status="canceled")["_id"]
    delivered = emulator.seed_message(status="delivered")["_id"]
    [event] = collect(trigger(message_ids=[canceled, delivered], target_statuses=["canceled"]))
    assert event["status"] == "failed" and event["statuses"] == {canceled: "canceled", delivered: "delivered"}
    [event] = collect(trigger(message_ids=[canceled], target_statuses=["canceled"]))
    assert event["status"] == "success"
