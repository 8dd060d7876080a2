"""CellcastCancelCampaignOperator: checks before any request, return shapes, XComs, batch failures.

Against the emulator (``cellcast_connection_env``): the operator builds its own hook from the
connection, so what reached the server is read from the emulator's journal.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cellcast.exceptions import (
    CellcastBatchError,
    CellcastConfigurationError,
    CellcastInputError,
    CellcastMessageNotCancellableError,
    CellcastMessageNotFoundError,
    CellcastPermanentBatchError,
    CellcastReferenceNotFoundError,
)
from airflow_provider_cellcast.operators.cancel_campaign import CellcastCancelCampaignOperator
from unit.fakes import FakeTI, ctx

UNKNOWN = "675161d8a0000000000000ff"
CANCEL = "/api/v1/gateway/cancelScheduleQuickMessage"

pytestmark = pytest.mark.usefixtures("allow_direct_execute")


def make(**kwargs: Any) -> CellcastCancelCampaignOperator:
    kwargs.setdefault("hook_params", {"requests_per_second": 0})
    return CellcastCancelCampaignOperator(task_id="cancel", **kwargs)


def run(operator: CellcastCancelCampaignOperator) -> tuple[Any, FakeTI]:
    ti = FakeTI()
    return operator.execute(ctx(ti)), ti


def test_template_fields_and_renderers() -> None:
    assert tuple(CellcastCancelCampaignOperator.template_fields) == ("message_id", "custom_string", "message_type")
    assert CellcastCancelCampaignOperator.template_fields_renderers == {"message_id": "py"}


def test_hook_params_are_checked_at_parse_time() -> None:
    with pytest.raises(CellcastConfigurationError, match="Unknown Cellcast setting 'timeout_s'"):
        make(message_id=UNKNOWN, hook_params={"timeout_s": 3})
    with pytest.raises(CellcastConfigurationError, match="max_concurrency"):
        make(message_id=UNKNOWN, hook_params={"max_concurrency": 0})
    assert make(message_id=UNKNOWN, hook_params={"max_concurrency": "4"}).hook_params == {"max_concurrency": "4"}


def test_neither_message_id_nor_custom_string_is_a_parse_error() -> None:
    with pytest.raises(CellcastInputError, match="exactly one"):
        CellcastCancelCampaignOperator(task_id="cancel")


@pytest.mark.parametrize(
    ("kwargs", "field", "named"),
    [
        ({"message_id": "not-an-id"}, "message_id", "24 hexadecimal"),
        ({"message_id": [UNKNOWN, "nope"]}, "message_id", "message_id[1]"),
        ({"message_id": []}, "message_id", "give message_id"),
        ({"message_id": UNKNOWN, "message_type": "fax"}, "message_type", "sms, mms"),
        ({"message_id": "", "custom_string": ""}, "message_id", "exactly one"),
        ({"message_id": UNKNOWN, "custom_string": "ref"}, "message_id", "exactly one"),  # both, once rendered
    ],
)
def test_rendered_values_are_checked_before_any_request(cellcast_connection_env, kwargs, field, named) -> None:
    with pytest.raises(CellcastInputError) as raised:
        run(make(**kwargs))
    assert raised.value.field == field and named in str(raised.value)
    assert isinstance(raised.value, AirflowFailException)
    assert cellcast_connection_env.requests_log() == []


def test_one_id_returns_one_result(cellcast_connection_env) -> None:
    [message_id] = cellcast_connection_env.schedule_campaign()
    returned, ti = run(make(message_id=f"  {message_id.upper()} ", message_type="SMS"))
    assert returned == {
        "message_id": message_id,
        "type": "sms",
        "outcome": "cancelled",
        "message": returned["message"],
        "error": None,
        "status_code": None,
    }
    assert ti.xcoms["results"] == [returned]
    assert cellcast_connection_env.message(message_id)["status"] == "canceled"


def test_a_list_returns_a_list_in_input_order_duplicates_once(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    first, second = emulator.schedule_campaign(contacts=["+61400000001", "+61400000002"])
    emulator.seed_message(message_id=UNKNOWN[:-2] + "aa", status="canceled")
    already = UNKNOWN[:-2] + "aa"
    returned, ti = run(make(message_id=[second, first, already, second]))
    assert [result["message_id"] for result in returned] == [second, first, already]
    assert [result["outcome"] for result in returned] == ["cancelled", "cancelled", "already_cancelled"]
    assert ti.xcoms["results"] == returned
    assert emulator.request_count(CANCEL) == 3
    single_list, _ = run(make(message_id=[first]))
    assert isinstance(single_list, list) and single_list[0]["outcome"] == "already_cancelled"


def test_a_single_failed_id_raises_its_typed_error_and_pushes_results(cellcast_connection_env) -> None:
    ti = FakeTI()
    with pytest.raises(CellcastMessageNotFoundError):
        make(message_id=UNKNOWN).execute(ctx(ti))
    [result] = ti.xcoms["results"]
    assert result["message_id"] == UNKNOWN and result["outcome"] == "failed" and result["error"]


def test_a_batch_with_a_retryable_failure_is_a_batch_error(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    [scheduled] = emulator.schedule_campaign()
    ti = FakeTI()
    with pytest.raises(CellcastBatchError) as raised:
        make(message_id=[scheduled, UNKNOWN]).execute(ctx(ti))
    error = raised.value
    assert type(error) is CellcastBatchError and not isinstance(error, AirflowFailException)
    assert "1 of 2 message IDs could not be cancelled" in str(error) and UNKNOWN in str(error)
    assert error.results == ti.xcoms["results"]
    assert [result["outcome"] for result in error.results] == ["cancelled", "failed"]


def test_a_batch_of_permanent_failures_is_not_retried(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    sent = [emulator.seed_message(status="delivered")["_id"] for _ in range(12)]
    ti = FakeTI()
    with pytest.raises(CellcastPermanentBatchError) as raised:
        make(message_id=sent).execute(ctx(ti))
    error = raised.value
    assert isinstance(error, AirflowFailException) and isinstance(error, CellcastBatchError)
    assert "12 of 12 message IDs could not be cancelled" in str(error) and "and 2 more" in str(error)
    assert [result["outcome"] for result in ti.xcoms["results"]] == ["failed"] * 12
    assert "XCom 'results'" in str(error)


def test_a_single_message_already_sent_is_not_cancellable(cellcast_connection_env) -> None:
    sent = cellcast_connection_env.seed_message(status="delivered")["_id"]
    with pytest.raises(CellcastMessageNotCancellableError) as raised:
        run(make(message_id=sent))
    assert isinstance(raised.value, AirflowFailException)


def test_cancel_by_reference(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    ids = emulator.schedule_campaign(contacts=["+61400000001", "+61400000002"], custom_string="camp-9")
    [other] = emulator.schedule_campaign(custom_string="camp-10")
    returned, ti = run(make(custom_string=" camp-9 "))
    assert sorted(result["message_id"] for result in returned) == sorted(ids)
    assert all(emulator.message(message_id)["status"] == "canceled" for message_id in ids)
    assert emulator.message(other)["status"] == "scheduled"
    with pytest.raises(CellcastReferenceNotFoundError):
        run(make(custom_string="camp-9"))  # nothing scheduled is left
    nothing, ti = run(make(custom_string="camp-9", allow_nothing_to_cancel=True))
    assert nothing == [] and ti.xcoms["results"] == []
