"""CellcastHook: the connection (read once), its settings and form, the HttpHook surface, delegations.

Everything behind the hook is the client's (``tests/unit/client/``). Two seams, no private
attribute: the hook's ``transport=`` (a scripted transport records every request and answers
from a script) and the Cellcast emulator (``cellcast_connection_env``) over loopback HTTP.
Waits go to a recorder passed as the hook's ``sleep``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import Any

import pytest
import requests
import tenacity
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cellcast import DEFAULT_BASE_URL, get_provider_info
from airflow_provider_cellcast.client import AsyncCellcastClient, CellcastClient
from airflow_provider_cellcast.exceptions import (
    CellcastAuthenticationError,
    CellcastConfigurationError,
    CellcastError,
    CellcastServerError,
    CellcastUnsuccessfulError,
)
from airflow_provider_cellcast.hooks.cellcast import CellcastHook
from airflow_provider_cellcast.statuses import StatusRules
from unit.local_server import LocalServer
from unit.scripted import (
    ACCOUNT_PATH,
    CANCEL_PATH,
    REPORT_PATH,
    SEND_PATH,
    VERIFY_PATH,
    RoutingTransport,
    ScriptedTransport,
    error,
    meta,
    ok,
    page,
    queued,
    report,
)

TOKEN = "tok-unit-7f3a9c2e5b"
MID = "675161d8a000000000000000"


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch) -> Callable[..., CellcastHook]:
    """A hook on connection ``cellcast_unit`` whose requests ``transport`` answers (no pacing)."""

    def make(
        transport: Any = None,
        *,
        host: str | None = None,
        extra: dict[str, Any] | None = None,
        waits: list[float] | None = None,
        **overrides: Any,
    ) -> CellcastHook:
        conn: dict[str, Any] = {"conn_type": "cellcast", "password": TOKEN}
        if host is not None:
            conn["host"] = host
        if extra is not None:
            conn["extra"] = extra
        monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_UNIT", json.dumps(conn))
        overrides.setdefault("requests_per_second", 0)
        recorder = waits if waits is not None else []
        return CellcastHook("cellcast_unit", transport=transport, sleep=recorder.append, **overrides)

    return make


def define(monkeypatch: pytest.MonkeyPatch, conn_id: str, **conn: Any) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "cellcast", **conn}))


# -- the connection, read once ---------------------------------------------------------------------------


def test_bearer_token_default_host_and_no_extras_as_headers(connect) -> None:
    transport = ScriptedTransport(ok(message="Job Removed successfully"))
    hook = connect(transport, extra={"timeout": "12", "max_attempts": 2})
    assert hook.cancel_scheduled_message(MID, "SMS")["outcome"] == "cancelled"
    [sent] = transport.requests
    assert sent.url == f"{DEFAULT_BASE_URL}{CANCEL_PATH}"
    assert sent.header("Authorization") == f"Bearer {TOKEN}" and sent.json == {"messageId": MID, "type": "sms"}
    # The extra "timeout" is the deadline of the whole attempt (was a (connect, read) tuple).
    assert sent.deadline == pytest.approx(12.0)
    assert not {"timeout", "max_attempts"} & {name.lower() for name in sent.headers}


def test_the_connection_is_read_once_and_the_session_reused(connect, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = connect(ScriptedTransport(ok(), ok()))
    reads: list[str] = []
    original = CellcastHook.get_connection
    monkeypatch.setattr(
        CellcastHook, "get_connection", classmethod(lambda cls, cid: reads.append(cid) or original(cid))
    )
    hook.cancel_scheduled_message(MID)
    session = hook.get_conn()
    hook.cancel_scheduled_message(MID)
    assert hook.settings is hook.settings
    assert reads == ["cellcast_unit"] and hook.get_conn() is session


def test_threads_share_one_connection_lookup_and_one_client(connect, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = connect(ScriptedTransport())
    reads: list[str] = []
    original = CellcastHook.get_connection
    monkeypatch.setattr(
        CellcastHook, "get_connection", classmethod(lambda cls, cid: reads.append(cid) or original(cid))
    )
    start = threading.Barrier(8)
    clients: list[CellcastClient] = []

    def use() -> None:
        start.wait(5)
        clients.append(hook.client)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(clients) == 8 and len({id(client) for client in clients}) == 1 and reads == ["cellcast_unit"]


@pytest.mark.parametrize(
    ("conn", "expected"),
    [
        ({"host": "api.cellcast.com"}, "https://api.cellcast.com"),
        ({"host": " "}, DEFAULT_BASE_URL),
        ({}, DEFAULT_BASE_URL),
        ({"host": "http://127.0.0.1:8079/"}, "http://127.0.0.1:8079"),
        ({"host": "http://localhost:9"}, "http://localhost:9"),
        ({"host": "https://eu.example.test/base/"}, "https://eu.example.test/base"),
        ({"host": "127.0.0.1", "schema": "http", "port": 8079}, "http://127.0.0.1:8079"),
        ({"host": "http://127.0.0.1", "port": 8079}, "http://127.0.0.1:8079"),
        ({"host": "http://127.0.0.1:8079", "port": 8079}, "http://127.0.0.1:8079"),
        ({"host": "api.cellcast.com", "port": 443}, "https://api.cellcast.com:443"),
    ],
)
def test_the_base_url_from_host_schema_and_port(monkeypatch: pytest.MonkeyPatch, conn: dict, expected: str) -> None:
    define(monkeypatch, "cellcast_url", password=TOKEN, **conn)
    hook = CellcastHook("cellcast_url")
    assert hook.api_base_url == expected
    assert hook.url_from_endpoint("/api/v1/user/token/verify") == f"{expected}/api/v1/user/token/verify"
    assert hook.url_from_endpoint(None) == expected


def test_two_ports_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    define(monkeypatch, "cellcast_ports", host="http://127.0.0.1:8079", port=9000, password=TOKEN)
    with pytest.raises(CellcastConfigurationError, match="names two ports, 8079 in its API base URL and 9000"):
        CellcastHook("cellcast_ports").api_base_url  # noqa: B018


def test_credentials_in_the_host_are_refused_without_echoing_them(monkeypatch: pytest.MonkeyPatch) -> None:
    define(monkeypatch, "cellcast_creds", host="user:hunter2-pass@api.cellcast.com", port=443, password=TOKEN)
    with pytest.raises(CellcastConfigurationError, match="credentials") as raised:
        CellcastHook("cellcast_creds").api_base_url  # noqa: B018
    assert "hunter2-pass" not in str(raised.value) and "connection 'cellcast_creds'" in str(raised.value)


def test_plain_http_to_a_remote_host_is_refused(connect) -> None:
    hook = connect(ScriptedTransport(), host="http://api.cellcast.com")
    with pytest.raises(CellcastConfigurationError, match="unencrypted") as caught:
        hook.cancel_scheduled_message(MID)
    assert isinstance(caught.value, AirflowFailException)


def test_plain_http_allowed_by_extra_with_a_warning(connect, capsys: pytest.CaptureFixture[str]) -> None:
    hook = connect(ScriptedTransport(), host="http://gateway.internal", extra={"allow_insecure_http": "true"})
    assert hook.api_base_url == "http://gateway.internal"
    captured = capsys.readouterr()
    assert "plain HTTP" in captured.out + captured.err


def test_a_missing_token(connect, monkeypatch: pytest.MonkeyPatch) -> None:
    transport = ScriptedTransport()
    hook = connect(transport)
    define(monkeypatch, "cellcast_unit")
    with pytest.raises(CellcastConfigurationError, match="Connection 'cellcast_unit' has no API token"):
        hook.cancel_scheduled_message(MID)
    assert transport.requests == []


# -- settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"max_attempts": "many"}, "max_attempts"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"timeout": "inf"}, "timeout"),
    ],
)
def test_settings_from_extras_are_checked(connect, extra: dict, match: str) -> None:
    with pytest.raises(CellcastConfigurationError, match=match):
        connect(ScriptedTransport(), extra=extra).settings  # noqa: B018


def test_an_empty_extra_means_the_default(connect) -> None:
    assert connect(ScriptedTransport(), extra={"verify": None, "timeout": ""}).settings.timeout == 30.0


def test_hook_arguments_override_extras(connect) -> None:
    hook = connect(ScriptedTransport(), extra={"max_attempts": 2, "timeout": 5}, max_attempts=7)
    assert (hook.settings.max_attempts, hook.settings.timeout, hook.settings.call_budget) == (7, 5.0, 10.0)
    assert hook.client.settings is hook.settings
    with pytest.raises(CellcastConfigurationError, match="Unknown Cellcast setting 'colour'"):
        connect(ScriptedTransport(), colour="red").settings  # noqa: B018


def test_the_hook_sleep_receives_every_wait(connect) -> None:
    waits: list[float] = []
    transport = ScriptedTransport((429, b"", {"Retry-After": "2"}), ok())
    connect(transport, waits=waits).cancel_scheduled_message(MID)
    assert waits[0] == 2.0 and len(waits) == 2 and len(transport.requests) == 2  # the retry, then the pacer


# -- the form (Airflow 2.11-3.1) ---------------------------------------------------------------------------


def test_the_ui_field_behaviour_is_the_provider_info() -> None:
    behaviour = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    assert CellcastHook.get_ui_field_behaviour() == {
        "hidden_fields": behaviour["hidden-fields"],
        "relabeling": behaviour["relabeling"],
        "placeholders": behaviour["placeholders"],
    }
    assert CellcastHook.get_ui_field_behaviour()["relabeling"]["password"] == "API token"


class _Field:
    """A WTForms field stand-in (Airflow 3.2+ installs no WTForms): records what it was built with."""

    def __init__(self, label: Any, validators: Any = (), description: str = "", **kwargs: Any) -> None:
        self.label, self.validators, self.description, self.kwargs = label, list(validators), description, kwargs


class _NumberRange:
    def __init__(self, min: Any = None, max: Any = None) -> None:
        self.min, self.max = min, max


@pytest.fixture
def form_modules(monkeypatch: pytest.MonkeyPatch) -> dict[str, type]:
    """Stand-ins for ``wtforms``, ``flask_appbuilder.fieldwidgets`` and ``flask_babel`` (Airflow 2.11-3.1 UI)."""
    fields = {name: type(name, (_Field,), {}) for name in ("StringField", "IntegerField", "BooleanField")}
    wtforms, validators = ModuleType("wtforms"), ModuleType("wtforms.validators")
    vars(wtforms).update(fields, validators=validators)
    vars(validators).update(NumberRange=_NumberRange, Optional=type("Optional", (), {}))
    fab, widgets, babel = (
        ModuleType("flask_appbuilder"),
        ModuleType("flask_appbuilder.fieldwidgets"),
        ModuleType("flask_babel"),
    )
    vars(widgets).update(BS3TextFieldWidget=type("BS3TextFieldWidget", (), {}))
    vars(fab).update(fieldwidgets=widgets)
    vars(babel).update(lazy_gettext=lambda text: f"translated:{text}")
    for module in (wtforms, validators, fab, widgets, babel):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    return fields


def test_the_connection_form_widgets_are_the_provider_infos_conn_fields(form_modules: dict[str, type]) -> None:
    conn_fields = get_provider_info()["connection-types"][0]["conn-fields"]
    widgets = CellcastHook.get_connection_form_widgets()
    assert list(widgets) == list(conn_fields)
    assert type(widgets["allow_insecure_http"]) is form_modules["BooleanField"]
    assert widgets["allow_insecure_http"].kwargs["default"] is False
    assert type(widgets["max_attempts"]) is form_modules["IntegerField"]
    [_, limits] = widgets["max_concurrency"].validators
    assert (limits.min, limits.max) == (1, 64)
    assert type(widgets["timeout"]) is form_modules["StringField"]  # fractional: text, checked by the settings
    assert type(widgets["rate_limit_redis_conn_id"]) is form_modules["StringField"]
    for name, widget in widgets.items():
        assert widget.label == f"translated:{conn_fields[name]['label']}"
        assert widget.description == conn_fields[name]["description"]


def test_connection_attributes() -> None:
    assert (CellcastHook.conn_type, CellcastHook.conn_name_attr, CellcastHook.hook_name) == (
        "cellcast", "cellcast_conn_id", "Cellcast",
    )  # fmt: skip
    assert CellcastHook.default_conn_name == "cellcast_default" and CellcastHook.default_host == DEFAULT_BASE_URL


# -- test_connection and the delegations -------------------------------------------------------------------


def test_test_connection_uses_get(connect) -> None:
    transport = ScriptedTransport(ok(message="Token verified successfully!"), (401, error(401, "Bad")))
    hook = connect(transport)
    assert hook.test_connection() == (
        True,
        "Cellcast accepted the API token at https://api.cellcast.com (Token verified successfully!)",
    )
    ok_, text = hook.test_connection()
    assert not ok_ and "HTTP 401" in text and TOKEN not in text and "Airflow connection 'cellcast_unit'" in text
    assert [(sent.method, sent.path) for sent in transport.requests] == [("GET", VERIFY_PATH)] * 2


def test_a_401_names_the_connection_to_fix(connect) -> None:
    hook = connect(ScriptedTransport((401, error(401, "Token expired"))))
    with pytest.raises(CellcastAuthenticationError) as raised:
        hook.cancel_scheduled_message(MID)
    assert str(raised.value) == (
        f"Cellcast refused the API token for cancel of sms message {MID} (HTTP 401: 'Token expired'). "
        "Check the API token in the password field of Airflow connection 'cellcast_unit'."
    )


def delegation(
    call: Callable[[CellcastHook], Any], answer: Any, expected: Any, method: str, path: str, name: str
) -> Any:
    return pytest.param(call, answer, expected, (method, path), id=name)


LISTED = page([{"_id": MID, "customString": "c", "status": "scheduled"}])
DELEGATIONS = [
    delegation(lambda h: h.verify_token().message, ok(message="yes"), "yes", "GET", VERIFY_PATH, "verify_token"),
    delegation(lambda h: h.get_account(), (200, meta({"sms": 3})), {"sms": 3}, "GET", ACCOUNT_PATH, "get_account"),
    delegation(
        lambda h: h.get_message(MID)["status"], report(MID, "sent"), "sent", "GET", f"{REPORT_PATH}/{MID}",
        "get_message",
    ),
    delegation(
        lambda h: [item["_id"] for item in h.list_messages(custom_string="c", page_size=5)],
        LISTED, [MID], "GET", REPORT_PATH, "list_messages",
    ),
    delegation(
        lambda h: h.message_ids_by_reference("c", status="scheduled"), LISTED, [MID], "GET", REPORT_PATH,
        "message_ids_by_reference",
    ),
    delegation(
        lambda h: h.find_sent_by_reference("c")["message_ids"], LISTED, [MID], "GET", REPORT_PATH,
        "find_sent_by_reference",
    ),
    delegation(
        lambda h: h.check_statuses([MID], StatusRules.build("sent", None)).done,
        report(MID, "sent"), [MID], "GET", f"{REPORT_PATH}/{MID}", "check_statuses",
    ),
    delegation(
        lambda h: h.cancel_scheduled_message(MID, "mms")["type"], ok(), "mms", "POST", CANCEL_PATH,
        "cancel_scheduled_message",
    ),
    delegation(
        lambda h: [a.result["outcome"] for a in h.cancel_scheduled_messages([MID], progress_every=1)],
        ok(), ["cancelled"], "POST", CANCEL_PATH, "cancel_scheduled_messages",
    ),
    delegation(
        lambda h: h.send_sms("hi", "+61400000001", sender="ACME", delay_ms=1000)["message_ids"],
        ok(queued("+61400000001", start=int(MID, 16))), [MID], "POST", SEND_PATH, "send_sms",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("call", "answer", "expected", "request_"), DELEGATIONS)
def test_every_api_method_is_the_clients(connect, call, answer, expected, request_) -> None:
    transport = ScriptedTransport(answer)
    assert call(connect(transport)) == expected
    assert [(sent.method, sent.path) for sent in transport.requests] == [request_]


def test_send_sms_passes_every_option(connect) -> None:
    transport = RoutingTransport(
        {REPORT_PATH: [page([])], SEND_PATH: [ok(queued("61400000001"))]},
    )
    before = datetime.now(timezone.utc).date()
    result = connect(transport).send_sms(
        "hi", ["+61400000001"], sender="ACME", delay_ms=5, country_code=61, custom_string="ref-1",
        recover_by_reference=True, adopt_existing=True, reply_stop_to_opt_out=True, opt_out=False,
        opt_out_list_id="65AA00000000000000000001",
    )  # fmt: skip
    after = datetime.now(timezone.utc).date()
    assert transport.paths == [REPORT_PATH, SEND_PATH]  # adopt_existing looked the reference up first
    lookup = transport.requests[0].query
    # The earlier try ran at most a day ago: the lookup starts the day before today.
    assert lookup["fromDate"] in {(day - timedelta(days=1)).isoformat() for day in (before, after)}
    assert {key: lookup[key] for key in ("customString", "limit", "page")} == {
        "customString": "ref-1", "limit": "100", "page": "1",
    }  # fmt: skip
    assert transport.requests[1].json == {
        "message": "hi", "sender": "ACME", "countryCode": 61, "customString": "ref-1", "delay": 5,
        "replyStopToOptOut": True, "optout": False, "optoutId": "65aa00000000000000000001",
        "contacts": ["61400000001"],
    }  # fmt: skip
    assert result["sent_on"] in {before.isoformat(), after.isoformat()}


def test_send_sms_passes_verify_schedule(connect) -> None:
    at, first = "2030-01-02T03:04:00.000Z", f"{1:024x}"
    understood = report(first, "scheduled", scheduleAt=at)
    checked = RoutingTransport({SEND_PATH: [ok(queued("61400000001"))], f"{REPORT_PATH}/{first}": [understood]})
    connect(checked).send_sms("hi", ["0400 000 001"], schedule_at=at)
    assert checked.paths == [SEND_PATH, f"{REPORT_PATH}/{first}"]  # read back by default
    assert checked.requests[0].json["scheduleAt"] == at
    unchecked = RoutingTransport({SEND_PATH: [ok(queued("61400000001"))]})
    connect(unchecked).send_sms("hi", ["0400 000 001"], schedule_at=at, verify_schedule=False)
    assert unchecked.paths == [SEND_PATH]


def test_close_releases_the_client_and_a_later_call_builds_another(connect) -> None:
    transport = ScriptedTransport(ok(), ok())
    hook = connect(transport)
    hook.close()  # nothing built yet: nothing to close
    assert transport.closed == 0
    hook.cancel_scheduled_message(MID)
    first = hook.client
    hook.close()
    assert transport.closed == 1
    hook.cancel_scheduled_message(MID)
    assert hook.client is not first and len(transport.requests) == 2


# -- the async client of the connection -----------------------------------------------------------------


def test_get_async_client_reads_the_connection_and_settings(cellcast_connection_env, monkeypatch) -> None:
    emulator = cellcast_connection_env
    define(
        monkeypatch,
        "cellcast_async",
        host=emulator.url,
        password=emulator.token,
        extra={"timeout": "7", "max_attempts": 2},
    )

    async def main() -> tuple[AsyncCellcastClient, Any]:
        client = await CellcastHook("cellcast_async", max_attempts=3, requests_per_second=0).get_async_client()
        async with client:
            return client, await client.verify_token()

    client, envelope = asyncio.run(main())
    assert isinstance(client, AsyncCellcastClient)
    assert client.context.base_url == emulator.url.rstrip("/") and client.context.name == (
        "Airflow connection 'cellcast_async'"
    )
    assert (client.settings.timeout, client.settings.max_attempts, client.settings.requests_per_second) == (7.0, 3, 0)
    assert envelope.kind == "app"
    [entry] = emulator.requests_log()
    assert (entry["method"], entry["path"], entry["auth_valid"]) == ("GET", VERIFY_PATH, True)


def test_get_async_client_checks_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    define(monkeypatch, "cellcast_notoken", host="https://api.cellcast.com")
    with pytest.raises(CellcastConfigurationError, match="no API token"):
        asyncio.run(CellcastHook("cellcast_notoken").get_async_client())


# -- the inherited HttpHook surface: our connection, session, deadlines and typed errors -------------------


def test_run_returns_the_response(cellcast_connection_env) -> None:
    response = CellcastHook(method="GET").run(VERIFY_PATH)
    assert isinstance(response, requests.Response)
    assert response.status_code == 200 and response.json()["status"] is True and response.reason == "OK"
    assert response.headers["content-type"].startswith("application/json")
    [entry] = cellcast_connection_env.requests_log()
    assert (entry["method"], entry["path"], entry["auth_valid"]) == ("GET", VERIFY_PATH, True)


def test_run_with_a_wrong_token_raises_without_the_token(cellcast_connection_env, monkeypatch) -> None:
    wrong = "wrong-token-5f1e9a7c3d"
    define(monkeypatch, "cellcast_default", host=cellcast_connection_env.url, password=wrong)
    with pytest.raises(CellcastAuthenticationError) as raised:
        CellcastHook(method="GET").run(VERIFY_PATH)
    assert raised.value.status_code == 401
    assert wrong not in str(raised.value) and wrong not in repr(raised.value.args)


def test_run_reads_the_envelope_verdict(cellcast_connection_env) -> None:
    cellcast_connection_env.inject_fault("app_status_false", path=VERIFY_PATH, message="No")
    with pytest.raises(CellcastUnsuccessfulError) as raised:
        CellcastHook(method="GET").run(VERIFY_PATH)
    assert raised.value.api_message == "No"


def test_run_without_check_response_returns_any_answer(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    emulator.inject_fault("status", status=500, path=VERIFY_PATH)
    emulator.inject_fault("app_status_false", path=VERIFY_PATH)
    hook = CellcastHook(method="GET")
    assert hook.run(VERIFY_PATH, extra_options={"check_response": False}).status_code == 500
    answer = hook.run(VERIFY_PATH, extra_options={"check_response": False})
    assert answer.status_code == 200 and answer.json()["status"] is False


def test_run_with_advanced_retry(cellcast_connection_env) -> None:
    emulator = cellcast_connection_env
    emulator.inject_fault("status", status=503, path=ACCOUNT_PATH, count=2)
    response = CellcastHook(method="GET").run_with_advanced_retry(
        _retry_args={
            "stop": tenacity.stop_after_attempt(3),
            "wait": tenacity.wait_none(),
            "retry": tenacity.retry_if_exception_type(CellcastServerError),
            "reraise": True,
        },
        endpoint=ACCOUNT_PATH,
    )
    assert response.status_code == 200
    assert emulator.request_count(ACCOUNT_PATH) == 3


def test_run_sends_once_and_raises_typed_errors_only(cellcast_connection_env) -> None:
    cellcast_connection_env.inject_fault("html", status=502, path=VERIFY_PATH, count=None)
    with pytest.raises(CellcastServerError) as raised:
        CellcastHook(method="GET").run(VERIFY_PATH)
    assert isinstance(raised.value, CellcastError) and raised.value.status_code == 502
    assert cellcast_connection_env.request_count(VERIFY_PATH) == 1  # run() is one attempt: retries are the caller's


def test_run_sends_call_headers_and_options_but_never_extras_as_headers(connect) -> None:
    transport = ScriptedTransport(ok(), ok(), ok())
    hook = connect(transport, extra={"timeout": "12", "max_attempts": "2"}, method="GET")
    hook.run(VERIFY_PATH, data={"a": "1"}, headers={"X-Trace": "abc"})
    hook.run(VERIFY_PATH, extra_options={"timeout": 3})
    hook.run(VERIFY_PATH, extra_options={"timeout": (2, 5)})
    first, second, third = transport.requests
    assert first.method == "GET" and first.url == f"{DEFAULT_BASE_URL}{VERIFY_PATH}?a=1"
    assert first.header("Authorization") == f"Bearer {TOKEN}"
    assert first.header("X-Trace") == "abc" and second.header("X-Trace") is None  # per call
    # The timeout is the deadline of the one attempt (was passed to requests as (connect, read)).
    assert (first.deadline, second.deadline, third.deadline) == (12.0, 3.0, 7.0)
    for sent in transport.requests:
        assert not {"timeout", "max_attempts", "extra"} & {name.lower() for name in sent.headers}


def test_run_with_the_hook_method_post(connect) -> None:
    transport = ScriptedTransport(ok())
    connect(transport).run(CANCEL_PATH, json={"messageId": MID, "type": "sms"})
    [sent] = transport.requests
    assert sent.method == "POST" and sent.json == {"messageId": MID, "type": "sms"}


def test_run_and_check_only_calls_the_connections_api(connect) -> None:
    transport = ScriptedTransport()
    hook = connect(transport)
    session = hook.get_conn()
    for url in (
        "https://evil.test/api/v1/gateway",
        "https://api.cellcast.com.evil.test/x",
        "https://api.cellcast.comx/y",
    ):
        prepared = session.prepare_request(requests.Request("POST", url))
        with pytest.raises(CellcastConfigurationError, match="may only call the connection's API"):
            hook.run_and_check(session, prepared, {})
    assert transport.requests == []


def test_check_response_reads_the_envelope(connect) -> None:
    hook = connect(ScriptedTransport((200, {"status": False, "message": "No"})), method="GET")
    response = hook.run(VERIFY_PATH, extra_options={"check_response": False})
    with pytest.raises(CellcastUnsuccessfulError, match=f"GET {VERIFY_PATH}"):
        hook.check_response(response)


def test_run_never_takes_a_netrc_entry_for_the_token(
    connect, local_server: LocalServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("default login intruder password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    hook = connect(None, host=local_server.url, method="GET")  # the real transport
    assert hook.run(VERIFY_PATH).status_code == 200
    assert hook.get_conn().trust_env is False
    [received] = local_server.received
    assert received.headers["authorization"] == f"Bearer {TOKEN}"
    hook.close()


def test_no_dead_attributes(cellcast_connection_env) -> None:
    hook = CellcastHook(method="get")
    assert not hasattr(hook, "extra_options")  # per call only: run(extra_options=...)
    assert hook.method == "GET"
    assert hook.base_url == ""  # set by get_conn(), from the connection
    session = hook.get_conn()
    assert hook.base_url == hook.api_base_url == cellcast_connection_env.url.rstrip("/")
    assert session.headers["Authorization"] == f"Bearer {cellcast_connection_env.token}"
    assert hook.get_conn() is session
    hook.close()
    assert hook.get_conn() is not session  # close() released it; a new one is made on demand


def test_an_empty_host_means_the_default_api_url(connect) -> None:
    hook = connect(ScriptedTransport())
    assert hook.api_base_url == DEFAULT_BASE_URL
    hook.get_conn()
    assert hook.base_url == DEFAULT_BASE_URL
