"""CellcastNotifier: rendering with the callback context, one immediate send, masked logs, never twice.

Rendering is checked with a recording stand-in for ``hooks.cellcast.CellcastHook`` (the name the
notifier imports when it sends); sending, and never sending twice, against the emulator, for
``notify`` (the sync client) and ``async_notify`` (the async client the hook hands out).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cellcast.exceptions import (
    CellcastSendConnectionLostError,
    CellcastSendOutcomeUnknownError,
    CellcastServerError,
)
from airflow_provider_cellcast.hooks import cellcast as hook_module
from airflow_provider_cellcast.notifications.cellcast import CellcastNotifier, send_cellcast_sms_notification
from airflow_provider_cellcast.validation import validate_contacts

NUMBERS = ["+61400111222", "+61400333444"]


class RecordingHook:
    instances: list[RecordingHook] = []  # noqa: RUF012 - test bookkeeping
    error: Exception | None = None

    def __init__(self, conn_id: str, **settings: Any) -> None:
        self.conn_id = conn_id
        self.settings = settings
        self.calls: list[dict[str, Any]] = []
        self.closed = False
        RecordingHook.instances.append(self)

    def send_sms(self, message: str, contacts: list[str], **kwargs: Any) -> dict[str, Any]:
        self.calls.append({"message": message, "contacts": contacts, **kwargs})
        if RecordingHook.error is not None:
            raise RecordingHook.error
        return {
            "message_ids": ["675161d8a000000000000001"],
            "queued": [{"message_id": "675161d8a000000000000001", "contact": "+614*****222"}],
            "invalid_contacts": ["+614*****444"],
            "unsubscribed_contacts": [],
        }

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def recording_hook(monkeypatch: pytest.MonkeyPatch) -> type[RecordingHook]:
    RecordingHook.instances = []
    RecordingHook.error = None
    monkeypatch.setattr(hook_module, "CellcastHook", RecordingHook)
    return RecordingHook


def context() -> dict[str, Any]:
    return {"run_id": "manual__1", "params": {"alert_contacts": NUMBERS}, "task_id": "load"}


def test_alias_and_template_fields() -> None:
    assert send_cellcast_sms_notification is CellcastNotifier
    assert tuple(CellcastNotifier.template_fields) == ("message", "contacts", "sender", "cellcast_conn_id")


@pytest.mark.usefixtures("recording_hook")
def test_renders_with_the_callback_context_and_sends_now(capsys: pytest.CaptureFixture[str]) -> None:
    notifier = CellcastNotifier(
        message="{{ task_id }} failed in {{ run_id }}",
        contacts="{{ params.alert_contacts }}",
        sender="{{ 'OPS' }}",
        cellcast_conn_id="alerts",
        hook_params={"max_attempts": 2},
    )
    notifier(context())
    [hook] = RecordingHook.instances
    assert hook.conn_id == "alerts" and hook.settings == {"max_attempts": 2}
    # Passed as rendered (text, without native rendering); the hook reads it (validate_contacts).
    assert hook.calls == [{"message": "load failed in manual__1", "contacts": str(NUMBERS), "sender": "OPS"}]
    assert validate_contacts(hook.calls[0]["contacts"]) == NUMBERS
    assert hook.closed
    out = capsys.readouterr().out
    assert "queued for 1 of 2 contact(s); 1 invalid or unsubscribed skipped" in out
    assert not any(number in out for number in NUMBERS)


@pytest.mark.usefixtures("recording_hook")
def test_a_failed_notification_is_raised_after_closing_the_hook() -> None:
    RecordingHook.error = CellcastServerError("HTTP 502", status_code=502)
    with pytest.raises(CellcastServerError):
        CellcastNotifier(message="m", contacts=NUMBERS)(context())
    assert RecordingHook.instances[0].closed


def test_misspelt_hook_param_fails_when_the_dag_is_parsed() -> None:
    with pytest.raises(Exception, match="Unknown Cellcast setting"):
        CellcastNotifier(message="m", contacts=NUMBERS, hook_params={"retries": 3})


# -- against the emulator: one request, never two --------------------------------------------------


def test_sends_once_through_the_emulator(cellcast_connection_env, capsys: pytest.CaptureFixture[str]) -> None:
    emulator = cellcast_connection_env
    CellcastNotifier(message="{{ task_id }} failed", contacts=NUMBERS)(context())
    [entry] = [item for item in emulator.requests_log() if item["path"] == "/api/v1/gateway"]
    assert entry["body"]["message"] == "load failed" and "scheduleAt" not in entry["body"]
    assert len(emulator.messages()) == 2
    assert "queued for 2 of 2 contact(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("fault", "error_class"),
    [
        ({"kind": "status", "status": 502, "when": "after"}, CellcastSendOutcomeUnknownError),
        ({"kind": "drop"}, CellcastSendConnectionLostError),
    ],
    ids=["502-after-accepting", "dropped-answer"],
)
def test_never_sends_twice(cellcast_connection_env, fault: dict[str, Any], error_class: type[Exception]) -> None:
    emulator = cellcast_connection_env
    emulator.inject_fault(path="/api/v1/gateway", **fault)
    notifier = CellcastNotifier(message="disk full", contacts=NUMBERS[:1], hook_params={"max_attempts": 5})
    with pytest.raises(error_class) as raised:
        notifier(context())
    assert isinstance(raised.value, AirflowFailException)
    assert emulator.request_count("/api/v1/gateway") == 1
    assert [item["path"] for item in emulator.requests_log()] == ["/api/v1/gateway"]


# -- async_notify: the async client, against the emulator --------------------------------------------------


def test_async_notify_sends_once_through_the_emulator(
    cellcast_connection_env, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = cellcast_connection_env
    emulator.register_sender("OPS")  # the emulator refuses unregistered senders, as Cellcast does
    notifier = CellcastNotifier(
        message="{{ task_id }} missed its deadline", contacts="{{ params.alert_contacts }}", sender="{{ 'OPS' }}",
        hook_params={"requests_per_second": 0},
    )  # fmt: skip
    notifier.render_template_fields(context())  # type: ignore[arg-type]  # what Airflow does before async_notify
    asyncio.run(notifier.async_notify(context()))  # type: ignore[arg-type]
    [entry] = emulator.requests_log()
    assert (entry["method"], entry["path"], entry["auth_valid"]) == ("POST", "/api/v1/gateway", True)
    assert entry["body"]["message"] == "load missed its deadline" and entry["body"]["sender"] == "OPS"
    assert entry["body"]["contacts"] == [f"********{number[-3:]}" for number in NUMBERS]  # as sent: 61..., masked
    assert "scheduleAt" not in entry["body"]
    assert len(emulator.messages()) == 2
    out = capsys.readouterr().out
    assert "queued for 2 of 2 contact(s)" in out and not any(number in out for number in NUMBERS)


def test_async_notify_never_sends_twice(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    emulator.inject_fault("status", status=502, when="after", path="/api/v1/gateway")
    notifier = CellcastNotifier(message="disk full", contacts=NUMBERS[:1], hook_params={"max_attempts": 5})
    with pytest.raises(CellcastSendOutcomeUnknownError) as raised:
        asyncio.run(notifier.async_notify(context()))  # type: ignore[arg-type]
    assert isinstance(raised.value, AirflowFailException)
    assert emulator.request_count("/api/v1/gateway") == 1 and len(emulator.messages()) == 1


def test_async_notify_retries_what_certainly_did_not_reach_cellcast(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    emulator.inject_fault("status", status=429, retry_after=0, path="/api/v1/gateway", count=1)
    notifier = CellcastNotifier(message="m", contacts=NUMBERS[:1], hook_params={"requests_per_second": 0})
    asyncio.run(notifier.async_notify(context()))  # type: ignore[arg-type]
    assert emulator.request_count("/api/v1/gateway") == 2 and len(emulator.messages()) == 1
