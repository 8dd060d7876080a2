"""The sync driver (client/transport.py): RequestsTransport on a loopback server, SyncRunner on plans.

RequestsTransport is the only place that touches ``requests``: it is tested against a real
HTTP server thread (``unit.local_server``), never by patching. The deadline tests take about
their deadline (a fraction of a second) of real time: what they check is that a server that
drips bytes cannot hold an attempt longer.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from airflow_provider_cellcast.client import CellcastClient
from airflow_provider_cellcast.client.plan import Map, Pace, PauseAccount, Plan, Transmit, Wait
from airflow_provider_cellcast.client.transport import RequestsTransport, SyncRunner
from airflow_provider_cellcast.client.wire import HttpRequest, HttpResponse
from airflow_provider_cellcast.exceptions import (
    CellcastConnectionError,
    CellcastError,
    CellcastInvalidResponseError,
    CellcastServerError,
)
from airflow_provider_cellcast.settings import CellcastSettings
from unit.local_server import LocalServer, unused_port
from unit.scripted import RecordingPacer, ScriptedTransport, ok

TOKEN = "tok-transport-2d5b8e"


def get(url: str, **headers: str) -> HttpRequest:
    return HttpRequest("GET", url, {"Authorization": f"Bearer {TOKEN}", "Accept-Encoding": "gzip, deflate", **headers})


@pytest.fixture
def transport() -> Iterator[RequestsTransport]:
    made = RequestsTransport(CellcastSettings(max_response_bytes=4096, connect_timeout=2))
    yield made
    made.close()


def test_an_answer_is_read_whole_with_lower_case_headers(
    transport: RequestsTransport, local_server: LocalServer
) -> None:
    body = b'{"a":1}'
    response = transport.send(
        HttpRequest(
            "POST",
            f"{local_server.url}/json?x=1",
            {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            body,
        ),
        deadline=5,
        what="a test",
    )
    assert response.status == 200 and response.headers["x-answer"] == "Yes"
    assert b'"path": "/json"' in response.body
    [received] = local_server.received
    assert (received.method, received.path, received.body) == ("POST", "/json?x=1", body)
    assert received.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_gzip_answer_is_decoded(transport: RequestsTransport, local_server: LocalServer) -> None:
    assert b'"/gzip"' in transport.send(get(f"{local_server.url}/gzip"), deadline=5, what="x").body


def test_the_deadline_covers_a_slow_body(transport: RequestsTransport, local_server: LocalServer) -> None:
    started = time.monotonic()
    with pytest.raises(CellcastConnectionError) as raised:
        transport.send(get(f"{local_server.url}/slow-body"), deadline=0.3, what="a lookup", message_id="m")
    elapsed = time.monotonic() - started
    assert str(raised.value) == (
        f"Cellcast at {local_server.url} sent no complete answer for a lookup within the attempt deadline of 0.3 s"
    )
    # Each read gets a byte every 50 ms, so no per-read timeout fires: only the deadline ends it.
    assert elapsed < 2.0
    assert raised.value.request_sent is True and raised.value.message_id == "m"


def test_the_deadline_covers_slow_headers(transport: RequestsTransport, local_server: LocalServer) -> None:
    started = time.monotonic()
    with pytest.raises(CellcastConnectionError) as raised:
        transport.send(get(f"{local_server.url}/slow-headers"), deadline=0.3, what="x")
    assert str(raised.value) == (
        f"Cellcast at {local_server.url} sent no complete answer for x within the attempt deadline of 0.3 s"
    )
    assert raised.value.request_sent is True
    assert time.monotonic() - started < 2.0


def test_a_read_timeout_is_the_deadline_passing(transport: RequestsTransport, monkeypatch: pytest.MonkeyPatch) -> None:
    # requests' read timeout is the deadline too: whichever fires first, the error says the same.
    def read_timed_out(*args: Any, **kwargs: Any) -> None:
        raise requests.ReadTimeout("read timed out")

    monkeypatch.setattr(transport.session, "send", read_timed_out)
    with pytest.raises(CellcastConnectionError) as raised:
        transport.send(get("https://api.example.test:8443/api/v1/gateway"), deadline=7, what="a send", message_id="m")
    assert str(raised.value) == (
        "Cellcast at https://api.example.test:8443 sent no complete answer for a send "
        "within the attempt deadline of 7 s"
    )
    assert raised.value.request_sent is True and isinstance(raised.value.__cause__, requests.ReadTimeout)


def test_the_transport_is_usable_after_a_deadline(transport: RequestsTransport, local_server: LocalServer) -> None:
    with pytest.raises(CellcastConnectionError):
        transport.send(get(f"{local_server.url}/slow-body"), deadline=0.2, what="x")
    assert transport.send(get(f"{local_server.url}/json"), deadline=5, what="x").status == 200


def test_no_redirect_is_followed(transport: RequestsTransport, local_server: LocalServer) -> None:
    response = transport.send(get(f"{local_server.url}/redirect"), deadline=5, what="x")
    assert response.status == 302 and response.headers["location"].endswith("/elsewhere")
    assert [received.path for received in local_server.received] == ["/redirect"]


def test_a_netrc_default_entry_never_replaces_the_bearer_token(
    transport: RequestsTransport, local_server: LocalServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("default login intruder password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert transport.session.trust_env is False
    transport.send(get(f"{local_server.url}/json"), deadline=5, what="x")
    assert local_server.received[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("path", ["/big", "/chunked-big", "/gzip-bomb"])
def test_answers_over_the_size_limit_are_refused(
    transport: RequestsTransport, local_server: LocalServer, path: str
) -> None:
    with pytest.raises(CellcastInvalidResponseError, match="larger than 4096 bytes"):
        transport.send(get(f"{local_server.url}{path}"), deadline=5, what="x")


def test_an_encoding_that_was_not_asked_for_is_refused(transport: RequestsTransport, local_server: LocalServer) -> None:
    with pytest.raises(CellcastInvalidResponseError, match="'br'"):
        transport.send(get(f"{local_server.url}/brotli"), deadline=5, what="x")


def test_a_server_that_is_not_there_was_never_sent_anything(transport: RequestsTransport) -> None:
    port = unused_port()
    with pytest.raises(CellcastConnectionError) as raised:
        transport.send(get(f"http://127.0.0.1:{port}/json"), deadline=5, what="a lookup")
    assert str(raised.value) == (
        f"could not connect to Cellcast at http://127.0.0.1:{port} for a lookup (ConnectionError)"
    )
    assert raised.value.request_sent is False


def test_a_connection_not_made_within_connect_timeout_was_never_sent(unanswered_port: int) -> None:
    transport = RequestsTransport(CellcastSettings(connect_timeout=0.3))
    started = time.monotonic()
    with pytest.raises(CellcastConnectionError) as raised:
        transport.send(get(f"http://127.0.0.1:{unanswered_port}/api/v1/gateway"), deadline=5, what="a send")
    assert raised.value.request_sent is False and time.monotonic() - started < 3.0
    assert str(raised.value) == (
        f"could not connect to Cellcast at http://127.0.0.1:{unanswered_port} for a send (ConnectTimeout)"
    )
    transport.close()


def test_a_connection_closed_without_an_answer_may_have_been_sent(
    transport: RequestsTransport, local_server: LocalServer
) -> None:
    with pytest.raises(CellcastConnectionError) as raised:
        transport.send(get(f"{local_server.url}/close"), deadline=5, what="x")
    assert raised.value.request_sent is True
    origin = re.escape(local_server.url)
    assert re.fullmatch(rf"Cellcast at {origin} sent no complete answer for x \(\w+\)", str(raised.value))


def test_a_client_on_the_local_server_end_to_end(local_server: LocalServer) -> None:
    waits: list[float] = []
    with CellcastClient(
        TOKEN, base_url=local_server.url, settings=CellcastSettings(requests_per_second=0), sleep=waits.append
    ) as client:
        envelope = client.verify_token()
    assert envelope.kind == "app" and envelope.data == {}  # the verify answer's data is dropped
    [received] = local_server.received
    assert received.path == "/api/v1/user/token/verify" and received.headers["authorization"] == f"Bearer {TOKEN}"
    assert received.headers["user-agent"].startswith("airflow-provider-cellcast/")
    assert waits == []


# -- SyncRunner --------------------------------------------------------------------------------------


def test_the_runner_carries_out_every_effect() -> None:
    transport = ScriptedTransport(ok(), CellcastConnectionError("x", request_sent=False))
    pacer, waits = RecordingPacer(), []
    runner = SyncRunner(transport, pacer, sleep=waits.append)
    request = HttpRequest("GET", "https://api.cellcast.com/x", {})

    def plan() -> Plan[list[Any]]:
        seen: list[Any] = []
        yield Pace()
        seen.append((yield Transmit(request, 7.5, "first", "m1")))
        yield PauseAccount(3.0)
        yield Wait(1.25)
        try:
            yield Transmit(request, 2.0, "second")
        except CellcastConnectionError as error:  # a failure is thrown into the plan
            seen.append(error)
        return seen

    first, failure = runner.run(plan())
    assert isinstance(first, HttpResponse) and first.status == 200
    assert isinstance(failure, CellcastConnectionError)
    assert (pacer.acquired, pacer.pauses, waits) == (1, [3.0], [1.25])
    assert [(sent.deadline, sent.what, sent.message_id) for sent in transport.requests] == [
        (7.5, "first", "m1"),
        (2.0, "second", None),
    ]


def test_an_error_the_plan_does_not_catch_is_raised() -> None:
    runner = SyncRunner(ScriptedTransport((503, b"")), RecordingPacer(), sleep=lambda s: None)

    def plan() -> Plan[None]:
        response = yield Transmit(HttpRequest("GET", "https://api.cellcast.com/x", {}), 1.0, "x")
        raise CellcastServerError(f"HTTP {response.status}", status_code=response.status)

    with pytest.raises(CellcastServerError, match="HTTP 503"):
        runner.run(plan())


class BarrierTransport:
    """Answers only once ``parties`` requests are in flight together; records the most in flight."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=5)
        self.lock = threading.Lock()
        self.active = self.most = 0

    def send(self, request: HttpRequest, *, deadline: float, what: str, message_id: str | None = None) -> HttpResponse:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        try:
            self.barrier.wait()
        finally:
            with self.lock:
                self.active -= 1
        return HttpResponse(200, {}, what.encode())

    def close(self) -> None:
        pass


