"""Around every ``/api/`` request: latency, faults, authentication, rate limit, journal, counters.

:class:`EmulatorMiddleware` is pure ASGI (not ``BaseHTTPMiddleware``) so that a ``drop`` fault
can break a response halfway. Requests outside ``/api/`` (the control plane) pass untouched.

Order for one API request:

1. journal entry (method, path, masked query and body; never the ``Authorization`` header) and
   the per-path counter;
2. configured latency;
3. a matching fault registered ``when="before"`` answers instead of the emulator (so a
   proxy-like fault answers even a request with a wrong token); kinds in :mod:`.harness.faults`;
4. token check (401 in the error envelope; the log says only that the token differs);
5. rate limit per token, a sliding one-second window (429, ``Retry-After`` when configured);
6. the route; a fault registered ``when="after"`` then delays, drops or replaces the answer;
7. the answer's status goes into the journal entry and the per-status counter.

Phone numbers in the journal and the log are masked (:func:`.contacts.mask_json`); the token is
never journalled or logged (token verify echoes it in its answer, and answers are not journalled).
An MMS form is journalled by its route (``JOURNAL_BODY_KEY``): fields masked, the media's size and
type, never its content.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_provider_cellcast.emulator.contacts import mask_json
from airflow_provider_cellcast.emulator.envelopes import app_envelope, cast_error_envelope, error_envelope
from airflow_provider_cellcast.emulator.errors import phrase
from airflow_provider_cellcast.emulator.harness.faults import Fault
from airflow_provider_cellcast.emulator.state import EmulatorState

logger = logging.getLogger("airflow_provider_cellcast.emulator")

#: Largest request body the emulator reads; beyond it the answer is 413.
MAX_BODY_BYTES = 5 * 1024 * 1024
#: Scope key where a route can leave the (masked) body to journal, e.g. the MMS route's form fields.
JOURNAL_BODY_KEY = "cellcast_emulator.journal_body"
_REPORT_PATH_RE = re.compile(r"^/api/v2/report/message/([^/]+)$")
_PROXY_HTML = (
    "<html>\r\n<head><title>{code} {phrase}</title></head>\r\n<body>\r\n<center><h1>{code} {phrase}</h1>"
    "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_DROPPED_RESPONSE_PADDING = 512


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def bearer_token(scope: Scope) -> str | None:
    """The request's bearer token: ``None`` without an ``Authorization`` header, ``""`` for another scheme."""
    header = _header(scope, b"authorization")
    if header is None:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return ""
    return credentials.strip()


