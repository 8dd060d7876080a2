"""The async driver (client/aio.py): AiohttpTransport on a loopback server, AsyncRunner on plans.

The same checks as ``test_transport.py`` for the driver the triggers and ``async_notify`` use,
each in its own ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from airflow_provider_cellcast.client.aio import AiohttpTransport, AsyncRunner
from airflow_provider_cellcast.client.plan import Map, Pace, PauseAccount, Plan, Transmit, Wait
from airflow_provider_cellcast.client.wire import HttpRequest, HttpResponse
from airflow_provider_cellcast.exceptions import (
    CellcastConnectionError,
    CellcastError,
    CellcastInvalidResponseError,
    CellcastServerError,
)
from airflow_provider_cellcast.settings import CellcastSettings
from unit.local_server import LocalServer, unused_port
from unit.scripted import RecordingAsyncPacer, ScriptedAsyncTransport, ok

TOKEN = "tok-aio-6a1c4f"
T = TypeVar("T")


def get(url: str) -> HttpRequest:
    return HttpRequest("GET", url, {"Authorization": f"Bearer {TOKEN}", "Accept-Encoding": "gzip, deflate"})


def with_transport(action: Callable[[AiohttpTransport], Awaitable[T]], **settings: Any) -> T:
    """Run ``action`` with a fresh transport in a fresh event loop, closing it after."""
    settings.setdefault("max_response_bytes", 4096)

    async def main() -> T:
        transport = AiohttpTransport(CellcastSettings(**settings))
        try:
            return await action(transport)
        finally:
            await transport.close()

    return asyncio.run(main())


def test_an_answer_is_read_whole_with_lower_case_headers(local_server: LocalServer) -> None:
    request = HttpRequest("POST", f"{local_server.url}/json?x=1", {"Authorization": f"Bearer {TOKEN}"}, b'{"a":1}')
    response = with_transport(lambda t: t.send(request, deadline=5, what="x"))
    assert response.status == 200 and response.headers["x-answer"] == "Yes"
    assert b'"path": "/json"' in response.body
    [received] = local_server.received
    assert (received.method, received.path, received.body) == ("POST", "/json?x=1", b'{"a":1}')
    assert received.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_gzip_answer_is_decoded_by_the_body_reader(local_server: LocalServer) -> None:
    assert b'"/gzip"' in with_transport(lambda t: t.send(get(f"{local_server.url}/gzip"), deadline=5, what="x")).body


@pytest.mark.parametrize("path", ["/slow-body", "/slow-headers"])
def test_the_deadline_covers_the_whole_answer(local_server: LocalServer, path: str) -> None:
    started = time.monotonic()
    with pytest.raises(CellcastConnectionError) as raised:
        with_transport(
            lambda t: t.send(get(f"{local_server.url}{path}"), deadline=0.3, what="a lookup", message_id="m")
        )
    assert time.monotonic() - started < 2.0
    assert str(raised.value) == (
        f"Cellcast at {local_server.url} sent no complete answer for a lookup within the attempt deadline of 0.3 s"
    )
    assert raised.value.request_sent is True and raised.value.message_id == "m"


def test_no_redirect_is_followed(local_server: LocalServer) -> None:
    response = with_transport(lambda t: t.send(get(f"{local_server.url}/redirect"), deadline=5, what="x"))
    assert response.status == 302 and response.headers["location"].endswith("/elsewhere")
    assert [received.path for received in local_server.received] == ["/redirect"]


def test_a_netrc_default_entry_never_replaces_the_bearer_token(
    local_server: LocalServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("default login intruder password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    with_transport(lambda t: t.send(get(f"{local_server.url}/json"), deadline=5, what="x"))
    assert local_server.received[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("path", ["/big", "/chunked-big", "/gzip-bomb"])
def test_answers_over_the_size_limit_are_refused(local_server: LocalServer, path: str) -> None:
    with pytest.raises(CellcastInvalidResponseError, match="larger than 4096 bytes"):
        with_transport(lambda t: t.send(get(f"{local_server.url}{path}"), deadline=5, what="x"))


def test_an_encoding_that_was_not_asked_for_is_refused(local_server: LocalServer) -> None:
    with pytest.raises(CellcastInvalidResponseError, match="'br'"):
        with_transport(lambda t: t.send(get(f"{local_server.url}/brotli"), deadline=5, what="x"))


def test_a_server_that_is_not_there_was_never_sent_anything() -> None:
    port = unused_port()
    with pytest.raises(CellcastConnectionError) as raised:
        with_transport(lambda t: t.send(get(f"http://127.0.0.1:{port}/json"), deadline=5, what="a lookup"))
    assert str(raised.value) == (
        f"could not connect to Cellcast at http://127.0.0.1:{port} for a lookup (ClientConnectorError)"
    )
    assert raised.value.request_sent is False


def test_a_connection_not_made_within_connect_timeout_was_never_sent(unanswered_port: int) -> None:
    # As the sync driver says (test_transport.py): a send may be repeated, and a notification is not lost.
    url = f"http://127.0.0.1:{unanswered_port}/api/v1/gateway"
    started = time.monotonic()
    with pytest.raises(CellcastConnectionError) as raised:
        with_transport(lambda t: t.send(get(url), deadline=5, what="a send"), connect_timeout=0.3)
    assert raised.value.request_sent is False and time.monotonic() - started < 3.0
    # The same text as the sync driver's, naming where and the error behind it.
    assert str(raised.value) == (
        f"could not connect to Cellcast at http://127.0.0.1:{unanswered_port} for a send (ConnectionTimeoutError)"
    )


def test_a_connection_closed_without_an_answer_may_have_been_sent(local_server: LocalServer) -> None:
    with pytest.raises(CellcastConnectionError) as raised:
        with_transport(lambda t: t.send(get(f"{local_server.url}/close"), deadline=5, what="x"))
    assert raised.value.request_sent is True
    origin = re.escape(local_server.url)
    assert re.fullmatch(rf"Cellcast at {origin} sent no complete answer for x \(\w+\)", str(raised.value))


def test_one_session_for_every_request_and_closing_releases_it(local_server: LocalServer) -> None:
    async def action(transport: AiohttpTransport) -> int:
        for _ in range(3):
            await transport.send(get(f"{local_server.url}/json"), deadline=5, what="x")
        await transport.close()
        await transport.close()  # closing twice is harmless
        return (await transport.send(get(f"{local_server.url}/json"), deadline=5, what="x")).status  # reopened

    assert with_transport(action) == 200 and len(local_server.received) == 4


# -- AsyncRunner ---------------------------------------------------------------------------------------


def test_the_runner_carries_out_every_effect() -> None:
    transport = ScriptedAsyncTransport(ok(), CellcastConnectionError("x", request_sent=False))
    pacer = RecordingAsyncPacer()
    request = HttpRequest("GET", "https://api.cellcast.com/x", {})

    def plan() -> Plan[list[Any]]:
        seen: list[Any] = []
        yield Pace()
        seen.append((yield Transmit(request, 7.5, "first", "m1")))
        yield PauseAccount(3.0)
        yield Wait(0.0)
        try:
            yield Transmit(request, 2.0, "second")
        except CellcastConnectionError as error:
            seen.append(error)
        return seen

    first, failure = asyncio.run(AsyncRunner(transport, pacer).run(plan()))
    assert isinstance(first, HttpResponse) and first.status == 200
    assert isinstance(failure, CellcastConnectionError)
    assert (pacer.acquired, pacer.pauses) == (1, [3.0])
    assert [(sent.deadline, sent.what, sent.message_id) for sent in transport.requests] == [
        (7.5, "first", "m1"),
        (2.0, "second", None),
    ]


class GateTransport:
    """Answers only once ``parties`` requests are in flight together; records the most in flight."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.active = self.most = 0
        self.gate: asyncio.Event | None = None

    async def send(
        self, request: HttpRequest, *, deadline: float, what: str, message_id: str | None = None
    ) -> HttpResponse:
        self.gate = self.gate or asyncio.Event()
        self.active += 1
        self.most = max(self.most, self.active)
        if self.active >= self.parties:
            self.gate.set()
        await asyncio.wait_for(self.gate.wait(), 5)
        self.active -= 1
        if self.active == 0:
            self.gate = None
        return HttpResponse(200, {}, what.encode())

    async def close(self) -> None:
        pass


