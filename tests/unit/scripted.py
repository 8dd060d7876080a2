"""Scripted transports: the client's only I/O seam, answered from a script and recorded.

The client sends every request through a :class:`~airflow_provider_cellcast.client.transport.Transport`
(``send(request, *, deadline, what, message_id=None) -> HttpResponse``, ``close()``); the unit
tests hand it one of these instead of patching ``requests``:

* :class:`ScriptedTransport` answers in order from a list;
* :class:`RoutingTransport` answers per path (``"GET /api/v1/user/token/verify"`` or just the
  path) and, for ``GET /api/v2/report/message/{id}``, per message ID from a status script
  (``{message_id: ["scheduled", "canceled"]}``); in both the last answer repeats;
* :class:`ScriptedAsyncTransport` and :class:`RoutingAsyncTransport`: the same, awaited, for
  :class:`~airflow_provider_cellcast.client.AsyncCellcastClient`.

An answer is an :class:`~airflow_provider_cellcast.client.wire.HttpResponse`, a ``(status,
json_or_bytes[, headers])`` tuple, or an exception instance to raise (what a real transport
raises: ``CellcastConnectionError("...", request_sent=False)``, ``CellcastInvalidResponseError``).
Every request is recorded as a :class:`Sent` (method, URL, path, query, headers, decoded JSON
body, deadline). A request the script has no answer for fails the test with an ``AssertionError``
naming it. Documented bodies come from :mod:`airflow_provider_cellcast.emulator.envelopes`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_cellcast.client.wire import HttpRequest, HttpResponse
from airflow_provider_cellcast.emulator.envelopes import app_envelope, error_envelope, meta_envelope

REPORT_PATH = "/api/v2/report/message"
CANCEL_PATH = "/api/v1/gateway/cancelScheduleQuickMessage"
SEND_PATH = "/api/v1/gateway"
VERIFY_PATH = "/api/v1/user/token/verify"
ACCOUNT_PATH = "/api/v1/apiClient/account"


# -- documented answers --------------------------------------------------------------------------


def app(status: bool = True, message: str = "ok", data: Any = None) -> dict[str, Any]:
    """An app envelope (the emulator's builder)."""
    return app_envelope(status, message, data)


def meta(data: Any, message: str = "ok", code: int = 200) -> dict[str, Any]:
    """A meta envelope, as the account endpoint answers."""
    return meta_envelope(message, data, code)


def error(code: int, message: str = "error") -> dict[str, Any]:
    """An error envelope ``{"code", "message", "stack"}`` (4xx, 5xx)."""
    return error_envelope(code, message)


def ok(data: Any = None, message: str = "ok") -> tuple[int, dict[str, Any]]:
    """HTTP 200 with a successful app envelope."""
    return 200, app(True, message, data)


def refused(message: str = "Something went wrong") -> tuple[int, dict[str, Any]]:
    """HTTP 200 with ``status: false``."""
    return 200, app(False, message)


def report(message_id: str, status: str, **fields: Any) -> tuple[int, dict[str, Any]]:
    """A message report (``GET /api/v2/report/message/{id}``) in ``status``."""
    return ok({"_id": message_id, "status": status, **fields})


def queued(*numbers: str, start: int = 1, **extra: Any) -> dict[str, Any]:
    """A send answer's ``data`` queueing ``numbers`` with consecutive message IDs from ``start``."""
    return {
        "queueResponse": [
            {"Contact": number, "MessageId": f"{start + i:024x}", "Result": "ok", "Number": "1"}
            for i, number in enumerate(numbers)
        ],
        **extra,
    }


def page(items: Sequence[Mapping[str, Any]], *, more: bool = False) -> tuple[int, dict[str, Any]]:
    """One page of the message list."""
    return ok({"items": [dict(item) for item in items], "hasNextPage": more})


# -- what was sent -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One request as the transport received it."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None
    deadline: float
    what: str
    message_id: str | None
    json: Any = field(default=None)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return {key: values[-1] for key, values in parse_qs(urlsplit(self.url).query).items()}

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


def _decoded(request: HttpRequest) -> Any:
    content_type = next((v for k, v in request.headers.items() if k.lower() == "content-type"), "")
    if request.body and "json" in content_type:
        return json.loads(request.body)
    return None


def to_response(answer: Any) -> HttpResponse:
    """An :class:`HttpResponse` from an answer of a script (exceptions are raised by the caller)."""
    if isinstance(answer, HttpResponse):
        return answer
    if not isinstance(answer, tuple) or len(answer) not in (2, 3):
        raise TypeError(f"a scripted answer is an HttpResponse, (status, body[, headers]) or an exception: {answer!r}")
    status, document, headers = answer if len(answer) == 3 else (*answer, {})
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    lowered = {key.lower(): value for key, value in headers.items()}
    if not isinstance(document, bytes):
        lowered.setdefault("content-type", "application/json")
    return HttpResponse(status, lowered, body)


class ScriptedTransport:
    """A :class:`~airflow_provider_cellcast.client.transport.Transport` answering in order from ``answers``.

    ``requests`` holds every request sent, ``closed`` how often ``close()`` was called. Safe to
    use from the worker threads of a bulk operation (answers are taken in arrival order).
    """

    def __init__(self, *answers: Any) -> None:
        self.answers: list[Any] = list(answers)
        self.requests: list[Sent] = []
        self.closed = 0
        self._lock = threading.Lock()

    def _next_answer(self, sent: Sent) -> Any:
        if not self.answers:
            raise AssertionError(f"unexpected request {sent.method} {sent.url}: the script has no answer left")
        return self.answers.pop(0)

    def _answer(self, request: HttpRequest, deadline: float, what: str, message_id: str | None) -> HttpResponse:
        sent = Sent(
            request.method,
            request.url,
            dict(request.headers),
            request.body,
            deadline,
            what,
            message_id,
            _decoded(request),
        )
        with self._lock:
            self.requests.append(sent)
            answer = self._next_answer(sent)
        if isinstance(answer, BaseException):
            raise answer
        return to_response(answer)

    def send(self, request: HttpRequest, *, deadline: float, what: str, message_id: str | None = None) -> HttpResponse:
        return self._answer(request, deadline, what, message_id)

    def close(self) -> None:
        self.closed += 1

    # -- reading the record ------------------------------------------------------------------------

    @property
    def paths(self) -> list[str]:
        return [sent.path for sent in self.requests]

    @property
    def deadlines(self) -> list[float]:
        return [sent.deadline for sent in self.requests]

    @property
    def bodies(self) -> list[Any]:
        return [sent.json for sent in self.requests]

    def to(self, path: str, method: str | None = None) -> list[Sent]:
        """The requests to ``path`` (optionally with ``method``)."""
        return [sent for sent in self.requests if sent.path == path and method in (None, sent.method)]


class RoutingTransport(ScriptedTransport):
    """Answers per route; message reports from a status script. The last answer of a route repeats.

    :param routes: ``{"METHOD /path": [answers]}`` or ``{"/path": [answers]}`` (any method).
    :param statuses: ``{message_id: [status or answer, ...]}`` for ``GET /api/v2/report/message/{id}``;
        a string is answered as a report in that status.

    ``asked`` lists the message IDs looked up, in order.
    """

    def __init__(
        self,
        routes: Mapping[str, Sequence[Any]] | None = None,
        *,
        statuses: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        super().__init__()
        self.routes = {key: list(value) for key, value in (routes or {}).items()}
        self.statuses = {key: list(value) for key, value in (statuses or {}).items()}
        self.asked: list[str] = []

    @staticmethod
    def _take(answers: list[Any]) -> Any:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def _next_answer(self, sent: Sent) -> Any:
        prefix = REPORT_PATH + "/"
        if sent.method == "GET" and sent.path.startswith(prefix) and self.statuses:
            message_id = sent.path[len(prefix) :]
            self.asked.append(message_id)
            if message_id not in self.statuses:
                raise AssertionError(f"unexpected lookup of message {message_id}")
            answer = self._take(self.statuses[message_id])
            return report(message_id, answer) if isinstance(answer, str) else answer
        for key in (f"{sent.method} {sent.path}", sent.path):
            if key in self.routes:
                return self._take(self.routes[key])
        raise AssertionError(f"unexpected request {sent.method} {sent.url}: no route for it")


class _Async:
    """The async face of a scripted transport (``AsyncTransport``)."""

    async def send(  # type: ignore[override]
        self, request: HttpRequest, *, deadline: float, what: str, message_id: str | None = None
    ) -> HttpResponse:
        return self._answer(request, deadline, what, message_id)  # type: ignore[attr-defined]

    async def close(self) -> None:  # type: ignore[override]
        self.closed += 1  # type: ignore[attr-defined]


class ScriptedAsyncTransport(_Async, ScriptedTransport):
    """:class:`ScriptedTransport` for :class:`~airflow_provider_cellcast.client.AsyncCellcastClient`."""


class RoutingAsyncTransport(_Async, RoutingTransport):
    """:class:`RoutingTransport` for :class:`~airflow_provider_cellcast.client.AsyncCellcastClient`."""


# -- pacers that record --------------------------------------------------------------------------


class RecordingPacer:
    """A pacer (sync) that lets every request go and records the pauses asked for."""

    def __init__(self) -> None:
        self.acquired = 0
        self.pauses: list[float] = []

    def acquire(self) -> None:
        self.acquired += 1

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)


class RecordingAsyncPacer(RecordingPacer):
    """A pacer (async) that lets every request go and records the pauses asked for."""

    closed = 0

    async def acquire(self) -> None:  # type: ignore[override]
        self.acquired += 1

    async def pause(self, seconds: float) -> None:  # type: ignore[override]
        self.pauses.append(seconds)

    async def close(self) -> None:
        self.closed += 1
