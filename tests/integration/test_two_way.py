"""Two-way SMS and MMS in real ``dag.test()`` runs against the emulator process, on every supported Airflow.

* ``CellcastReplySensor`` after "Reply YES to confirm", in poke, reschedule and deferrable modes:
  an older "YES" from the same number, a "YES" from another number and a reply that does not
  match are all ignored; the new matching reply is returned (number masked). The replies are
  injected by a thread that waits on the emulator's request journal (the snapshot was read; the
  sensor read the list again after the first injections): no sleeping.
* ``CellcastSendMmsOperator``: a PNG reaches Cellcast as one multipart request, the task returns
  the message IDs; bad media is refused before any request; a lost answer is never resent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow_versions import AIRFLOW_VERSION, Version, reschedule_count
from conftest import REPO, EmulatorProcess, load_dag, run_dag

pytestmark = pytest.mark.integration
TEST_DAGS = REPO / "tests" / "dags"
REPLIES = "/api/v1/apiClient/getResponses"
SEND_MMS = "/api/v1/gatewaymms"
CONTACT = "+61400000951"
PNG = b"\x89PNG\r\n\x1a\n" + bytes.fromhex("0000000d49484452000000010000000108000000003a7e9b55") + b"\x00" * 40


def answered_reads(emulator: EmulatorProcess, after_id: int = 0) -> list[dict[str, Any]]:
    """Reply-list requests the emulator answered, journalled after entry ``after_id``."""
    return [
        entry
        for entry in emulator.client.requests_log()
        if entry["path"] == REPLIES and entry.get("status") and entry["id"] > after_id
    ]


def wait_until(condition: Callable[[], Any], stop: threading.Event, seconds: float = 60) -> Any:
    """Poll an observable condition (the emulator's journal), not a clock."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop.is_set():
        found = condition()
        if found:
            return found
        stop.wait(0.05)
    raise AssertionError("the condition was never met")


class ReplyScript(threading.Thread):
    """Once the sensor took its snapshot: a YES from another number and a reply that does not match;
    once it has read the list again (and kept waiting): the matching YES."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        super().__init__(daemon=True)
        self.emulator = emulator
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.reads_before_match = 0

    def run(self) -> None:
        client = self.emulator.client
        try:
            [*_, snapshot] = wait_until(lambda: answered_reads(self.emulator), self.stop)
            client.inject_reply("+61400000777", "YES")
            last = client.inject_reply("0400 000 951", "Maybe later")
            journal_now = max(entry["id"] for entry in client.requests_log())
            wait_until(lambda: answered_reads(self.emulator, journal_now), self.stop)
            self.reads_before_match = len(answered_reads(self.emulator))
            client.inject_reply("61400000951", "yes please")
            assert snapshot and last
        except BaseException as error:  # reported by the test
            self.error = error


@pytest.fixture
def replies(emulator: EmulatorProcess) -> Iterator[ReplyScript]:
    # Already in the inbox: a YES from the same number, an hour old.
    emulator.client.inject_reply(CONTACT, "YES", received_at=emulator.client.now() - timedelta(hours=1))
    script = ReplyScript(emulator)
    script.start()
    yield script
    script.stop.set()
    script.join(10)


def leftover_snapshots() -> int:
    """Snapshots a reschedule-mode sensor left behind (Variables before 3.3, task state from 3.3)."""
    from airflow.models.variable import Variable  # the table, not the task SDK accessor
    from airflow.utils.session import create_session

    with create_session() as session:
        count = session.query(Variable).filter(Variable.key.like("cellcast_reply_cursor_%")).count()
        try:
            from airflow.models.task_state_store import TaskStateStoreModel
        except ImportError:
            return int(count)
        return int(
            count
            + session.query(TaskStateStoreModel).filter(TaskStateStoreModel.key == "cellcast_reply_cursor").count()
        )


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_reply_sensor_returns_only_the_new_matching_reply(
    airflow_db: Path, emulator: EmulatorProcess, replies: ReplyScript, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dag = load_dag(f"cellcast_test_reply_{mode}", TEST_DAGS)
    result = run_dag(dag, {"contacts": [CONTACT]})
    replies.join(10)
    assert replies.error is None, replies.error

    assert result.state == "success", result.task_states
    assert result.task_states == {"ask": "success", "wait_yes": "success"}
    [found] = result.xcom[("wait_yes", "return_value")]
    assert found["body"] == "yes please"
    assert found["from"] == "********951" and found["contact_index"] == 0
    assert found["received_at"] and found["message_id"] is None and len(found["fingerprint"]) == 20
    # The sensor read the list at least twice after its snapshot: the decoys did not end the wait.
    assert replies.reads_before_match >= 2
    # What the sensor and the send wrote holds no full number.
    assert "400000951" not in json.dumps(list(result.xcom.values()), default=str)
    output = capsys.readouterr()
    # Airflow 3.0's dag.test() echoes every message of the task to its in-process supervisor at debug
    # level: the rendered template fields (as the UI shows them) and the deferral with the trigger's
    # kwargs (stored encrypted). Those lines are Airflow's, not log lines of ours.
    echoes = ("SetRenderedFields", "Sending request", "Received message from task runner")
    ours = [line for line in (output.out + output.err).splitlines() if not any(echo in line for echo in echoes)]
    assert not [line for line in ours if "400000951" in line]


@pytest.mark.skipif(
    Version("3.0") <= AIRFLOW_VERSION < Version("3.1"),
    reason="Airflow 3.0's dag.test() hands a sensor its first reschedule date as text (the in-process "
    "supervisor skips validation), so any reschedule-mode sensor fails at its second unsuccessful poke there",
)
def test_reply_sensor_in_reschedule_mode_keeps_its_snapshot_across_pokes(
    airflow_db: Path, emulator: EmulatorProcess, replies: ReplyScript
) -> None:
    dag = load_dag("cellcast_test_reply_reschedule", TEST_DAGS)
    result = run_dag(dag, {"contacts": [CONTACT]})
    replies.join(10)
    assert replies.error is None, replies.error

    assert result.state == "success", result.task_states
    [found] = result.xcom[("wait_yes", "return_value")]
    assert found["body"] == "yes please"
    # Several pokes, each a fresh task run: a snapshot taken again at each poke would have
    # swallowed the YES and the sensor would have timed out.
    assert reschedule_count(dag.dag_id, result.run_id, "wait_yes") >= 2
    assert len(answered_reads(emulator)) >= 3
    assert leftover_snapshots() == 0  # deleted when the sensor ended


def test_the_example_dags_parse_on_every_supported_airflow(airflow_db: Path) -> None:
    from airflow_versions import AIRFLOW_3, dag_bag

    bag = dag_bag(REPO / "dags" / "cellcast_two_way.py")
    assert not bag.import_errors, bag.import_errors
    sensor = bag.dags["cellcast_confirm_by_reply"].get_task("wait_for_yes")
    assert (type(sensor).__name__, sensor.deferrable, sensor.pattern) == ("CellcastReplySensor", True, r"(?i)^\s*yes\b")
    # The DAG started by inbound SMS exists only where AssetWatcher does (3.0+).
    assert ("cellcast_inbound_replies" in bag.dags) == AIRFLOW_3


# -- MMS ------------------------------------------------------------------------------------------------


def mms_requests(emulator: EmulatorProcess) -> list[dict[str, Any]]:
    return [entry for entry in emulator.client.requests_log() if entry["path"] == SEND_MMS]


def test_an_mms_with_a_png_is_one_multipart_request_and_returns_its_message_ids(
    airflow_db: Path, emulator: EmulatorProcess, tmp_path: Path
) -> None:
    picture = tmp_path / "flyer.png"
    picture.write_bytes(PNG)
    dag = load_dag("cellcast_test_mms", TEST_DAGS)
    result = run_dag(dag, {"contacts": ["+61400000001", "0400 000 002"], "media": str(picture)})

    assert result.state == "success", result.task_states
    message_ids = result.xcom[("send_mms", "return_value")]
    assert len(message_ids) == 2
    send_result = result.xcom[("send_mms", "send_result")]
    assert send_result["message_ids"] == message_ids
    assert [entry["contact"] for entry in send_result["queued"]] == ["******001", "******002"]
    [request] = mms_requests(emulator)
    assert request["method"] == "POST" and request["status"] == 200
    assert request["body"]["media"] == {
        "filename": "flyer.png", "content_type": "image/png", "size": len(PNG), "detected_type": "png",
    }  # fmt: skip
    assert [number[-3:] for number in request["body"]["contacts"]] == ["001", "002"]  # one JSON-array field
    for message_id in message_ids:
        stored = emulator.client.message(message_id)
        assert (stored["type"], stored["media"], stored["message"]) == ("mms", "flyer.png", "This week's specials")


@pytest.mark.parametrize(
    "content", [PNG + b"\x00" * (230 * 1024), b"GIF89a" + b"\x00" * 64], ids=["too-large", "not-png-or-jpeg"]
)
def test_bad_mms_media_fails_the_task_before_any_request(
    airflow_db: Path, emulator: EmulatorProcess, tmp_path: Path, content: bytes
) -> None:
    picture = tmp_path / "looks.png"
    picture.write_bytes(content)
    result = run_dag(load_dag("cellcast_test_mms", TEST_DAGS), {"contacts": ["+61400000001"], "media": str(picture)})
    assert result.task_state("send_mms") == "failed"
    assert result.try_numbers["send_mms"] == 1  # a CellcastInputError: no Airflow retry either
    assert mms_requests(emulator) == []


def test_a_lost_mms_answer_is_never_resent(airflow_db: Path, emulator: EmulatorProcess, tmp_path: Path) -> None:
    picture = tmp_path / "flyer.png"
    picture.write_bytes(PNG)
    # Cellcast queues the MMS, then the connection breaks before the answer is read.
    emulator.client.inject_fault("drop", path=SEND_MMS, method="POST", count=1, when="after")
    result = run_dag(load_dag("cellcast_test_mms", TEST_DAGS), {"contacts": ["+61400000001"], "media": str(picture)})

    assert result.task_state("send_mms") == "failed"
    # The test DAG allows two Airflow retries: the outcome-unknown error (AirflowFailException) used none.
    assert result.try_numbers["send_mms"] == 1
    [request] = mms_requests(emulator)
    assert request["fault"] == "drop"
    assert len([m for m in emulator.client.messages() if m["type"] == "mms"]) == 1
    assert ("send_mms", "return_value") not in result.xcom


def test_mms_media_from_object_storage(airflow_db: Path, emulator: EmulatorProcess, tmp_path: Path) -> None:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    from airflow_provider_cellcast.hooks.cellcast import CellcastHook

    picture = tmp_path / "stored.png"
    picture.write_bytes(PNG)
    hook = CellcastHook()
    try:
        sent = hook.send_mms("From storage", ["+61400000003"], media=ObjectStoragePath(f"file://{picture}"))
    finally:
        hook.close()
    assert len(sent["message_ids"]) == 1
    [request] = mms_requests(emulator)
    assert request["body"]["media"]["filename"] == "stored.png" and request["body"]["media"]["size"] == len(PNG)