def one(item: int) -> Plan[int]:
    response = yield Transmit(HttpRequest("GET", "https://api.cellcast.com/x", {}), 1.0, str(item))
    if item % 4 == 3:
        raise CellcastServerError(f"item {item}", status_code=503)
    return int(response.body)


def test_a_map_runs_concurrency_plans_at_once_as_tasks() -> None:
    transport = GateTransport(3)
    results: dict[int, Any] = {}

    def plan() -> Plan[None]:
        yield Map(one, range(9), results.__setitem__, 3)

    asyncio.run(AsyncRunner(transport, RecordingAsyncPacer()).run(plan()))
    assert transport.most == 3
    assert sorted(results) == list(range(9))
    assert all(results[i] == i for i in range(9) if i % 4 != 3)
    assert all(isinstance(results[i], CellcastError) for i in (3, 7))


def test_a_map_stops_and_cancels_its_tasks_when_on_result_raises() -> None:
    taken: list[int] = []
    cancelled: list[int] = []

    def items() -> Iterator[int]:
        for item in itertools.count():
            taken.append(item)
            yield item

    class Hanging:
        """The first request answers, every other one waits until it is cancelled."""

        async def send(
            self, request: HttpRequest, *, deadline: float, what: str, message_id: str | None = None
        ) -> HttpResponse:
            if what == "0":
                return HttpResponse(200, {}, b"0")
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(int(what))
                raise
            raise AssertionError("not reached")

        async def close(self) -> None:
            pass

    def lookup(item: int) -> Plan[int]:
        yield Transmit(HttpRequest("GET", "https://api.cellcast.com/x", {}), 1.0, str(item))
        return item

    def stop(item: int, result: Any) -> None:
        raise CellcastServerError("enough")

    def plan() -> Plan[str]:
        try:
            yield Map(lookup, items(), stop, 3)
        except CellcastServerError as error:
            return str(error)
        return "not stopped"

    assert asyncio.run(AsyncRunner(Hanging(), RecordingAsyncPacer()).run(plan())) == "enough"
    assert taken == [0, 1, 2]  # at most the concurrency in flight: the endless input is not drained
    assert sorted(cancelled) == [1, 2]  # the ones in flight were cancelled, not left running
