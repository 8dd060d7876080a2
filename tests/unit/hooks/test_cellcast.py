"""CellcastHook: its requests, retries, send safety, cancels and the inherited HttpHook surface.

Two seams, no private attribute: scripted answers replace ``requests.Session.send`` (the exact
bytes of an answer, or an exception where a server cannot produce one), and the Cellcast emulator
(``cellcast_connection_env``) answers over loopback HTTP, with faults, where what matters is what
reached the server. Waits go to a recorder passed as the hook's ``sleep``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import tenacity
from airflow.providers.common.compat.sdk import AirflowFailException
from urllib3.exceptions import NewConnectionError

from airflow_provider_cellcast import DEFAULT_BASE_URL
from airflow_provider_cellcast.exceptions import (
    CellcastAuthenticationError,
    CellcastBadRequestError,
    CellcastConfigurationError,
    CellcastConnectionError,
    CellcastError,
    CellcastInputError,
    CellcastMessageNotCancellableError,
    CellcastMessageNotFoundError,
    CellcastPartialSendError,
    CellcastRateLimitError,
    CellcastSendConnectionLostError,
    CellcastSendOutcomeUnknownError,
    CellcastSendRecoverableError,
    CellcastServerError,
    CellcastUnsuccessfulError,
)
from airflow_provider_cellcast.hooks.cellcast import CancelAttempt, CellcastHook
from airflow_provider_cellcast.statuses import StatusRules

TOKEN = "tok-unit-7f3a9c2e5b"
MID = "675161d8a000000000000000"
SEND = "/api/v1/gateway"


def app(status: bool = True, message: str = "ok", data: Any = None) -> dict[str, Any]:
    return {"status": status, "message": message, "data": {} if data is None else data, "error": {}}


def queued(*numbers: str, start: int = 1) -> dict[str, Any]:
    """A send answer's ``data`` queueing ``numbers`` with consecutive message IDs."""
    return {
        "queueResponse": [
            {"Contact": number, "MessageId": f"{start + i:024x}", "Result": "ok", "Number": "1"}
            for i, number in enumerate(numbers)
        ]
    }


