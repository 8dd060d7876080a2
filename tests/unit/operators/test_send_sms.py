"""CellcastSendSmsOperator: what it passes to the hook, its reference, XComs, logs and retries.

Send safety (never twice, typed failures, input checks) lives in the hook and is tested there
(``tests/unit/hooks/test_cellcast.py``). Here a stand-in hook records what the operator passes and
answers or raises what a hook would; a few tests run the operator against the emulator.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import DAG, BaseOperator

from airflow_provider_cellcast.exceptions import (
    CellcastInputError,
    CellcastPartialSendError,
    CellcastSendOutcomeUnknownError,
    CellcastSendRecoverableError,
)
from airflow_provider_cellcast.operators.send_sms import CellcastSendSmsOperator, task_instance_reference
from unit.fakes import FakeTI, ctx

NUMBERS = ["+61400111222", "+61400333444", "0400555666"]
IDS = ["675161d8a000000000000001", "675161d8a000000000000002"]

pytestmark = pytest.mark.usefixtures("allow_direct_execute")


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
            "reference": "run-1",
            "adopted": False,
        }

    def send_sms(self, message: str, contacts: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls.append({"message": message, "contacts": contacts, **kwargs})
        if self.error is not None:
            raise self.error
        return self.result

    def close(self) -> None:
        self.closed = True


def run(operator: CellcastSendSmsOperator, hook: FakeHook, ti: FakeTI | None = None) -> tuple[Any, FakeTI]:
    # No constructor seam for the hook: the cached_property's slot is the narrowest one.
    operator.__dict__["hook"] = hook
    ti = ti or FakeTI()
    return operator.execute(ctx(ti)), ti


def make(**kwargs: Any) -> CellcastSendSmsOperator:
    kwargs.setdefault("message", "Hello")
    kwargs.setdefault("contacts", NUMBERS)
    return CellcastSendSmsOperator(task_id="send", **kwargs)


def test_template_fields() -> None:
    assert tuple(CellcastSendSmsOperator.template_fields) == (
        "message", "contacts", "sender", "schedule_at", "custom_string",
    )  # fmt: skip


def test_returns_message_ids_and_pushes_the_masked_send_result() -> None:
    hook = FakeHook()
    later = timedelta(hours=1)
    returned, ti = run(make(sender="ACME", custom_string="run-1", country_code="61", schedule_at=later), hook)
    assert returned == IDS
    assert ti.xcoms["send_result"] == hook.result
    [call] = hook.calls
    assert call == {
        "message": "Hello",
        "contacts": NUMBERS,  # as given: the hook reads and checks them
        "sender": "ACME",
        "schedule_at": later,
        "delay_ms": None,
        "country_code": "61",
        "custom_string": "run-1",
        "recover_by_reference": True,
        "adopt_existing": False,
    }
    assert hook.closed


def test_values_are_passed_as_rendered() -> None:
    hook = FakeHook()
    run(make(contacts=str(NUMBERS), sender="", delay_ms=5000), hook)
    [call] = hook.calls
    assert call["contacts"] == str(NUMBERS) and call["sender"] is None and call["delay_ms"] == 5000


def test_the_default_reference_names_the_task_instance_and_a_retry_adopts(capsys: pytest.CaptureFixture[str]) -> None:
    hook = FakeHook()
    run(make(), hook, FakeTI(dag_id="campaigns", task_id="send", run_id="manual__2026", map_index=3))
    run(make(), hook, FakeTI(dag_id="campaigns", task_id="send", run_id="manual__2026", try_number=2))
    first, retry = hook.calls
    assert first["custom_string"] == "airflow/campaigns/send/3/manual__2026"
    assert (first["recover_by_reference"], first["adopt_existing"]) == (True, False)
    assert retry["custom_string"] == "airflow/campaigns/send/manual__2026" and retry["adopt_existing"] is True
    logged = capsys.readouterr().out
    assert "Campaign reference (Cellcast customString): airflow/campaigns/send/3/manual__2026" in logged


def test_task_instance_reference_is_shortened_with_a_hash() -> None:
    long = FakeTI(dag_id="d" * 100, task_id="t" * 100, run_id="r")
    other = FakeTI(dag_id="d" * 100, task_id="t" * 100, run_id="s")
    reference = task_instance_reference(long)
    assert len(reference) == 120 and reference.startswith("airflow/ddd") and "~" in reference
    assert reference != task_instance_reference(other)
    assert task_instance_reference(long) == reference  # the same on every try


def test_logs_counts_and_masked_numbers_only(capsys: pytest.CaptureFixture[str]) -> None:
    hook = FakeHook()
    hook.result["unsubscribed_contacts"] = ["+614*****444"]
    run(make(), hook)
    text = capsys.readouterr().out  # Airflow's structlog writes task logs to stdout
    assert "Cellcast queued 2 message(s)" in text
    assert "1 invalid contact(s) skipped by Cellcast: *******666" in text
    assert "1 unsubscribed contact(s) skipped by Cellcast: +614*****444" in text
    for number in NUMBERS:
        assert number not in text


def test_long_lists_of_skipped_numbers_are_shortened(capsys: pytest.CaptureFixture[str]) -> None:
    hook = FakeHook()
    hook.result["invalid_contacts"] = [f"*******{i:03d}" for i in range(25)]
    run(make(), hook)
    assert "25 invalid contact(s) skipped by Cellcast: *******000" in (out := capsys.readouterr().out)
    assert "*******019, and 5 more" in out and "*******020" not in out


def test_an_adopted_result_is_logged_as_adopted(capsys: pytest.CaptureFixture[str]) -> None:
    hook = FakeHook()
    hook.result.update(adopted=True, reference="airflow/d/send/r", invalid_contacts=[])
    returned, ti = run(make(), hook, FakeTI(try_number=2))
    assert returned == IDS and ti.xcoms["send_result"]["adopted"] is True
    assert "Adopted 2 message(s) an earlier try queued with reference airflow/d/send/r" in capsys.readouterr().out


def test_nothing_queued_is_a_warning_not_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    nothing = {"message_ids": [], "queued": [], "invalid_contacts": ["*******666"], "unsubscribed_contacts": []}
    hook = FakeHook(result={**nothing, "reference": None, "adopted": False})
    returned, ti = run(make(contacts=["0400555666"]), hook)
    assert returned == []
    assert ti.xcoms["send_result"]["message_ids"] == []
    assert "Cellcast queued no message" in capsys.readouterr().out


def test_a_partial_send_pushes_what_was_queued_then_fails() -> None:
    partial = {
        "message_ids": IDS,
        "queued": [
            {"message_id": IDS[0], "contact": "+614*****222"},
            {"message_id": IDS[1], "contact": "+614*****444"},
        ],
        "invalid_contacts": [],
        "unsubscribed_contacts": [],
        "reference": "run-1",
        "adopted": False,
    }
    error = CellcastPartialSendError("2 message(s) were queued before a later request failed", partial_result=partial)
    hook = FakeHook(error=error)
    ti = FakeTI()
    with pytest.raises(CellcastPartialSendError) as raised:
        run(make(retries=5), hook, ti)
    assert raised.value is error
    assert ti.xcoms["send_result"] == partial
    assert hook.closed


def test_other_failures_are_raised_as_the_hook_raised_them() -> None:
    error = CellcastSendOutcomeUnknownError("HTTP 502: may have been queued", status_code=502)
    hook = FakeHook(error=error)
    ti = FakeTI()
    with pytest.raises(CellcastSendOutcomeUnknownError) as raised:
        run(make(), hook, ti)
    assert raised.value is error and ti.xcoms == {} and hook.closed


def test_schedule_at_and_delay_ms_together_are_refused_at_parse_time() -> None:
    with pytest.raises(CellcastInputError, match="not both") as raised:
        make(schedule_at=timedelta(hours=1), delay_ms=1000)
    assert isinstance(raised.value, ValueError) and raised.value.field == "schedule_at"


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


# -- against the emulator ------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "field"), [({"message": " "}, "message"), ({"contacts": []}, "contacts")])
def test_bad_rendered_input_fails_before_any_request(cellcast_connection_env, kwargs, field) -> None:
    with pytest.raises(CellcastInputError) as raised:
        make(**kwargs).execute(ctx(FakeTI()))
    assert raised.value.field == field and isinstance(raised.value, AirflowFailException)
    assert cellcast_connection_env.requests_log() == []


def test_a_lost_answer_is_recovered_by_the_retry_not_resent(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    emulator.inject_fault("drop", path="/api/v1/gateway")
    with pytest.raises(CellcastSendRecoverableError):
        make(retries=1).execute(ctx(FakeTI(try_number=1)))
    ti = FakeTI(try_number=2)
    returned = make(retries=1).execute(ctx(ti))
    assert sorted(returned) == sorted(message["_id"] for message in emulator.messages()) and len(returned) == 3
    assert ti.xcoms["send_result"]["adopted"] is True
    assert emulator.request_count("/api/v1/gateway") == 1
