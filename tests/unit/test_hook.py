"""CellcastHook in isolation: the HTTP layer is replaced by scripted answers (no network).

Behaviour over real HTTP (retries against a live server, DAG runs) is covered by the
integration tests against the emulator.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from airflow.sdk.exceptions import AirflowFailException
from urllib3.exceptions import NewConnectionError

from airflow_provider_cellcast.exceptions import (
    CellcastAuthenticationError,
    CellcastBadRequestError,
    CellcastConfigurationError,
    CellcastConnectionError,
    CellcastMessageNotCancellableError,
    CellcastMessageNotFoundError,
    CellcastRateLimitError,
    CellcastServerError,
    CellcastUnsuccessfulError,
)
from airflow_provider_cellcast.hooks.cellcast import CellcastHook
from airflow_provider_cellcast.ratelimit import RequestPacer

TOKEN = "tok-unit-7f3a9c2e5b"
MID = "675161d8a000000000000000"


def app(status: bool = True, message: str = "ok", data: Any = None) -> dict[str, Any]:
    return {"status": status, "message": message, "data": {} if data is None else data, "error": {}}


class Script:
    """Replaces ``requests.Session.request``: answers in order, records every call."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, session: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.calls.append({"method": method, "url": url, "headers": dict(session.headers), **kwargs})
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, document, headers = answer if len(answer) == 3 else (*answer, {})
        response = requests.Response()
        response.status_code = status
        response._content = document if isinstance(document, bytes) else json.dumps(document).encode()
        response.headers.update(headers)
        response.url = url
        return response


@pytest.fixture
def connect(monkeypatch) -> Callable[..., CellcastHook]:
    def make(script: Script, *, host: str | None = None, extra: dict | None = None, **overrides) -> CellcastHook:
        conn: dict[str, Any] = {"conn_type": "cellcast", "password": TOKEN}
        if host is not None:
            conn["host"] = host
        if extra is not None:
            conn["extra"] = extra
        monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_UNIT", json.dumps(conn))
        monkeypatch.setattr(
            requests.Session, "request", lambda session, method, url, **kw: script(session, method, url, **kw)
        )
        hook = CellcastHook("cellcast_unit", **overrides)
        hook.waits = []  # type: ignore[attr-defined]
        hook._sleep = hook.waits.append  # type: ignore[attr-defined,method-assign]
        # The pacer's own waits (429 pauses) are real-clock based: keep them out of the record.
        hook.__dict__["_pacer"] = RequestPacer(0, sleep=lambda seconds: None)
        return hook

    return make


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
    assert 2.0 in hook.waits


def test_retry_after_capped_by_max_backoff(connect):
    script = Script((503, b"", {"Retry-After": "3600"}), (200, app()))
    hook = connect(script, max_backoff_seconds=4)
    hook.cancel_scheduled_message(MID)
    assert max(hook.waits) == 4.0


@pytest.mark.parametrize("status", [502, 503, 504])
def test_transient_5xx_retried_until_attempts_run_out(connect, status):
    script = Script(*[(status, b"<html>bad gateway</html>", {"Content-Type": "text/html"})] * 3)
    hook = connect(script, max_attempts=3, backoff_seconds=0.5)
    with pytest.raises(CellcastServerError) as caught:
        hook.cancel_scheduled_message(MID)
    assert caught.value.status_code == status and len(script.calls) == 3
    assert len(hook.waits) == 2


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
    assert sum(hook.waits) <= 25


def refused() -> requests.ConnectionError:
    return requests.ConnectionError(NewConnectionError(None, "Connection refused"))  # type: ignore[arg-type]


def test_cancel_retried_after_read_timeout(connect):
    script = Script(requests.ReadTimeout("read timed out"), (200, app()))
    hook = connect(script)
    assert hook.cancel_scheduled_message(MID)["outcome"] == "cancelled"
    assert len(script.calls) == 2


def test_send_not_repeated_after_read_timeout(connect):
    script = Script(requests.ReadTimeout("read timed out"), (200, app(data={"queueResponse": []})))
    hook = connect(script)
    with pytest.raises(CellcastConnectionError) as caught:
        hook.send_sms("hello", ["+61400000001"])
    assert caught.value.request_sent and len(script.calls) == 1


def test_send_repeated_when_never_connected_or_rate_limited(connect):
    queued = {"queueResponse": [{"Contact": "+61400000001", "MessageId": MID, "Result": "ok", "Number": "1"}]}
    script = Script(refused(), (429, b""), (200, app(data=queued)))
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
    with pytest.raises(CellcastBadRequestError) as caught:
        hook.send_sms("hi", ["+61400000001"] * 1001)
    assert caught.value.partial_result["message_ids"] == [MID]


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