def one(item: int) -> Plan[int]:
    response = yield Transmit(HttpRequest("GET", "https://api.cellcast.com/x", {}), 1.0, str(item))
    if item % 4 == 3:
        raise CellcastServerError(f"item {item}", status_code=503)
    return int(response.body)


def test_a_map_runs_concurrency_plans_at_once_and_reports_every_result() -> None:
    transport = BarrierTransport(3)
    runner = SyncRunner(transport, RecordingPacer(), sleep=lambda s: None)
    results: dict[int, Any] = {}

    def plan() -> Plan[None]:
        yield Map(one, range(9), results.__setitem__, 3)

    runner.run(plan())
    assert transport.most == 3  # three at once (the barrier needs three), never more
    assert sorted(results) == list(range(9))
    assert all(results[i] == i for i in range(9) if i % 4 != 3)
    assert all(isinstance(results[i], CellcastError) for i in (3, 7))  # a plan's error is its result


def test_a_map_takes_items_lazily_and_stops_when_on_result_raises() -> None:
    drawn = itertools.count()
    taken: list[int] = []

    def items() -> Iterator[int]:
        for item in drawn:
            taken.append(item)
            yield item

    def stop(item: int, result: Any) -> None:
        raise CellcastServerError("enough")

    runner = SyncRunner(ScriptedTransport(*[ok()] * 100), RecordingPacer(), sleep=lambda s: None)

    def lookup(item: int) -> Plan[int]:
        yield Transmit(HttpRequest("GET", "https://api.cellcast.com/x", {}), 1.0, str(item))
        return item

    def plan() -> Plan[str]:
        try:
            yield Map(lookup, items(), stop, 2)
        except CellcastServerError as error:
            return str(error)
        return "not stopped"

    assert runner.run(plan()) == "enough"
    assert len(taken) <= 8  # a window of 4 per worker, not the endless input