async def _send_bytes(
    send: Send, status: int, body: bytes, content_type: str | None, headers: Mapping[str, str] | None = None
) -> None:
    raw_headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        raw_headers.append((b"content-type", content_type.encode()))
    raw_headers.extend((k.lower().encode(), v.encode("latin-1")) for k, v in (headers or {}).items())
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_json(send: Send, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
    await _send_bytes(send, status, json.dumps(payload).encode(), "application/json", headers)


async def _pause(state: EmulatorState, seconds: float) -> None:
    """Sleep without blocking the server; ends early when the state is reset or the server stops."""
    generation = state.generation
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        if state.generation != generation:
            return
        await asyncio.sleep(min(remaining, 0.05))


class _RecordingSend:
    """Pass messages on, remembering the status for the journal."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status: int | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self._send(message)


class _CapturedResponse:
    """Hold an app's answer back, so that an ``after`` fault can delay, drop or replace it."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))

    async def replay(self, send: Send) -> None:
        assert self.start is not None
        await send(self.start)
        await send({"type": "http.response.body", "body": bytes(self.body), "more_body": False})


def _journal_body(body: bytes, content_type: str) -> Any:
    if not body:
        return None
    if "json" in content_type:
        try:
            return mask_json(json.loads(body))
        except ValueError:
            return f"<invalid JSON, {len(body)} bytes>"
    return f"<{content_type.split(';')[0] or 'body'}, {len(body)} bytes>"


def _message_id_of(path: str, body: bytes, content_type: str) -> str | None:
    match = _REPORT_PATH_RE.match(path)
    if match:
        return match.group(1).strip().lower()
    if body and "json" in content_type:
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        if isinstance(parsed, dict) and isinstance(parsed.get("messageId"), str):
            return str(parsed["messageId"]).strip().lower()
    return None


class EmulatorMiddleware:
    """Around every ``/api/`` request: latency, faults, auth, rate limit and the request journal.

    Pure ASGI (not ``BaseHTTPMiddleware``) so that a ``drop`` fault can break a response halfway.
    """

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith("/api/"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = str(scope["method"]), str(scope["path"])
        content_type = (_header(scope, b"content-type") or "").lower()
        recorder = _RecordingSend(send)
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": mask_json(dict(parse_qsl(bytes(scope.get("query_string", b"")).decode("latin-1")))),
            "body": None,
            "message_id": None,
            "auth_valid": None,
            "status": None,
            "fault": None,
        }
        body = await self._read_body(receive)
        if body is not None:
            entry["body"] = _journal_body(body, content_type)
            entry["message_id"] = _message_id_of(path, body, content_type)
        # Journalled and counted on arrival, completed below: a request that hangs is already
        # visible, and one still pending when the emulator is reset never reaches the new journal.
        epoch = self.state.record_request(entry)
        try:
            if body is None:
                await _send_json(recorder, 413, error_envelope(413, "Request body is too large"))
                return
            await self._handle(scope, body, receive, recorder, entry)
        finally:
            entry["body"] = scope.get(JOURNAL_BODY_KEY, entry["body"])
            entry["status"] = recorder.status
            entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
            self.state.record_answer(recorder.status, epoch)

    async def _read_body(self, receive: Receive) -> bytes | None:
        chunks = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return bytes(chunks)
            chunks.extend(message.get("body", b""))
            if len(chunks) > MAX_BODY_BYTES:
                return None
            if not message.get("more_body", False):
                return bytes(chunks)

    async def _handle(
        self, scope: Scope, body: bytes, receive: Receive, send: _RecordingSend, entry: dict[str, Any]
    ) -> None:
        state = self.state
        consumed = False

        async def replay_receive() -> Message:
            nonlocal consumed
            if not consumed:
                consumed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if state.config.latency_ms:
            await _pause(state, state.config.latency_ms / 1000)
        fault = state.take_fault(entry["method"], entry["path"], entry["message_id"])
        if fault is not None:
            entry["fault"] = fault.kind
            logger.info(
                "fault %s (#%d, %s) applied to %s %s", fault.kind, fault.id, fault.when, entry["method"], entry["path"]
            )
            if fault.when == "before":
                if fault.kind == "latency":
                    await _pause(state, (fault.latency_ms or 0) / 1000)
                    fault = None
                else:
                    await self._emit_fault(fault, send, None, entry)
                    return

        token = bearer_token(scope)
        expected = state.config.token
        valid = token is not None and hmac.compare_digest(token.encode(), expected.encode())
        entry["auth_valid"] = valid
        if not valid:
            reason = "Token is required" if token is None else "Invalid token"
            # Neither the token given nor the expected one is logged, only that they differ.
            logger.warning("rejected %s %s: %s", entry["method"], entry["path"], reason.lower())
            await _send_json(send, 401, error_envelope(401, reason))
            return
        wait = state.check_rate_limit(expected)
        if wait is not None:
            logger.debug("rate limited %s %s: retry in %.3f s", entry["method"], entry["path"], wait)
            headers = {"Retry-After": str(max(1, math.ceil(wait)))} if state.config.retry_after_on_429 else None
            await _send_json(send, 429, error_envelope(429, "Too many requests"), headers)
            return
        if fault is None:
            await self.app(scope, replay_receive, send)
            return
        captured = _CapturedResponse()
        await self.app(scope, replay_receive, captured)
        await self._emit_fault(fault, send, captured, entry)

    async def _emit_fault(
        self, fault: Fault, send: Send, captured: _CapturedResponse | None, entry: Mapping[str, Any]
    ) -> None:
        state = self.state
        kind = fault.kind
        status = fault.status or 200
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if kind in ("latency", "hang"):
            seconds = (fault.latency_ms or 0) / 1000 if kind == "latency" else fault.hang_seconds
            await _pause(state, seconds)
            if captured is not None:
                await captured.replay(send)
            else:
                await _send_json(send, 504, error_envelope(504, "Gateway Timeout"), headers)
        elif kind == "drop":
            await self._drop(send, captured)
        elif kind == "status":
            text = fault.message or phrase(status)
            await _send_json(send, status, error_envelope(status, text), headers)
        elif kind == "html":
            page = _PROXY_HTML.format(code=status, phrase=phrase(status)).encode()
            await _send_bytes(send, status, page, "text/html", headers)
        elif kind == "empty":
            await _send_bytes(send, status, b"", None, headers)
        elif kind == "malformed":
            await _send_bytes(send, status, b'{"app_type": "web", "status": tru', "application/json", headers)
        elif kind == "unexpected_json":
            await _send_json(send, status, {"foo": 1} if fault.body is None else fault.body, headers)
        elif kind == "app_status_false":
            text = fault.message or "Something went wrong, please try again"
            await _send_json(send, status, app_envelope(False, text, {}), headers)
        elif kind == "cast_error":
            value = entry.get("message_id") or str(entry.get("path", "")).rsplit("/", 1)[-1]
            await _send_json(send, status, cast_error_envelope(str(value)), headers)
        else:  # pragma: no cover - add_fault refuses unknown kinds
            raise AssertionError(kind)

    @staticmethod
    async def _drop(send: Send, captured: _CapturedResponse | None) -> None:
        # Announce more bytes than are sent, then return: uvicorn closes the connection, and the
        # client reads a truncated body ("server accepted, answer lost").
        if captured is not None and captured.start is not None:
            status = int(captured.start["status"])
            body = bytes(captured.body)
            headers = [(k, v) for k, v in captured.start.get("headers", []) if k.lower() != b"content-length"]
        else:
            status, body, headers = (
                200,
                b'{"app_type": "web", "app_version": "1.0", ',
                [(b"content-type", b"application/json")],
            )
        declared = len(body) + _DROPPED_RESPONSE_PADDING
        headers.append((b"content-length", str(declared).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        logger.info("fault drop: connection closed after %d of %d bytes", len(body) // 2, declared)


class _DropLogFilter(logging.Filter):
    """Hide uvicorn's complaint about the response a ``drop`` fault breaks on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def quiet_drop_faults() -> None:
    """Install (once) the filter that keeps ``drop`` faults from logging uvicorn errors."""
    uvicorn_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropLogFilter) for f in uvicorn_logger.filters):
        uvicorn_logger.addFilter(_DropLogFilter())
