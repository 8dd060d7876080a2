"""CellcastCancelCampaignOperator: checks before any request, return shapes, XComs, batch failures.

Against the emulator (``cellcast_connection_env``): the operator builds its own hook from the
connection, so what reached the server is read from the emulator's journal.
"""

from __future__ import annotations

import re
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
from unit.fakes import FakeTI, Scripted, ctx, scripted_hook
from unit.scripted import CANCEL_PATH, REPORT_PATH, ok, page, refused

UNKNOWN = "675161d8a0000000000000ff"
CANCEL = "/api/v1/gateway/cancelScheduleQuickMessage"
#: The ``results`` entry of a summary: where every ID's outcome is.
WHERE = "every ID's outcome is in the XCom 'results' of this task instance"


def summary(
    total: int, cancelled: int = 0, already: int = 0, failed: int = 0, reference: str | None = None
) -> dict[str, Any]:
    """The return value of a list or a reference that succeeded (no failures to list)."""
    return {
        "total": total,
        "message_type": "sms",
        "outcomes": {"cancelled": cancelled, "already_cancelled": already, "failed": failed},
        "reference": reference,
        "failed": [],
        "failed_not_shown": 0,
        "results": WHERE,
    }

pytestmark = pytest.mark.usefixtures("allow_direct_execute")


def make(**kwargs: Any) -> CellcastCancelCampaignOperator:
    kwargs.setdefault("hook_params", {"requests_per_second": 0})
    return CellcastCancelCampaignOperator(task_id="cancel", **kwargs)


def run(operator: CellcastCancelCampaignOperator) -> tuple[Any, FakeTI]:
    ti = FakeTI()
    return operator.execute(ctx(ti)), ti


def test_template_fields_and_renderers() -> None:
    assert tuple(CellcastCancelCampaignOperator.template_fields) == (
        "message_id", "custom_string", "message_type", "cellcast_conn_id",
    )  # fmt: skip
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
    assert ti.xcoms["results"] == [returned] and ti.pushed == ["results"]
    assert cellcast_connection_env.message(message_id)["status"] == "canceled"