class Script:
    """Replaces ``requests.Session.send``: answers in order, records every request and every wait."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []
        self.waits: list[float] = []

    def __call__(
        self, session: requests.Session, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        body = request.body
        self.calls.append(
            {
                "method": request.method,
                "url": request.url,
                "headers": dict(request.headers),
                "json": json.loads(body) if body else None,
                **kwargs,
            }
        )
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, document, headers = answer if len(answer) == 3 else (*answer, {})
        response = requests.Response()
        response.status_code = status
        response._content = document if isinstance(document, bytes) else json.dumps(document).encode()
        response.headers.update(headers)
        response.url = request.url or ""
        response.request = request
        return response


@pytest.fixture
def connect(monkeypatch) -> Callable[..., CellcastHook]:
    """A hook on connection ``cellcast_unit`` whose requests the given Script answers (no pacing)."""

    def make(script: Script, *, host: str | None = None, extra: dict | None = None, **overrides) -> CellcastHook:
        conn: dict[str, Any] = {"conn_type": "cellcast", "password": TOKEN}
        if host is not None:
            conn["host"] = host
        if extra is not None:
            conn["extra"] = extra
        monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_UNIT", json.dumps(conn))
        monkeypatch.setattr(requests.Session, "send", lambda session, request, **kw: script(session, request, **kw))
        overrides.setdefault("requests_per_second", 0)
        return CellcastHook("cellcast_unit", sleep=script.waits.append, **overrides)

    return make


def emulated_hook(**overrides: Any) -> CellcastHook:
    """A hook on ``cellcast_default`` (set by ``cellcast_connection_env``) that never really waits."""
    return CellcastHook(sleep=lambda seconds: None, **overrides)


def sends(emulator: Any) -> list[dict[str, Any]]:
    """The send requests the emulator received (its journal)."""
    return [entry for entry in emulator.requests_log() if entry["path"] == SEND and entry["method"] == "POST"]


# -- connection, settings, session ---------------------------------------------------------------


def test_bearer_token_default_host_and_no_extras_as_headers(connect):
    script = Script((200, app(message="Job Removed successfully")))
    hook = connect(script, extra={"timeout": "12", "max_attempts": 2})
    result = hook.cancel_scheduled_message(MID, "SMS")
    assert result == {
        "message_id": MID,
        "type": "sms",
        "outcome": "cancelled",
        "message": "Job Removed successfully",
        "error": None,
        "status_code": None,
    }
    call = script.calls[0]
    assert call["url"] == "https://api.cellcast.com/api/v1/gateway/cancelScheduleQuickMessage"
    assert call["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert call["json"] == {"messageId": MID, "type": "sms"}
    assert call["timeout"] == (10.0, 12.0)
    assert not {"timeout", "max_attempts"} & set(call["headers"])


def test_connection_read_once_and_session_reused(connect, monkeypatch):
    script = Script((200, app()), (200, app()))
    hook = connect(script)
    reads = []
    original = CellcastHook.get_connection
    monkeypatch.setattr(
        CellcastHook, "get_connection", classmethod(lambda cls, cid: reads.append(cid) or original(cid))
    )
    hook.cancel_scheduled_message(MID)
    session = hook.get_conn()
    hook.cancel_scheduled_message(MID)
    assert reads == ["cellcast_unit"] and hook.get_conn() is session


@pytest.mark.parametrize(
    "host,expected",
    [
        ("api.cellcast.com", "https://api.cellcast.com"),
        ("http://127.0.0.1:8079/", "http://127.0.0.1:8079"),
        ("http://localhost:9", "http://localhost:9"),
        ("https://eu.example.test", "https://eu.example.test"),
    ],
)
def test_base_url(connect, host, expected):
    assert connect(Script(), host=host).api_base_url == expected


def test_port_field_and_port_in_url(connect, monkeypatch):
    def hook_with(host: str, port: int) -> CellcastHook:
        conn = {"conn_type": "cellcast", "host": host, "port": port, "password": TOKEN}
        monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_PORTS", json.dumps(conn))
        return CellcastHook("cellcast_ports")

    assert hook_with("http://127.0.0.1", 8079).api_base_url == "http://127.0.0.1:8079"
    assert hook_with("http://127.0.0.1:8079", 8079).api_base_url == "http://127.0.0.1:8079"
    assert hook_with("api.cellcast.com", 443).api_base_url == "https://api.cellcast.com:443"
    with pytest.raises(CellcastConfigurationError, match="two ports"):
        hook_with("http://127.0.0.1:8079", 9000).api_base_url  # noqa: B018


def test_plain_http_to_remote_host_refused(connect):
    hook = connect(Script(), host="http://api.cellcast.com")
    with pytest.raises(CellcastConfigurationError, match="unencrypted") as caught:
        hook.cancel_scheduled_message(MID)
    assert isinstance(caught.value, AirflowFailException)


def test_plain_http_allowed_by_extra_with_warning(connect, capsys):
    hook = connect(Script(), host="http://gateway.internal", extra={"allow_insecure_http": "true"})
    assert hook.api_base_url == "http://gateway.internal"
    captured = capsys.readouterr()
    assert "plain HTTP" in captured.out + captured.err


def test_missing_token(connect, monkeypatch):
    hook = connect(Script())
    monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_UNIT", json.dumps({"conn_type": "cellcast"}))
    with pytest.raises(CellcastConfigurationError, match="no API token"):
        hook.cancel_scheduled_message(MID)


@pytest.mark.parametrize(
    "extra,match",
    [({"max_attempts": "many"}, "max_attempts"), ({"max_concurrency": 0}, "max_concurrency"), ({"verify": None}, None)],
)
def test_settings_from_extras_checked(connect, extra, match):
    hook = connect(Script(), extra=extra)
    if match is None:
        assert hook.settings.verify is True
    else:
        with pytest.raises(CellcastConfigurationError, match=match):
            hook.settings  # noqa: B018


def test_hook_arguments_override_extras(connect):
    hook = connect(Script(), extra={"max_attempts": 2, "timeout": 5}, max_attempts=7)
    assert (hook.settings.max_attempts, hook.settings.timeout) == (7, 5.0)
    with pytest.raises(CellcastConfigurationError, match="Unknown Cellcast setting 'colour'"):
        connect(Script(), colour="red").settings  # noqa: B018


def test_429_retried_honouring_retry_after(connect):
    script = Script((429, {"code": 429, "message": "Too many"}, {"Retry-After": "2"}), (200, app()))
    hook = connect(script)
    assert hook.cancel_scheduled_message(MID)["outcome"] == "cancelled"
    assert len(script.calls) == 2
    # The retry waits 2 s; the pacer then holds every request of the hook until the pause ends
    # (the recorder does not move the clock, so the pause is still ahead: slightly under 2 s).
    assert script.waits[0] == 2.0
    assert all(1.0 < wait <= 2.0 for wait in script.waits[1:])


def test_retry_after_capped_by_max_backoff(connect):
    script = Script((503, b"", {"Retry-After": "3600"}), (200, app()))
    hook = connect(script, max_backoff_seconds=4)
    hook.cancel_scheduled_message(MID)
    assert script.waits == [4.0]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_transient_5xx_retried_until_attempts_run_out(connect, status):
    script = Script(*[(status, b"<html>bad gateway</html>", {"Content-Type": "text/html"})] * 3)
    hook = connect(script, max_attempts=3, backoff_seconds=0.5)
    with pytest.raises(CellcastServerError) as caught:
        hook.cancel_scheduled_message(MID)
    assert caught.value.status_code == status and len(script.calls) == 3
    assert len(script.waits) == 2


@pytest.mark.parametrize(
    "answer,error",
    [
        ((500, {"code": 500, "message": "boom"}), CellcastServerError),
        ((400, {"code": 400, "message": "messageId is required", "stack": "APIError: x"}), CellcastBadRequestError),
        ((401, {"code": 401, "message": "Token expired"}), CellcastAuthenticationError),
        ((403, {"code": 403, "message": "Forbidden"}), CellcastAuthenticationError),
    ],
)
def test_permanent_faults_fail_at_once(connect, answer, error):
    script = Script(answer, (200, app()))
    hook = connect(script)
    with pytest.raises(error) as caught:
        hook.cancel_scheduled_message(MID)
    assert len(script.calls) == 1
    assert TOKEN not in str(caught.value)
    assert "APIError" not in str(caught.value)


def test_401_names_the_connection_to_fix(connect):
    hook = connect(Script((401, {"code": 401, "message": "Token expired"})))
    with pytest.raises(CellcastAuthenticationError, match="connection 'cellcast_unit'"):
        hook.cancel_scheduled_message(MID)


def test_total_wait_is_capped(connect):
    script = Script(*[(429, b"", {"Retry-After": "10"})] * 10)
    hook = connect(script, max_attempts=10, max_retry_seconds=25)
    with pytest.raises(CellcastRateLimitError):
        hook.cancel_scheduled_message(MID)
    # Two waits of 10 s fit in 25 s, a third would not: three attempts, not ten. Each 429 pause
    # is recorded twice (the retry's wait, then the pacer holding the next request; see
    # test_429_retried_honouring_retry_after): the retry waits are every other one.
    assert len(script.calls) == 3
    retry_waits, pacer_waits = script.waits[0::2], script.waits[1::2]
    assert retry_waits == [10.0, 10.0] and sum(retry_waits) <= 25
    assert len(pacer_waits) == 2 and all(9.0 < wait <= 10.0 for wait in pacer_waits)


def refused() -> requests.ConnectionError:
    return requests.ConnectionError(NewConnectionError(None, "Connection refused"))  # type: ignore[arg-type]


def test_cancel_retried_after_read_timeout(connect):
    script = Script(requests.ReadTimeout("read timed out"), (200, app()))
    hook = connect(script)
    assert hook.cancel_scheduled_message(MID)["outcome"] == "cancelled"
    assert len(script.calls) == 2


# -- send_sms: never twice ----------------------------------------------------------------------------


def test_send_not_repeated_after_read_timeout(connect):
    script = Script(requests.ReadTimeout("read timed out"), (200, app(data={"queueResponse": []})))
    hook = connect(script)
    with pytest.raises(CellcastSendConnectionLostError) as caught:
        hook.send_sms("hello", ["+61400000001"])
    assert isinstance(caught.value, CellcastConnectionError) and isinstance(caught.value, AirflowFailException)
    assert caught.value.request_sent and len(script.calls) == 1


def test_send_repeated_when_never_connected_or_rate_limited(connect):
    accepted = {"queueResponse": [{"Contact": "+61400000001", "MessageId": MID, "Result": "ok", "Number": "1"}]}
    script = Script(refused(), (429, b""), (200, app(data=accepted)))
    hook = connect(script)
    assert hook.send_sms("hello", ["+61400000001"])["message_ids"] == [MID]
    assert len(script.calls) == 3


def test_send_splits_contacts_by_thousand(connect):
    def queued(n: int, offset: int) -> dict:
        return {
            "queueResponse": [
                {"Contact": f"+6140000{i:04d}", "MessageId": f"{i:024x}", "Result": "ok", "Number": "1"}
                for i in range(offset, offset + n)
            ],
            "invalidContacts": ["0412345678"],
        }

    script = Script((200, app(data=queued(1000, 0))), (200, app(data=queued(500, 1000))))
    hook = connect(script)
    contacts = [f"+6140000{i:04d}" for i in range(1500)]
    sent = hook.send_sms("hi", contacts)
    assert [len(call["json"]["contacts"]) for call in script.calls] == [1000, 500]
    assert len(sent["message_ids"]) == 1500
    assert sent["invalid_contacts"] == ["*******678", "*******678"]
    assert all("+6140000" not in item["contact"] for item in sent["queued"])


def test_failed_second_chunk_keeps_first_chunk_ids(connect):
    first = {"queueResponse": [{"Contact": "+61400000001", "MessageId": MID, "Result": "ok", "Number": "1"}]}
    script = Script((200, app(data=first)), (400, {"code": 400, "message": "bad"}))
    hook = connect(script)
    with pytest.raises(CellcastPartialSendError) as caught:
        hook.send_sms("hi", ["+61400000001"] * 1001)
    assert caught.value.partial_result["message_ids"] == [MID]
    assert isinstance(caught.value, AirflowFailException) and caught.value.status_code == 400
    assert isinstance(caught.value.__cause__, CellcastBadRequestError)
    assert "may have been queued too" not in str(caught.value)  # a stated refusal queued nothing more


# -- cancels -----------------------------------------------------------------------------------------


def report(status: str, **fields: Any) -> tuple[int, dict]:
    return 200, app(data={"_id": MID, "status": status, **fields})


def test_refused_cancel_of_cancelled_message_is_already_cancelled(connect):
    script = Script((200, app(status=False, message="Job not found")), report("canceled"))
    hook = connect(script)
    result = hook.cancel_scheduled_message(MID)
    assert result["outcome"] == "already_cancelled"
    assert script.calls[1]["method"] == "GET" and script.calls[1]["url"].endswith(f"/api/v2/report/message/{MID}")


def test_refused_cancel_of_sent_message_fails_without_retry(connect):
    script = Script((200, app(status=False)), report("delivered", send_time="2026-11-27T01:00:00Z"))
    with pytest.raises(CellcastMessageNotCancellableError) as caught:
        connect(script).cancel_scheduled_message(MID)
    assert "delivered" in str(caught.value) and "2026-11-27T01:00:00Z" in str(caught.value)
    assert isinstance(caught.value, AirflowFailException)


@pytest.mark.parametrize("lookup", [(200, app(status=False, message="Message not found")), (404, {"code": 404})])
def test_refused_cancel_of_unknown_message(connect, lookup):
    script = Script((200, app(status=False, message="Message not found")), lookup)
    with pytest.raises(CellcastMessageNotFoundError, match=f"no message {MID}"):
        connect(script).cancel_scheduled_message(MID)


def test_refused_cancel_of_still_scheduled_message_hints_at_type(connect):
    script = Script((200, app(status=False)), report("scheduled", scheduleAt="2026-12-01T00:00:00Z"))
    with pytest.raises(CellcastUnsuccessfulError, match="message_type 'mms'"):
        connect(script).cancel_scheduled_message(MID, "mms")


def test_test_connection_uses_get(connect):
    script = Script((200, app(message="Token verified successfully!")), (401, {"code": 401, "message": "Bad"}))
    hook = connect(script)
    assert hook.test_connection() == (
        True,
        "Cellcast accepted the API token at https://api.cellcast.com (Token verified successfully!)",
    )
    hook2 = connect(script)
    ok, text = hook2.test_connection()
    assert not ok and "HTTP 401" in text and TOKEN not in text
    assert [call["method"] for call in script.calls] == ["GET", "GET"]


def test_bulk_cancel_accounts_for_every_id_in_order(connect):
    ids = [f"{i:024x}" for i in range(1, 6)]
    # One worker keeps the scripted order deterministic.
    script = Script(
        (200, app()),
        (200, app(status=False)),
        (200, app(status=False, message="nf")),
        (200, app()),
        (200, app()),
    )
    hook = connect(script, max_concurrency=1)
    script.answers.insert(2, report("canceled"))
    script.answers.insert(4, (200, app(status=False, message="Message not found")))
    outcomes = hook.cancel_scheduled_messages([*ids, ids[0]], "sms")
    assert [o.result["message_id"] for o in outcomes] == ids
    assert [o.result["outcome"] for o in outcomes] == [
        "cancelled",
        "already_cancelled",
        "failed",
        "cancelled",
        "cancelled",
    ]
    assert isinstance(outcomes[2].error, CellcastMessageNotFoundError)
    json.dumps([o.result for o in outcomes])


def test_cancel_attempt_carries_result_and_typed_error():
    result = {"message_id": MID, "type": "sms", "outcome": "failed", "message": None, "error": "x", "status_code": 404}
    error = CellcastMessageNotFoundError("gone", message_id=MID)
    attempt = CancelAttempt(result, error=error)  # type: ignore[arg-type]
    assert attempt.message_id == MID and attempt.error is error
    assert attempt == CancelAttempt(result)  # type: ignore[arg-type]  # the error is not part of equality


def test_cancel_against_the_emulator(cellcast_connection_env):
    emulator = cellcast_connection_env
    [message_id] = emulator.schedule_campaign(contacts=["+61400000001"])
    hook = emulated_hook()
    assert hook.cancel_scheduled_message(message_id.upper(), " SMS ")["outcome"] == "cancelled"
    assert emulator.message(message_id)["status"] == "canceled"
    assert hook.cancel_scheduled_message(message_id)["outcome"] == "already_cancelled"


# -- send_sms against the emulator: a send that reached Cellcast is never repeated -------------------


@pytest.mark.parametrize(
    ("fault", "error_class", "status_code"),
    [
        ({"kind": "status", "status": 502, "when": "after"}, CellcastSendOutcomeUnknownError, 502),
        ({"kind": "status", "status": 500, "when": "after"}, CellcastSendOutcomeUnknownError, 500),
        ({"kind": "html", "status": 504, "when": "after"}, CellcastSendOutcomeUnknownError, 504),
        ({"kind": "malformed", "when": "after"}, CellcastSendOutcomeUnknownError, 200),
        ({"kind": "drop"}, CellcastSendConnectionLostError, None),
    ],
    ids=["502", "500", "504-html", "malformed", "drop"],
)
def test_accepted_send_with_a_lost_answer_fails_without_retries_after_one_request(
    cellcast_connection_env, fault, error_class, status_code
):
    emulator = cellcast_connection_env
    emulator.inject_fault(path=SEND, method="POST", **fault)
    hook = emulated_hook(max_attempts=5)
    with pytest.raises(error_class) as raised:
        hook.send_sms("Doors open at 9", ["+61400000001"])
    error = raised.value
    assert isinstance(error, AirflowFailException)  # Airflow never retries it, whatever retries says
    assert error.status_code == status_code
    assert "may have been queued" in str(error) and "not sent twice" in str(error)
    assert len(sends(emulator)) == 1  # the hook did not repeat it either
    assert len(emulator.messages()) == 1  # and the emulator did queue it: the outcome was unknown


def test_a_lost_connection_is_a_connection_error_caused_by_the_original(cellcast_connection_env):
    cellcast_connection_env.inject_fault("drop", path=SEND)
    with pytest.raises(CellcastSendConnectionLostError) as raised:
        emulated_hook().send_sms("hello", ["+61400000001"])
    error = raised.value
    assert isinstance(error, CellcastConnectionError) and error.request_sent is True
    assert isinstance(error.__cause__, CellcastConnectionError)
    assert not isinstance(error.__cause__, AirflowFailException)


@pytest.mark.parametrize(
    ("fault", "error_class"),
    [
        ({"kind": "status", "status": 429, "retry_after": 1}, CellcastRateLimitError),
        ({"kind": "app_status_false", "message": "Insufficient balance"}, CellcastUnsuccessfulError),
    ],
    ids=["429", "status-false"],
)
def test_refusals_where_nothing_was_queued_keep_their_type_and_stay_retryable(
    cellcast_connection_env, fault, error_class
):
    emulator = cellcast_connection_env
    emulator.inject_fault(path=SEND, count=None, **fault)
    with pytest.raises(error_class) as raised:
        emulated_hook(max_attempts=1).send_sms("hello", ["+61400000001"])
    assert type(raised.value) is error_class
    assert not isinstance(raised.value, AirflowFailException)
    assert emulator.messages() == []


def test_a_connection_never_made_stays_retryable(connect):
    script = Script(refused())
    with pytest.raises(CellcastConnectionError) as raised:
        connect(script, max_attempts=1).send_sms("hello", ["+61400000001"])
    assert type(raised.value) is CellcastConnectionError and raised.value.request_sent is False
    assert not isinstance(raised.value, AirflowFailException)


def test_a_partial_send_carries_what_was_queued_then_fails_fast(connect):
    numbers = [f"+614001{i:05d}" for i in range(1001)]
    first = queued(*numbers[:2])
    script = Script((200, app(data=first)), requests.ConnectionError("Connection reset by peer"))
    with pytest.raises(CellcastPartialSendError) as raised:
        connect(script, max_attempts=5).send_sms("hi", numbers)
    error = raised.value
    ids = [entry["MessageId"] for entry in first["queueResponse"]]
    assert error.partial_result == {
        "message_ids": ids,
        "queued": [
            {"message_id": ids[0], "contact": "+********000"},
            {"message_id": ids[1], "contact": "+********001"},
        ],
        "invalid_contacts": [],
        "unsubscribed_contacts": [],
        "reference": None,
        "adopted": False,
    }
    assert isinstance(error, AirflowFailException)
    text = str(error)
    assert "2 message(s) were queued" in text and "may have been queued too" in text and "send_result" in text
    assert len(script.calls) == 2  # the lost request was not repeated


def test_send_against_the_emulator_returns_ids_and_masked_contacts(cellcast_connection_env):
    emulator = cellcast_connection_env
    emulator.add_optouts(["+61400000003"])
    result = emulated_hook().send_sms(
        "Hi", ["+61400000001", "+61400000002", "+61400000003"], sender="ACME", custom_string="run-1"
    )
    assert len(result["message_ids"]) == 2
    [unsubscribed] = result["unsubscribed_contacts"]  # as Cellcast wrote it back, masked
    assert unsubscribed.endswith("003") and sum(char.isdigit() for char in unsubscribed) == 3
    contacts = [item["contact"] for item in result["queued"]]
    assert [contact[-3:] for contact in contacts] == ["001", "002"]
    assert all(sum(char.isdigit() for char in contact) == 3 for contact in contacts)
    assert {message["_id"] for message in emulator.messages()} == set(result["message_ids"])
    [entry] = sends(emulator)
    assert entry["body"]["sender"] == "ACME" and entry["body"]["customString"] == "run-1"


# -- send_sms: every value checked once, before any request ---------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"message": "  "}, "message"),
        ({"message": None}, "message"),
        ({"contacts": []}, "contacts"),
        ({"contacts": " , "}, "contacts"),
        ({"contacts": {"a": "+61400000001"}}, "contacts"),
        ({"schedule_at": "2030-01-01T09:00:00"}, "schedule_at"),  # naive: the zone would be a guess
        ({"schedule_at": "tomorrow"}, "schedule_at"),
        ({"schedule_at": "None"}, "schedule_at"),  # a missing param rendered by Jinja: never "send now"
        ({"schedule_at": datetime.now(timezone.utc) - timedelta(hours=2)}, "schedule_at"),
        ({"schedule_at": timedelta(hours=-2)}, "schedule_at"),
        ({"schedule_at": timedelta(hours=1), "delay_ms": 1000}, "schedule_at"),
        ({"delay_ms": 86_400_001}, "delay_ms"),
        ({"delay_ms": -1}, "delay_ms"),
        ({"delay_ms": "soon"}, "delay_ms"),
        ({"country_code": "+61"}, "country_code"),
        ({"country_code": True}, "country_code"),
    ],
)
def test_bad_input_fails_without_retries_before_any_request(cellcast_connection_env, kwargs, field):
    kwargs = {"message": "Hello", "contacts": ["+61400000001"], **kwargs}
    message, contacts = kwargs.pop("message"), kwargs.pop("contacts")
    with pytest.raises(CellcastInputError) as raised:
        emulated_hook().send_sms(message, contacts, **kwargs)
    assert raised.value.field == field
    assert field in str(raised.value)
    assert isinstance(raised.value, AirflowFailException)
    assert cellcast_connection_env.requests_log() == []


def test_past_schedule_is_refused_naming_now(connect):
    script = Script()
    with pytest.raises(CellcastInputError, match="in the past") as raised:
        connect(script).send_sms("hi", ["+61400000001"], schedule_at="2020-01-01T00:00:00Z")
    assert "2020-01-01T00:00:00.000Z" in str(raised.value)
    assert script.calls == []


def test_schedule_at_forms_are_sent_as_utc(connect):
    later = datetime.now(timezone(timedelta(hours=10))) + timedelta(days=1)
    script = Script(*[(200, app(data=queued("+61400000001")))] * 4)
    hook = connect(script)
    hook.send_sms("hi", ["+61400000001"], schedule_at=later)
    hook.send_sms("hi", ["+61400000001"], schedule_at=later.isoformat())
    before = datetime.now(timezone.utc)
    hook.send_sms("hi", ["+61400000001"], schedule_at=timedelta(hours=1))
    hook.send_sms("hi", ["+61400000001"], schedule_at=datetime.now(timezone.utc) - timedelta(seconds=20))
    first, second, relative, just_past = (call["json"]["scheduleAt"] for call in script.calls)
    assert first == second and first.endswith("Z")
    assert datetime.fromisoformat(first.replace("Z", "+00:00")) == later.replace(
        microsecond=later.microsecond // 1000 * 1000
    )
    sent = datetime.fromisoformat(relative.replace("Z", "+00:00"))
    assert timedelta(minutes=59) < sent - before < timedelta(minutes=61)
    assert just_past.endswith("Z")  # within a minute of now: accepted (a slow start is not "the past")
    assert all("delay" not in call["json"] for call in script.calls)


def test_send_body_from_rendered_and_comma_separated_contacts(connect):
    numbers = ["+61400111222", "+61400333444", "0400555666"]
    script = Script(*[(200, app(data=queued("+61400111222")))] * 3)
    hook = connect(script)
    hook.send_sms("Hello", str(numbers))  # what Jinja renders from a list without native rendering
    hook.send_sms("Hello", " +61400111222, 0400555666 ;", country_code="61", delay_ms="1000")
    hook.send_sms("Hello", numbers, sender="", custom_string="")
    assert script.calls[0]["json"] == {"message": "Hello", "contacts": numbers}
    assert script.calls[1]["json"] == {
        "message": "Hello",
        "contacts": ["+61400111222", "0400555666"],
        "countryCode": 61,
        "delay": 1000,
    }
    assert script.calls[2]["json"] == {"message": "Hello", "contacts": numbers}  # empty values are left out


def test_send_logs_counts_never_numbers(connect, capsys):
    data = {**queued("+61400111222"), "invalidContacts": ["0400555666"]}
    connect(Script((200, app(data=data)))).send_sms("Hi", ["+61400111222", "0400555666"])
    out = capsys.readouterr().out
    assert "Sending an SMS to 2 contact(s) now" in out
    assert "queued 1 message(s); 1 invalid and 0 unsubscribed" in out
    assert "+61400111222" not in out and "0400555666" not in out


def test_send_answer_without_queue_response_is_an_unknown_outcome(connect):
    script = Script((200, app(data={"something": "else"})))
    with pytest.raises(CellcastSendOutcomeUnknownError, match="queueResponse"):
        connect(script).send_sms("hi", ["+61400000001"])
    assert len(script.calls) == 1


# -- status lookups --------------------------------------------------------------------------------


def test_check_statuses_skips_done_ids_and_counts_unknown_ids_as_not_found(cellcast_connection_env):
    emulator = cellcast_connection_env
    delivered = emulator.seed_message(status="delivered")["_id"]
    scheduled = emulator.seed_message(status="scheduled", auto_advance=False)["_id"]
    unknown = "675161d8a0000000000000ff"
    rules = StatusRules.build("delivered", None)
    hook = emulated_hook()
    check = hook.check_statuses([delivered, scheduled], rules)
    assert check.statuses == {delivered: "delivered", scheduled: "scheduled"}
    assert (check.done, check.waiting, check.failed) == ([delivered], [scheduled], [])
    emulator.clear_requests_log()
    again = hook.check_statuses([delivered, scheduled, unknown], rules, known=check.statuses)
    asked = [entry["path"].rsplit("/", 1)[-1] for entry in emulator.requests_log()]
    # Looked up concurrently (in any order); the delivered one was not asked about again.
    assert sorted(asked) == sorted([scheduled, unknown])
    assert again.statuses[unknown] == "not_found" and again.failed == [unknown]


def test_get_message_of_an_unknown_id(cellcast_connection_env):
    with pytest.raises(CellcastMessageNotFoundError, match="connection 'cellcast_default'"):
        emulated_hook().get_message("675161d8a0000000000000ff")


# -- the inherited HttpHook surface: our connection, session, timeouts and typed errors ---------------


def test_run_returns_the_response(cellcast_connection_env):
    emulator = cellcast_connection_env
    response = CellcastHook(method="GET").run("/api/v1/user/token/verify")
    assert isinstance(response, requests.Response)
    assert response.status_code == 200 and response.json()["status"] is True
    [entry] = emulator.requests_log()
    assert (entry["method"], entry["path"], entry["auth_valid"]) == ("GET", "/api/v1/user/token/verify", True)


def test_run_with_a_wrong_token_raises_without_the_token(cellcast_connection_env, monkeypatch):
    wrong = "wrong-token-5f1e9a7c3d"
    monkeypatch.setenv(
        "AIRFLOW_CONN_CELLCAST_DEFAULT",
        json.dumps({"conn_type": "cellcast", "host": cellcast_connection_env.url, "password": wrong}),
    )
    with pytest.raises(CellcastAuthenticationError) as raised:
        CellcastHook(method="GET").run("/api/v1/user/token/verify")
    assert raised.value.status_code == 401
    assert wrong not in str(raised.value) and wrong not in repr(raised.value.args)


def test_run_reads_the_envelope_verdict(cellcast_connection_env):
    cellcast_connection_env.inject_fault("app_status_false", path="/api/v1/user/token/verify", message="No")
    with pytest.raises(CellcastUnsuccessfulError) as raised:
        CellcastHook(method="GET").run("/api/v1/user/token/verify")
    assert raised.value.api_message == "No"


def test_run_without_check_response_returns_any_answer(cellcast_connection_env):
    emulator = cellcast_connection_env
    emulator.inject_fault("status", status=500, path="/api/v1/user/token/verify")
    emulator.inject_fault("app_status_false", path="/api/v1/user/token/verify")
    hook = CellcastHook(method="GET")
    assert hook.run("/api/v1/user/token/verify", extra_options={"check_response": False}).status_code == 500
    answer = hook.run("/api/v1/user/token/verify", extra_options={"check_response": False})
    assert answer.status_code == 200 and answer.json()["status"] is False


def test_run_with_advanced_retry(cellcast_connection_env):
    emulator = cellcast_connection_env
    emulator.inject_fault("status", status=503, path="/api/v1/apiClient/account", count=2)
    hook = CellcastHook(method="GET")
    response = hook.run_with_advanced_retry(
        _retry_args={
            "stop": tenacity.stop_after_attempt(3),
            "wait": tenacity.wait_none(),
            "retry": tenacity.retry_if_exception_type(CellcastServerError),
            "reraise": True,
        },
        endpoint="/api/v1/apiClient/account",
    )
    assert response.status_code == 200
    assert emulator.request_count("/api/v1/apiClient/account") == 3


def test_run_and_check_raise_typed_errors_only(cellcast_connection_env):
    cellcast_connection_env.inject_fault("html", status=502, path="/api/v1/user/token/verify")
    with pytest.raises(CellcastServerError) as raised:
        CellcastHook(method="GET").run("/api/v1/user/token/verify")
    assert isinstance(raised.value, CellcastError) and raised.value.status_code == 502


def test_run_sends_call_headers_and_options_but_never_extras_as_headers(connect):
    script = Script((200, app()), (200, app()))
    hook = connect(script, extra={"timeout": "12", "max_attempts": "2"}, method="GET")
    hook.run("/api/v1/user/token/verify", data={"a": "1"}, headers={"X-Trace": "abc"})
    hook.run("/api/v1/user/token/verify", extra_options={"timeout": 3})
    first, second = script.calls
    assert first["method"] == "GET" and first["url"] == f"{DEFAULT_BASE_URL}/api/v1/user/token/verify?a=1"
    assert first["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert first["headers"]["X-Trace"] == "abc" and "X-Trace" not in second["headers"]  # per call
    assert first["timeout"] == (10.0, 12.0) and second["timeout"] == 3
    for call in script.calls:
        assert not {"timeout", "max_attempts", "extra"} & {name.lower() for name in call["headers"]}


def test_run_with_the_hook_method_post(connect):
    script = Script((200, app()))
    connect(script).run("/api/v1/gateway/cancelScheduleQuickMessage", json={"messageId": MID, "type": "sms"})
    [call] = script.calls
    assert call["method"] == "POST" and call["json"] == {"messageId": MID, "type": "sms"}


def test_no_dead_attributes(cellcast_connection_env):
    hook = CellcastHook(method="get")
    assert CellcastHook.default_host == DEFAULT_BASE_URL
    assert not hasattr(hook, "extra_options")  # per call only: run(extra_options=...)
    assert hook.method == "GET"
    assert hook.base_url == ""  # set by get_conn(), from the connection
    session = hook.get_conn()
    assert hook.base_url == hook.api_base_url == cellcast_connection_env.url.rstrip("/")
    assert hook.get_conn() is session
    hook.close()
    assert hook.get_conn() is not session  # close() released it; a new one is made on demand


def test_empty_host_means_the_default_api_url(connect):
    hook = connect(Script())
    assert hook.api_base_url == DEFAULT_BASE_URL
    hook.get_conn()
    assert hook.base_url == DEFAULT_BASE_URL


# -- send_sms with a reference unique to the send: a lost answer is recoverable ------------------------


def test_a_lost_answer_of_a_send_with_a_unique_reference_is_recoverable(cellcast_connection_env):
    emulator = cellcast_connection_env
    emulator.inject_fault("status", status=502, path=SEND, when="after")
    hook = emulated_hook()
    with pytest.raises(CellcastSendRecoverableError) as raised:
        hook.send_sms("hi", ["+61400000001"], custom_string="airflow/d/t/run-1", recover_by_reference=True)
    assert raised.value.reference == "airflow/d/t/run-1"
    assert not isinstance(raised.value, AirflowFailException)  # the retry adopts instead of resending
    adopted = hook.send_sms(
        "hi", ["+61400000001"], custom_string="airflow/d/t/run-1", recover_by_reference=True, adopt_existing=True
    )
    assert adopted["adopted"] is True and adopted["reference"] == "airflow/d/t/run-1"
    assert adopted["message_ids"] == [message["_id"] for message in emulator.messages()]
    assert len(sends(emulator)) == 1  # adopted, not sent again


def test_adopt_existing_sends_when_nothing_carries_the_reference(cellcast_connection_env):
    result = emulated_hook().send_sms(
        "hi", ["+61400000001"], custom_string="airflow/d/t/run-2", recover_by_reference=True, adopt_existing=True
    )
    assert result["adopted"] is False and len(result["message_ids"]) == 1
    assert len(sends(cellcast_connection_env)) == 1


def test_recover_by_reference_needs_a_reference(cellcast_connection_env):
    with pytest.raises(CellcastInputError) as raised:
        emulated_hook().send_sms("hi", ["+61400000001"], recover_by_reference=True)
    assert raised.value.field == "custom_string"
    assert cellcast_connection_env.requests_log() == []


def test_url_from_endpoint_is_the_url_requests_go_to(connect, monkeypatch):
    hook = connect(Script(), host="api.cellcast.com")
    monkeypatch.setenv(
        "AIRFLOW_CONN_CELLCAST_UNIT",
        json.dumps({"conn_type": "cellcast", "host": "api.cellcast.com", "port": 443, "password": TOKEN}),
    )
    assert hook.url_from_endpoint("/api/v1/user/token/verify") == (
        "https://api.cellcast.com:443/api/v1/user/token/verify"
    )
