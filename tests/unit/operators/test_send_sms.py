"""CellcastSendSmsOperator: what it passes to the hook, its reference, XComs, logs and retries.

Send safety (never twice, typed failures, input checks) lives in the hook and is tested there
(``tests/unit/hooks/test_cellcast.py``). Here a stand-in hook records what the operator passes and
answers or raises what a hook would; a few tests run the operator against the emulator.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import DAG, BaseOperator
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_cellcast.exceptions import (
    CellcastInputError,
    CellcastPartialSendError,
    CellcastSendOutcomeUnknownError,
    CellcastSendRecoverableError,
)
from airflow_provider_cellcast.operators.send_sms import CellcastSendSmsOperator, task_instance_reference
from airflow_provider_cellcast.validation import MAX_REFERENCE_LENGTH, validate_reference
from unit.fakes import FakeTI, ctx

NUMBERS = ["+61400111222", "+61400333444", "0400555666"]
IDS = ["675161d8a000000000000001", "675161d8a000000000000002"]
#: How the hook reports a contact it refused before sending (contacts.py).
TOO_SHORT = {"contact": "*******666", "error": "Number is less than 9 digit", "error_type": "less_nine_digit",
             "rejected_by": "provider"}  # fmt: skip


def digest(*parts: Any) -> str:
    """The 16 hex characters of a default reference: sha256 of dag, task, map index and run, one a line."""
    return hashlib.sha256("\n".join(str(part) for part in parts).encode()).hexdigest()[:16]

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
            "invalid_contacts": [dict(TOO_SHORT)],
            "unsubscribed_contacts": [],
            "reference": "run-1",
            "adopted": False,
            "sent_on": "2026-12-01",
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
        "message", "contacts", "sender", "schedule_at", "custom_string", "opt_out_list_id", "cellcast_conn_id",
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
        "reply_stop_to_opt_out": None,  # None: not sent, Cellcast's defaults stand
        "opt_out": None,
        "opt_out_list_id": None,
        "verify_schedule": True,
    }
    assert hook.closed


def test_opt_out_fields_and_verify_schedule_are_passed() -> None:
    hook = FakeHook()
    run(make(reply_stop_to_opt_out=True, opt_out=False, opt_out_list_id="65aa00000000000000000001",
             verify_schedule=False), hook)  # fmt: skip
    [call] = hook.calls
    assert {key: call[key] for key in ("reply_stop_to_opt_out", "opt_out", "opt_out_list_id", "verify_schedule")} == {
        "reply_stop_to_opt_out": True, "opt_out": False, "opt_out_list_id": "65aa00000000000000000001",
        "verify_schedule": False,
    }  # fmt: skip
    run(make(opt_out_list_id=""), hook)  # a template rendered empty: not given
    assert hook.calls[1]["opt_out_list_id"] is None


def test_values_are_passed_as_rendered() -> None:
    hook = FakeHook()
    run(make(contacts=str(NUMBERS), sender="", delay_ms=5000), hook)
    [call] = hook.calls
    assert call["contacts"] == str(NUMBERS) and call["sender"] is None and call["delay_ms"] == 5000


def test_the_default_reference_names_the_task_instance_and_a_retry_adopts(capsys: pytest.CaptureFixture[str]) -> None:
    hook = FakeHook()
    mapped = {"dag_id": "campaigns", "task_id": "send", "run_id": "manual__2026", "map_index": 3}
    run(make(), hook, FakeTI(**mapped))
    run(make(), hook, FakeTI(**mapped, try_number=2))
    run(make(), hook, FakeTI(dag_id="campaigns", task_id="send", run_id="manual__2026"))
    first, retry, unmapped = hook.calls
    reference = f"af-campaigns-send-{digest('campaigns', 'send', 3, 'manual__2026')}"
    assert first["custom_string"] == reference
    assert (first["recover_by_reference"], first["adopt_existing"]) == (True, False)
    # The same reference on every try of the task instance: the retry finds what the first queued.
    assert retry["custom_string"] == reference and retry["adopt_existing"] is True
    assert unmapped["custom_string"] == f"af-campaigns-send-{digest('campaigns', 'send', -1, 'manual__2026')}"
    logged = capsys.readouterr().out
    assert (
        f"Campaign reference (Cellcast customString): {reference} (DAG campaigns, task send [3], run manual__2026)"
        in logged
    )
    assert f"{unmapped['custom_string']} (DAG campaigns, task send, run manual__2026)" in logged


def test_a_given_custom_string_is_the_reference() -> None:
    hook = FakeHook()
    run(make(custom_string="spring-sale-2026"), hook, FakeTI(try_number=3))
    [call] = hook.calls
    assert (call["custom_string"], call["recover_by_reference"], call["adopt_existing"]) == (
        "spring-sale-2026", True, True,
    )  # fmt: skip


def test_task_instance_reference_slugs_and_hash() -> None:
    long = FakeTI(dag_id="d" * 100, task_id="t" * 100, run_id="r")
    reference = task_instance_reference(long)
    assert reference == f"af-{'d' * 20}-{'t' * 20}-{digest('d' * 100, 't' * 100, -1, 'r')}"
    assert len(reference) == 61 <= MAX_REFERENCE_LENGTH
    # Non-alphanumerics become one dash; dashes at the ends (also after the cut) are dropped.
    dag_id, task_id = "__sales.daily v2__", "group.send_sms_to_everyone_now"
    assert task_instance_reference(FakeTI(dag_id=dag_id, task_id=task_id, run_id="r")) == (
        f"af-sales-daily-v2-group-send-sms-to-ev-{digest(dag_id, task_id, -1, 'r')}"
    )
    assert task_instance_reference(FakeTI(dag_id="___", task_id="é", run_id="r")).startswith("af-x-x-")
    assert task_instance_reference(long) == reference  # the same on every try


@pytest.mark.parametrize(
    "other",
    [
        {"run_id": "s"},
        {"map_index": 0},
        {"map_index": 1},
        {"task_id": "t" * 100 + "x"},  # same slug, another task: the hash tells them apart
        {"dag_id": "d" * 99 + "e"},
    ],
)
def test_task_instance_reference_differs_for_every_other_task_instance(other: dict[str, Any]) -> None:
    base = {"dag_id": "d" * 100, "task_id": "t" * 100, "run_id": "r", "map_index": -1}
    assert task_instance_reference(FakeTI(**{**base, **other})) != task_instance_reference(FakeTI(**base))


@settings(max_examples=200, deadline=None)
@given(
    dag_id=st.text(min_size=1, max_size=250),
    task_id=st.text(min_size=1, max_size=250),
    run_id=st.text(min_size=1, max_size=250),
    map_index=st.integers(min_value=-1, max_value=100_000),
)
def test_every_default_reference_is_a_valid_customstring(
    dag_id: str, task_id: str, run_id: str, map_index: int
) -> None:
    reference = task_instance_reference(FakeTI(dag_id=dag_id, task_id=task_id, run_id=run_id, map_index=map_index))
    assert re.fullmatch(r"af-[A-Za-z0-9-]+-[0-9a-f]{16}", reference) and len(reference) <= MAX_REFERENCE_LENGTH
    assert validate_reference(reference) == reference


def test_a_custom_string_breaking_the_rule_is_a_parse_error() -> None:
    with pytest.raises(CellcastInputError) as raised:
        make(custom_string="spring sale/2026")
    assert raised.value.field == "custom_string" and "use only letters, digits and dashes" in str(raised.value)
    with pytest.raises(CellcastInputError, match="at most 64"):
        make(custom_string="a" * 65)
    make(custom_string="{{ params.reference }}")  # templated: checked once rendered, before any request


def test_logs_counts_and_masked_numbers_only(capsys: pytest.CaptureFixture[str]) -> None:
    hook = FakeHook()
    hook.result["unsubscribed_contacts"] = ["+614*****444"]
    run(make(), hook)
    text = capsys.readouterr().out  # Airflow's structlog writes task logs to stdout
    assert "Cellcast queued 2 message(s)" in text
    assert "1 invalid contact(s) not sent: *******666 (Number is less than 9 digit)" in text
    assert "1 unsubscribed contact(s) skipped by Cellcast: +614*****444" in text
    for number in NUMBERS:
        assert number not in text


def test_long_lists_of_skipped_numbers_are_shortened(capsys: pytest.CaptureFixture[str]) -> None:
    hook = FakeHook()
    hook.result["invalid_contacts"] = [
        {"contact": f"*******{i:03d}", "error": None, "error_type": "blacklisted" if i % 2 else None,
         "rejected_by": "cellcast"}
        for i in range(25)
    ]  # fmt: skip
    run(make(), hook)
    out = capsys.readouterr().out
    assert "25 invalid contact(s) not sent: *******000 (no reason given); *******001 (blacklisted); " in out
    assert "*******019 (blacklisted); and 5 more" in out and "*******020" not in out


def test_an_adopted_result_is_logged_as_adopted(capsys: pytest.CaptureFixture[str]) -> None:
    hook = FakeHook()
    hook.result.update(adopted=True, reference="af-d-send-0123456789abcdef", invalid_contacts=[])
    returned, ti = run(make(), hook, FakeTI(try_number=2))
    assert returned == IDS and ti.xcoms["send_result"]["adopted"] is True
    assert (
        "Adopted 2 message(s) an earlier try queued with reference af-d-send-0123456789abcdef"
        in capsys.readouterr().out
    )


def test_nothing_queued_is_a_warning_not_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    nothing = {"message_ids": [], "queued": [], "invalid_contacts": [TOO_SHORT], "unsubscribed_contacts": []}
    hook = FakeHook(result={**nothing, "reference": None, "adopted": False, "sent_on": "2026-12-01"})
    returned, ti = run(make(contacts=["0400555"]), hook)
    assert returned == []
    assert ti.xcoms["send_result"]["message_ids"] == []
    out = capsys.readouterr().out
    assert "Cellcast queued no message: every contact was invalid or unsubscribed" in out
    assert "1 invalid contact(s) not sent: *******666 (Number is less than 9 digit)" in out


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
        "sent_on": "2026-12-01",
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
