"""CellcastNotifier: rendering with the callback context, one immediate send, masked logs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_cellcast.exceptions import CellcastServerError
from airflow_provider_cellcast.hooks import cellcast as hook_module
from airflow_provider_cellcast.notifications.cellcast import CellcastNotifier, send_cellcast_sms_notification

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


@pytest.fixture(autouse=True)
def recording_hook(monkeypatch: pytest.MonkeyPatch) -> type[RecordingHook]:
    RecordingHook.instances = []
    RecordingHook.error = None
    monkeypatch.setattr(hook_module, "CellcastHook", RecordingHook)
    return RecordingHook


def context() -> dict[str, Any]:
    return {"run_id": "manual__1", "params": {"alert_contacts": NUMBERS}, "task_id": "load"}


def test_alias_and_template_fields() -> None:
    assert send_cellcast_sms_notification is CellcastNotifier
    assert tuple(CellcastNotifier.template_fields) == ("message", "contacts", "sender")


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
    assert hook.calls == [{"message": "load failed in manual__1", "contacts": NUMBERS, "sender": "OPS"}]
    assert hook.closed
    out = capsys.readouterr().out
    assert "queued for 1 of 2 contact(s); 1 invalid or unsubscribed skipped" in out
    assert not any(number in out for number in NUMBERS)


def test_a_failed_notification_is_raised_after_closing_the_hook() -> None:
    RecordingHook.error = CellcastServerError("HTTP 502", status_code=502)
    with pytest.raises(CellcastServerError):
        CellcastNotifier(message="m", contacts=NUMBERS)(context())
    assert RecordingHook.instances[0].closed


def test_async_notify_runs_the_same_send() -> None:
    notifier = CellcastNotifier(message="deadline missed", contacts=NUMBERS[:1], sender=None)
    asyncio.run(notifier.async_notify(context()))  # type: ignore[arg-type]
    assert RecordingHook.instances[0].calls == [{"message": "deadline missed", "contacts": NUMBERS[:1], "sender": None}]


def test_misspelt_hook_param_fails_when_the_dag_is_parsed() -> None:
    with pytest.raises(Exception, match="Unknown Cellcast setting"):
        CellcastNotifier(message="m", contacts=NUMBERS, hook_params={"retries": 3})
