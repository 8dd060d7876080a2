"""CellcastSendSmsOperator: validation, XCom shape, masking, and never sending a campaign twice.

The hook is replaced by a small stand-in: the hook's own HTTP behaviour is tested in
``test_hook.py`` and, end to end, against the emulator in ``tests/integration``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, cast

import pytest
from airflow.sdk import DAG, BaseOperator
from airflow.sdk.bases.operator import ExecutorSafeguard
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_cellcast.exceptions import (
    CellcastConnectionError,
    CellcastInputError,
    CellcastInvalidResponseError,
    CellcastPartialSendError,
    CellcastRateLimitError,
    CellcastSendConnectionLostError,
    CellcastSendOutcomeUnknownError,
    CellcastServerError,
    CellcastUnsuccessfulError,
)
from airflow_provider_cellcast.operators.send_sms import CellcastSendSmsOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

NUMBERS = ["+61400111222", "+61400333444", "0400555666"]
IDS = ["675161d8a000000000000001", "675161d8a000000000000002"]


@pytest.fixture(autouse=True)
def _allow_direct_execute(monkeypatch: pytest.MonkeyPatch) -> None:
    # Operators refuse execute() outside the task runner unless Airflow is in test mode.
    monkeypatch.setattr(ExecutorSafeguard, "test_mode", True)


class FakeTI:
    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def ctx(ti: FakeTI) -> Context:
    """A task context holding only ``ti`` (all the code under test reads)."""
    return cast("Context", {"ti": ti})


class FakeHook:
    """Records send_sms calls; answers with ``result`` or raises ``error``."""

    def __init__(self, result: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.closed = False
        self.error = error
        self.result = result or {
            "message_ids": list(IDS),
            "queued": [
                {"message_id": IDS[0], "contact": "+614*****222"},
                {"message_id": IDS[1], "contact": "+614*****444"},
            ],
            "invalid_contacts": ["*******666"],
            "unsubscribed_contacts": [],
        }

    def send_sms(self, message: str, contacts: list[str], **kwargs: Any) -> dict[str, Any]:
        self.calls.append({"message": message, "contacts": contacts, **kwargs})
        if self.error is not None:
            raise self.error
        return self.result

    def close(self) -> None:
        self.closed = True


def run(operator: CellcastSendSmsOperator, hook: FakeHook) -> tuple[Any, FakeTI]:
    operator.__dict__["hook"] = hook  # the cached_property's slot
    ti = FakeTI()
    return operator.execute(ctx(ti)), ti


def make(**kwargs: Any) -> CellcastSendSmsOperator:
    kwargs.setdefault("message", "Hello")
    kwargs.setdefault("contacts", NUMBERS)
    return CellcastSendSmsOperator(task_id="send", **kwargs)


def test_returns_message_ids_and_pushes_the_masked_send_result() -> None:
    hook = FakeHook()
    returned, ti = run(make(sender="ACME", custom_string="run-1", country_code="61"), hook)
    assert returned == IDS
    assert ti.xcoms["send_result"] == hook.result
    [call] = hook.calls
    assert call == {
        "message": "Hello",
        "contacts": NUMBERS,
        "sender": "ACME",
        "schedule_at": None,
        "delay_ms": None,
        "country_code": 61,
        "custom_string": "run-1",
    }
    assert hook.closed


def test_rendered_list_and_comma_separated_contacts_are_accepted() -> None:
    hook = FakeHook()
    run(make(contacts=str(NUMBERS)), hook)  # what Jinja renders from a list without native rendering
    run(make(contacts=" +61400111222, 0400555666 ;"), hook)
    assert hook.calls[0]["contacts"] == NUMBERS
    assert hook.calls[1]["contacts"] == ["+61400111222", "0400555666"]


def test_logs_counts_and_masked_numbers_only(capsys: pytest.CaptureFixture[str]) -> None:
    hook = FakeHook()
    hook.result["unsubscribed_contacts"] = ["+614*****444"]
    run(make(), hook)
    text = capsys.readouterr().out  # Airflow's structlog writes task logs to stdout
    assert "1 invalid contact(s) skipped by Cellcast: *******666" in text
    assert "1 unsubscribed contact(s) skipped by Cellcast: +614*****444" in text
    for number in NUMBERS:
        assert number not in text


def test_schedule_at_forms_are_sent_as_utc() -> None:
    hook = FakeHook()
    later = datetime.now(timezone(timedelta(hours=10))) + timedelta(days=1)
    run(make(schedule_at=later), hook)
    run(make(schedule_at=later.isoformat()), hook)
    before = datetime.now(timezone.utc)
    run(make(schedule_at=timedelta(hours=1)), hook)
    first, second, relative = (call["schedule_at"] for call in hook.calls)
    assert first == second and first.endswith("Z")
    assert datetime.fromisoformat(first.replace("Z", "+00:00")) == later.replace(
        microsecond=later.microsecond // 1000 * 1000
    )
    sent = datetime.fromisoformat(relative.replace("Z", "+00:00"))
    assert timedelta(minutes=59) < sent - before < timedelta(minutes=61)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"message": "  "}, "message"),
        ({"contacts": []}, "contacts"),
        ({"contacts": " , "}, "contacts"),
        ({"schedule_at": "2030-01-01T09:00:00"}, "schedule_at"),  # naive: the zone would be a guess
        ({"schedule_at": "tomorrow"}, "schedule_at"),
        ({"schedule_at": "None"}, "schedule_at"),  # a missing param rendered by Jinja: never "send now"
        ({"schedule_at": datetime.now(timezone.utc) - timedelta(hours=2)}, "schedule_at"),
        ({"delay_ms": 86_400_001}, "delay_ms"),
        ({"country_code": "+61"}, "country_code"),
    ],
)
def test_bad_input_fails_without_retries_before_any_request(kwargs: dict[str, Any], field: str) -> None:
    hook = FakeHook()
    with pytest.raises(CellcastInputError) as raised:
        run(make(**kwargs), hook)
    assert raised.value.field == field
    assert isinstance(raised.value, AirflowFailException)
    assert hook.calls == []


def test_past_schedule_within_a_minute_is_accepted() -> None:
    hook = FakeHook()
    run(make(schedule_at=datetime.now(timezone.utc) - timedelta(seconds=20)), hook)
    assert hook.calls[0]["schedule_at"]


def test_schedule_at_and_delay_ms_together_are_refused_at_parse_time() -> None:
    with pytest.raises(ValueError, match="not both"):
        make(schedule_at=timedelta(hours=1), delay_ms=1000)


def test_misspelt_hook_param_is_a_parse_error() -> None:
    with pytest.raises(Exception, match="Unknown Cellcast setting 'timeout_s'"):
        make(hook_params={"timeout_s": 3})


def test_retries_default_to_zero_even_under_dag_default_args() -> None:
    with DAG("retries_check", schedule=None, default_args={"retries": 3}):
        default = make()
        explicit = CellcastSendSmsOperator(task_id="explicit", message="m", contacts=NUMBERS, retries=2)
        other = BaseOperator(task_id="other")  # what default_args do to any other operator
    assert default.retries == 0
    assert explicit.retries == 2
    assert other.retries == 3


def test_a_lost_answer_fails_fast_saying_the_messages_may_be_queued() -> None:
    lost = CellcastConnectionError(
        "Cellcast got no complete answer (ChunkedEncodingError) for SMS send to 3 contact(s) at https://x",
        request_sent=True,
    )
    with pytest.raises(CellcastSendConnectionLostError) as raised:
        run(make(retries=3), FakeHook(error=lost))
    error = raised.value
    assert isinstance(error, CellcastConnectionError)
    assert isinstance(error, AirflowFailException)  # never retried, whatever retries says
    assert error.request_sent is True
    assert "may have been queued" in str(error)
    assert "not sent twice" in str(error)
    assert error.__cause__ is lost


@pytest.mark.parametrize(
    "error",
    [
        CellcastServerError("Cellcast had a server error (HTTP 502)", status_code=502),
        CellcastServerError("Cellcast had a server error (HTTP 500)", status_code=500),
        CellcastInvalidResponseError("Cellcast answered with HTTP 200 and a body that is not JSON", status_code=200),
    ],
)
def test_unknown_outcomes_fail_fast(error: Exception) -> None:
    with pytest.raises(CellcastSendOutcomeUnknownError) as raised:
        run(make(retries=3), FakeHook(error=error))
    assert isinstance(raised.value, AirflowFailException)
    assert "may have been queued" in str(raised.value)
    assert raised.value.status_code == error.status_code  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "error",
    [
        CellcastConnectionError("Cellcast could not connect", request_sent=False),
        CellcastRateLimitError("rate limit", status_code=429),
        CellcastUnsuccessfulError("Insufficient balance", status_code=422),
    ],
)
def test_failures_where_nothing_was_queued_keep_their_type_and_stay_retryable(error: Exception) -> None:
    with pytest.raises(type(error)) as raised:
        run(make(retries=2), FakeHook(error=error))
    assert raised.value is error
    assert not isinstance(raised.value, AirflowFailException)


def test_a_partial_send_pushes_what_was_queued_then_fails_fast() -> None:
    partial = {
        "message_ids": IDS,
        "queued": [
            {"message_id": IDS[0], "contact": "+614*****222"},
            {"message_id": IDS[1], "contact": "+614*****444"},
        ],
        "invalid_contacts": [],
        "unsubscribed_contacts": [],
    }
    error = CellcastConnectionError("Cellcast got no complete answer for SMS send", request_sent=True)
    error.partial_result = partial
    ti = FakeTI()
    operator = make(retries=5)
    operator.__dict__["hook"] = FakeHook(error=error)
    with pytest.raises(CellcastPartialSendError) as raised:
        operator.execute(ctx(ti))
    assert ti.xcoms["send_result"] == partial
    assert raised.value.partial_result == partial
    assert isinstance(raised.value, AirflowFailException)
    text = str(raised.value)
    assert "2 message(s) were queued" in text and "may have been queued too" in text and "send_result" in text


def test_dag_files_import_nothing_beyond_airflow_sdk_and_light_provider_modules() -> None:
    # DAG files import the operator, sensor and notifier at every parse. Measured against what
    # ``airflow.sdk`` itself loads, they must add only the provider's standard-library modules.
    code = (
        "import sys\n"
        "from airflow.sdk import BaseNotifier, BaseOperator, BaseSensorOperator\n"
        "before = set(sys.modules)\n"
        "import airflow_provider_cellcast.operators.send_sms\n"
        "import airflow_provider_cellcast.sensors.message_status\n"
        "import airflow_provider_cellcast.notifications.cellcast\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    added = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert all(name.startswith("airflow_provider_cellcast") for name in added), added
    heavy = {"hooks", "triggers", "emulator"}
    assert not [name for name in added if heavy & set(name.split("."))], added


def test_nothing_queued_is_a_warning_not_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    hook = FakeHook(
        result={"message_ids": [], "queued": [], "invalid_contacts": ["*******666"], "unsubscribed_contacts": []}
    )
    returned, ti = run(make(contacts=["0400555666"]), hook)
    assert returned == []
    assert ti.xcoms["send_result"]["message_ids"] == []
    assert "Cellcast queued no message" in capsys.readouterr().out
