"""CellcastClient and AsyncCellcastClient (client/clients.py): construction, the one-line methods, parity."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cellcast.client import AsyncCellcastClient, CellcastClient
from airflow_provider_cellcast.client.aio import AiohttpTransport
from airflow_provider_cellcast.client.transport import RequestsTransport
from airflow_provider_cellcast.client.wire import ApiRequest, HttpRequest
from airflow_provider_cellcast.exceptions import (
    CellcastConfigurationError,
    CellcastInvalidResponseError,
    CellcastMessageNotFoundError,
    CellcastServerError,
)
from airflow_provider_cellcast.ratelimit import AsyncRequestPacer, RequestPacer
from airflow_provider_cellcast.settings import CellcastSettings
from airflow_provider_cellcast.shared_ratelimit import AsyncSharedRequestPacer, SharedRequestPacer
from airflow_provider_cellcast.statuses import StatusRules
from unit.client.conftest import NAME, TOKEN
from unit.scripted import (
    ACCOUNT_PATH,
    REPORT_PATH,
    SEND_PATH,
    VERIFY_PATH,
    RecordingAsyncPacer,
    RoutingAsyncTransport,
    RoutingTransport,
    ScriptedAsyncTransport,
    ScriptedTransport,
    app,
    error,
    meta,
    ok,
    page,
    queued,
    report,
)

A, B = "675161d8a000000000000001", "675161d8a000000000000002"

# -- construction -----------------------------------------------------------------------------------


def test_defaults() -> None:
    client = CellcastClient(f" {TOKEN} ")
    assert client.base_url == "https://api.cellcast.com" and client.context.token == TOKEN
    assert client.settings == CellcastSettings() and client.context.name == "the Cellcast client"
    assert isinstance(client.transport, RequestsTransport) and isinstance(client.pacer, RequestPacer)
    client.close()


def test_the_token_and_the_base_url_are_checked_naming_the_account() -> None:
    with pytest.raises(CellcastConfigurationError, match="connection 'cc' has no API token") as raised:
        CellcastClient("", name=NAME)
    assert isinstance(raised.value, AirflowFailException)
    with pytest.raises(CellcastConfigurationError, match=r"connection 'cc' points at plain http://api\.cellcast\.com"):
        CellcastClient(TOKEN, base_url="http://api.cellcast.com", name=NAME)
    with pytest.raises(CellcastConfigurationError, match="connection 'cc' has no API token"):
        AsyncCellcastClient("  ", name=NAME)


def test_plain_http_when_allowed_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        client = CellcastClient(
            TOKEN, base_url="http://gateway.internal/", settings=CellcastSettings(allow_insecure_http=True), name=NAME
        )
    assert client.base_url == "http://gateway.internal"
    assert "connection 'cc' sends the Cellcast API token over plain HTTP to http://gateway.internal" in caplog.text
    assert TOKEN not in caplog.text


def test_a_redis_connection_shares_the_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = CellcastSettings(rate_limit_redis_conn_id="redis_default")
    assert isinstance(CellcastClient(TOKEN, settings=settings).pacer, SharedRequestPacer)  # connects on first use
    assert isinstance(AsyncCellcastClient(TOKEN, settings=settings).pacer, AsyncSharedRequestPacer)
    assert isinstance(AsyncCellcastClient(TOKEN).pacer, AsyncRequestPacer)
    assert isinstance(AsyncCellcastClient(TOKEN).transport, AiohttpTransport)


def test_the_context_manager_closes_the_transport() -> None:
    transport = ScriptedTransport()
    with CellcastClient(TOKEN, transport=transport) as client:
        assert client.transport is transport
    assert transport.closed == 1


# -- the methods, sync ----------------------------------------------------------------------------------


def test_verify_token_drops_the_token_cellcast_echoes(scripted) -> None:
    rig = scripted(ok({"token": TOKEN, "user": "acme"}, "Token verified successfully!"))
    envelope = rig.client.verify_token()
    assert envelope.message == "Token verified successfully!" and envelope.data == {}
    assert TOKEN not in repr(envelope)
    assert [(sent.method, sent.path) for sent in rig.transport.requests] == [("GET", VERIFY_PATH)]


def test_get_account_reads_the_meta_envelope(scripted) -> None:
    rig = scripted((200, meta({"sms_balance": 10, "mms_balance": 2})), ok({"sms_balance": 10}))
    assert rig.client.get_account() == {"sms_balance": 10, "mms_balance": 2}
    assert rig.transport.requests[0].path == ACCOUNT_PATH
    with pytest.raises(CellcastInvalidResponseError, match="app envelope where its documentation gives the meta"):
        rig.client.get_account()


def test_transmit_sends_once_without_reading_the_envelope(scripted) -> None:
    rig = scripted((503, error(503, "busy")), timeout=9)
    request = HttpRequest("GET", "https://api.cellcast.com/api/v1/user/token/verify", {"X-Trace": "1"})
    response = rig.client.transmit(request, what="GET /x")
    assert response.status == 503 and len(rig.transport.requests) == 1 and rig.waits == []
    assert rig.transport.requests[0].deadline == 9.0
    rig.transport.answers.append(ok())
    rig.client.transmit(request, what="GET /x", deadline=2.5)
    assert rig.transport.requests[1].deadline == 2.5


def test_request_and_run_carry_out_any_call(scripted) -> None:
    rig = scripted(ok({"x": 1}), (500, b""))
    assert rig.client.request(ApiRequest("GET", "/api/v1/anything")).data == {"x": 1}
    with pytest.raises(CellcastServerError):
        rig.client.request(ApiRequest("GET", "/api/v1/anything"))


# -- the async client --------------------------------------------------------------------------------------


def async_client(transport: Any, pacer: Any = None, **settings: Any) -> AsyncCellcastClient:
    settings.setdefault("requests_per_second", 0)
    return AsyncCellcastClient(
        TOKEN, settings=CellcastSettings(**settings), transport=transport, pacer=pacer, name=NAME
    )


def test_the_async_client_looks_up_sends_and_verifies() -> None:
    transport = ScriptedAsyncTransport(
        report(A, "delivered"),
        ok(queued("+61400000001", start=int(A, 16))),
        ok({"token": TOKEN}),
        page([{"_id": A, "customString": "camp"}, {"_id": B, "customString": "other"}]),
    )

    async def main() -> tuple[Any, ...]:
        async with async_client(transport) as client:
            return (
                await client.get_message(A),
                await client.send_sms("hi", ["+61400000001"], sender="ACME"),
                await client.verify_token(),
                await client.message_ids_by_reference("camp"),
            )

    found, sent, verified, ids = asyncio.run(main())
    assert found == {"_id": A, "status": "delivered"}
    assert sent["message_ids"] == [A] and sent["queued"][0]["contact"].endswith("001")
    assert verified.data == {} and ids == [A]
    assert transport.paths == [f"{REPORT_PATH}/{A}", SEND_PATH, VERIFY_PATH, REPORT_PATH]
    # Contacts normalised to 61XXXXXXXXX before the send, as by the sync client.
    assert transport.requests[1].json == {"message": "hi", "sender": "ACME", "contacts": ["61400000001"]}
    assert transport.closed == 1


def test_the_async_client_closes_its_pacer() -> None:
    pacer = RecordingAsyncPacer()

    async def main() -> None:
        async with async_client(ScriptedAsyncTransport(), pacer):
            pass

    asyncio.run(main())
    assert pacer.closed == 1


def test_the_async_client_retries_and_pauses_the_account_after_a_429() -> None:
    transport = ScriptedAsyncTransport((429, b"", {"Retry-After": "0"}), (503, b""), report(A, "sent"))
    pacer = RecordingAsyncPacer()
    status = asyncio.run(async_client(transport, pacer, backoff_seconds=0).get_message(A))
    assert status["status"] == "sent" and len(transport.requests) == 3
    assert pacer.pauses == [0.0] and pacer.acquired == 3  # the 429 paused the account; the 503 did not


def test_the_async_client_raises_typed_errors() -> None:
    transport = ScriptedAsyncTransport((404, error(404, "Not found")))
    with pytest.raises(CellcastMessageNotFoundError, match="connection 'cc'"):
        asyncio.run(async_client(transport).get_message(A))


# -- one set of plans: both clients send the same requests ------------------------------------------------


def test_the_sync_and_async_clients_send_the_same_requests() -> None:
    statuses = {A: ["scheduled", "delivered"], B: ["failed"]}
    rules = StatusRules.build("delivered", None)
    sync_transport = RoutingTransport({SEND_PATH: [ok(queued("+61400000001"))]}, statuses=statuses)
    async_transport = RoutingAsyncTransport({SEND_PATH: [ok(queued("+61400000001"))]}, statuses=statuses)
    settings = {"requests_per_second": 0, "max_concurrency": 1}
    sync_client = CellcastClient(
        TOKEN, settings=CellcastSettings(**settings), transport=sync_transport, sleep=lambda s: None
    )
    first = sync_client.check_statuses([A, B], rules)
    second = sync_client.check_statuses([A, B], rules, first.statuses)
    sent = sync_client.send_sms("hi", "+61400000001")

    async def main() -> tuple[Any, Any, Any]:
        client = async_client(async_transport, **settings)
        one = await client.check_statuses([A, B], rules)
        two = await client.check_statuses([A, B], rules, one.statuses)
        return one, two, await client.send_sms("hi", "+61400000001")

    async_first, async_second, async_sent = asyncio.run(main())
    assert (first.statuses, second.statuses, sent) == (async_first.statuses, async_second.statuses, async_sent)
    assert second.done == [A] and second.failed == [B]

    def shape(transport: RoutingTransport) -> list[tuple[Any, ...]]:
        return [(s.method, s.url, s.json, s.deadline, s.header("Authorization")) for s in transport.requests]

    assert shape(sync_transport) == shape(async_transport)
    assert sync_transport.asked == async_transport.asked == [A, B, A, B]  # only done IDs are not asked again


def test_lists_page_until_the_last_page(scripted) -> None:
    items = [{"_id": A, "customString": "camp", "status": "scheduled"}]
    rig = scripted(page(items, more=True), page([]))
    assert [item["_id"] for item in rig.client.list_messages(custom_string="camp")] == [A]
    rig.transport.answers.extend([page(items), page([])])
    assert rig.client.find_sent_by_reference("camp") is not None


def test_the_emulator_envelope_builders_answer_a_cancel() -> None:
    body = app(True, "Job Removed successfully", {"message": "Job Removed successfully"})
    sync_result = CellcastClient(
        TOKEN, transport=ScriptedTransport((200, body)), settings=CellcastSettings(requests_per_second=0)
    ).cancel_scheduled_message(A)
    assert sync_result["outcome"] == "cancelled" and sync_result["message"] == "Job Removed successfully"