def test_a_list_returns_a_summary_and_pushes_results_in_input_order_duplicates_once(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    first, second = emulator.schedule_campaign(contacts=["+61400000001", "+61400000002"])
    emulator.seed_message(message_id=UNKNOWN[:-2] + "aa", status="canceled")
    already = UNKNOWN[:-2] + "aa"
    returned, ti = run(make(message_id=[second, first, already, second]))
    assert returned == summary(3, cancelled=2, already=1)
    results = ti.xcoms["results"]
    assert [result["message_id"] for result in results] == [second, first, already]
    assert [result["outcome"] for result in results] == ["cancelled", "cancelled", "already_cancelled"]
    assert ti.pushed == ["results"]  # once: the return value does not repeat them
    assert emulator.request_count(CANCEL) == 3
    # A list of one ID is a list: a summary too; only one ID given as a string returns its result.
    single_list, ti = run(make(message_id=[first]))
    assert single_list == summary(1, already=1) and ti.xcoms["results"][0]["outcome"] == "already_cancelled"


def test_the_operator_logs_progress_and_no_line_per_id(cellcast_connection_env, capsys) -> None:
    ids = cellcast_connection_env.schedule_campaign(contacts=[f"+6140000000{n}" for n in range(1, 4)])
    run(make(message_id=ids))
    out = capsys.readouterr().out
    assert "Cancelling 3 scheduled sms message(s) through connection 'cellcast_default'" in out
    assert "Cellcast cancel of 3 sms message(s): 3 cancelled, 0 already cancelled, 0 failed" in out
    assert re.search(r"Cellcast cancel: 3/3 message\(s\) done \(100 %\), 0 failed, 0 left", out)
    assert not any(f"{message_id}: cancelled" in out for message_id in ids)  # per-ID lines are DEBUG


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
    [failed] = [result for result in ti.xcoms["results"] if result["outcome"] == "failed"]
    assert str(error) == (
        f"1 of 2 message IDs could not be cancelled (1 CellcastMessageNotFoundError: message not found: {UNKNOWN}). "
        f"First error: {failed['error']}. The task log names every failed ID; every ID's outcome is in the XCom "
        "'results'."
    )
    # The error carries the failed IDs' results; every ID's is in XCom 'results' (pushed once).
    assert error.results == [failed] and ti.pushed == ["results"]
    assert [result["outcome"] for result in ti.xcoms["results"]] == ["cancelled", "failed"]


def test_a_batch_of_permanent_failures_is_not_retried(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    sent = [emulator.seed_message(status="delivered")["_id"] for _ in range(12)]
    ti = FakeTI()
    with pytest.raises(CellcastPermanentBatchError) as raised:
        make(message_id=sent).execute(ctx(ti))
    error = raised.value
    assert isinstance(error, AirflowFailException) and isinstance(error, CellcastBatchError)
    reason = "CellcastMessageNotCancellableError: Job not found or already processed"
    assert str(error).startswith(f"12 of 12 message IDs could not be cancelled (12 {reason}: {', '.join(sent)}). ")
    assert [result["outcome"] for result in ti.xcoms["results"]] == ["failed"] * 12
    assert str(error).endswith("every ID's outcome is in the XCom 'results'.")


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
    assert returned == summary(2, cancelled=2, reference="camp-9")
    assert sorted(result["message_id"] for result in ti.xcoms["results"]) == sorted(ids)
    assert all(emulator.message(message_id)["status"] == "canceled" for message_id in ids)
    assert emulator.message(other)["status"] == "scheduled"
    with pytest.raises(CellcastReferenceNotFoundError):
        run(make(custom_string="camp-9"))  # nothing scheduled is left
    nothing, ti = run(make(custom_string="camp-9", allow_nothing_to_cancel=True))
    assert nothing == summary(0, reference="camp-9") and ti.xcoms["results"] == [] and ti.pushed == ["results"]


def test_a_reference_breaking_the_rule_is_refused_before_any_request(cellcast_connection_env) -> None:
    with pytest.raises(CellcastInputError, match="use only letters, digits and dashes"):
        run(make(custom_string="camp/9"))
    assert cellcast_connection_env.requests_log() == []


# -- a large batch: failures grouped by reason, bounded lines ----------------------------------------------


@pytest.fixture
def large_batch(scripted_connection: str) -> tuple[Scripted, list[str], list[str]]:
    """105 IDs already delivered and 15 unknown, in one list: a hook whose cancels are all refused."""
    delivered = [f"{n:024x}" for n in range(1, 106)]
    unknown = [f"{n:024x}" for n in range(1001, 1016)]
    statuses: dict[str, list[Any]] = {mid: ["delivered"] for mid in delivered}
    statuses.update({mid: [refused("Message not found")] for mid in unknown})
    rig = scripted_hook(statuses, {CANCEL_PATH: [refused("Job not found or already processed")]})
    return rig, delivered, unknown


def logged(out: str, level: str) -> list[str]:
    """The messages of the task log lines (Airflow's structlog, on stdout) at ``level``."""
    line = re.compile(rf"^\S+ \[{level}\s*\] (.*?) \[airflow\.task\.\S+\] loc=\S+$", re.MULTILINE)
    return line.findall(out)


def run_with(operator: CellcastCancelCampaignOperator, rig: Scripted) -> tuple[Any, FakeTI]:
    operator.__dict__["hook"] = rig.hook  # the cached_property's slot: the operator's one hook seam
    return run(operator)


def test_failures_are_logged_by_reason_in_lines_of_at_most_100(large_batch, capsys) -> None:
    rig, delivered, unknown = large_batch
    ids = [*delivered[:60], *unknown, *delivered[60:]]
    with pytest.raises(CellcastBatchError) as raised:
        run_with(make(message_id=ids), rig)
    # An unknown ID may yet appear (a report lagging behind): the batch stays retryable.
    assert type(raised.value) is CellcastBatchError
    sent = "CellcastMessageNotCancellableError: Job not found or already processed"
    missing = "CellcastMessageNotFoundError: Message not found"
    out = capsys.readouterr().out
    errors = logged(out, "error")
    assert len(errors) == 5
    assert errors[0].startswith(f"105 message(s) failed ({sent}); the first: Cannot cancel sms message {delivered[0]}")
    assert errors[1] == f"Failed ({sent}), 1-100 of 105: {', '.join(delivered[:100])}"
    assert errors[2] == f"Failed ({sent}), 101-105 of 105: {', '.join(delivered[100:])}"
    assert errors[3].startswith(f"15 message(s) failed ({missing}); the first: Cellcast has no message {unknown[0]}")
    assert errors[4] == f"Failed ({missing}), 1-15 of 15: {', '.join(unknown)}"
    # No line per ID at INFO or above; progress in a bounded number of lines (every 10 %).
    info = logged(out, "info")
    assert not [line for line in info + logged(out, "warning") if any(mid in line for mid in ids)]
    assert [line.split(" message(s)")[0] for line in info if line.startswith("Cellcast cancel: ")] == [
        f"Cellcast cancel: {done}/120" for done in range(12, 121, 12)
    ]
    text = str(raised.value)
    # Up to 50 IDs per reason in the error: the log names every one.
    shown = ", ".join(delivered[:50])
    assert f"120 of 120 message IDs could not be cancelled (105 {sent}: {shown}, and 55 more; " in text
    assert f"15 {missing}: {', '.join(unknown)}). First error: Cannot cancel sms message {delivered[0]}" in text
    assert delivered[50] not in text
    assert len(raised.value.results) == 120


def test_a_reference_returns_a_summary_with_the_reference(scripted_connection: str) -> None:
    ids = [f"{n:024x}" for n in range(1, 4)]
    listed = page([{"_id": mid, "customString": "camp-9", "status": "scheduled"} for mid in ids])
    rig = scripted_hook(routes={REPORT_PATH: [listed], CANCEL_PATH: [ok(message="Job removed successfully")]})
    returned, ti = run_with(make(custom_string="camp-9"), rig)
    assert returned == summary(3, cancelled=3, reference="camp-9")
    assert [result["message"] for result in ti.xcoms["results"]] == ["Job removed successfully"] * 3
    [listing] = rig.transport.to(REPORT_PATH)
    assert listing.query["customString"] == "camp-9" and listing.query["status"] == "scheduled"
