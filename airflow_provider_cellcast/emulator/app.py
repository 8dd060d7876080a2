"""The Cellcast emulator's HTTP app: Cellcast's API plus a test-only control plane.

Cellcast API (``Authorization: Bearer <token>`` required, answers in Cellcast's envelopes):

========================================================  ==========================================
``POST /api/v1/gateway``                                  send SMS (JSON; ``message`` or ``templateId``)
``POST /api/v1/gatewaymms``                               send MMS (multipart form)
``POST /api/v1/gateway/cancelScheduleQuickMessage``       cancel a scheduled message
``GET  /api/v2/report/message/{messageId}``               one message's detail and status
``GET  /api/v2/report/message``                           list messages (filters, pages)
``GET  /api/v1/user/token/verify``                        verify the token
``GET  /api/v1/apiClient/account``                        account and balances (meta envelope)
========================================================  ==========================================

Control plane under ``/_emulator/`` (no auth, for tests only: never expose it beyond loopback):
``POST reset``, ``GET|POST config``, ``GET|POST clock``, ``GET|POST messages``,
``GET messages/{id}``, ``GET|POST|DELETE faults``, ``GET|DELETE requests``, ``POST templates``,
``POST optouts``, ``GET health``; OpenAPI docs at ``/_emulator/docs``.

Choices where Cellcast's documentation is silent (the emulator states them, clients must not
rely on them against the real service):

* An unknown message ID in a report answers HTTP 200 with ``status: false`` and "Message not
  found" (as cancelling an unknown ID was seen to do), not HTTP 404.
* Cancelling an unknown ID, an ID of the other type, or a message that is no longer scheduled
  answers HTTP 200, ``status: false``, ``data: {}``.
* ``scheduleAt`` accepts ``Y-m-d H:i:s`` and ISO 8601; a time not in the future sends at once.
  Giving both ``scheduleAt`` and a non-zero ``delay`` is refused (HTTP 400).
* A send with no valid contact answers HTTP 200, ``status: false``, with the usual ``data``.
* One credit per SMS part (one per MMS) per recipient; cancelling gives the credits back.

Faults (``POST /_emulator/faults``) act on ``/api/`` requests only, before authentication and
the rate limit, so a proxy-like fault (``html``, ``status`` 502...) answers even a request with a
wrong token. Kinds: ``status``, ``latency``, ``hang``, ``drop``, ``html``, ``empty``,
``malformed``, ``unexpected_json``, ``app_status_false`` (see :class:`~.state.Fault`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_provider_cellcast.emulator.contacts import (
    COUNTRY_CODE,
    mask_json,
    mask_phone,
    national_number,
    normalise_contact,
)
from airflow_provider_cellcast.emulator.envelopes import app_envelope, error_envelope, meta_envelope
from airflow_provider_cellcast.emulator.state import (
    MAX_DELAY_MS,
    Clock,
    EmulatorConfig,
    EmulatorState,
    EmulatorStateError,
    Fault,
    InsufficientBalanceError,
    StoredMessage,
    format_timestamp,
    normalise_status,
    parse_date,
    parse_timestamp,
)
from airflow_provider_cellcast.exceptions import CellcastInputError
from airflow_provider_cellcast.validation import validate_message_id, validate_message_type

logger = logging.getLogger("airflow_provider_cellcast.emulator")

MAX_CONTACTS = 1000
MAX_MEDIA_BYTES = 230 * 1024
MAX_BODY_BYTES = 5 * 1024 * 1024
#: Largest page size of the message list.
MAX_PAGE_LIMIT = 1000
# The MMS route leaves its (masked) form fields here for the request journal.
_JOURNAL_BODY_KEY = "cellcast_emulator.journal_body"
_REPORT_PATH_RE = re.compile(r"^/api/v2/report/message/([^/]+)$")
_ALPHA_SENDER_RE = re.compile(r"^[A-Za-z0-9 -]{1,11}$")
_NUMERIC_SENDER_RE = re.compile(r"^\+?\d{1,16}$")
_PROXY_HTML = (
    "<html>\r\n<head><title>{code} {phrase}</title></head>\r\n<body>\r\n<center><h1>{code} {phrase}</h1>"
    "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_DROPPED_RESPONSE_PADDING = 512
_UNSET: Any = object()


class ApiError(Exception):
    """Answer with an error envelope: ``{"code": ..., "message": ..., "stack": ...}``."""

    def __init__(self, status_code: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = dict(headers or {})


# --------------------------------------------------------------------------- raw ASGI helpers
def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


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
        # Journalled on arrival, completed below: a request that hangs is already visible, and
        # one still pending when the emulator is reset never reaches the new journal.
        self.state.record_request(entry)
        try:
            if body is None:
                await _send_json(recorder, 413, error_envelope(413, "Request body is too large"))
                return
            await self._handle(scope, body, receive, recorder, entry)
        finally:
            entry["body"] = scope.get(_JOURNAL_BODY_KEY, entry["body"])
            entry["status"] = recorder.status
            entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)

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
                    await self._emit_fault(fault, send, None)
                    return

        token = self._bearer_token(scope)
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
            headers = {"Retry-After": str(max(1, math.ceil(wait)))} if state.config.retry_after_on_429 else None
            await _send_json(send, 429, error_envelope(429, "Too many requests"), headers)
            return
        if fault is None:
            await self.app(scope, replay_receive, send)
            return
        captured = _CapturedResponse()
        await self.app(scope, replay_receive, captured)
        await self._emit_fault(fault, send, captured)

    @staticmethod
    def _bearer_token(scope: Scope) -> str | None:
        header = _header(scope, b"authorization")
        if header is None:
            return None
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return ""
        return credentials.strip()

    async def _emit_fault(self, fault: Fault, send: Send, captured: _CapturedResponse | None) -> None:
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
            text = fault.message or _phrase(status)
            await _send_json(send, status, error_envelope(status, text), headers)
        elif kind == "html":
            page = _PROXY_HTML.format(code=status, phrase=_phrase(status)).encode()
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


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# --------------------------------------------------------------------------- request parsing
async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as error:
        raise ApiError(400, "Request body must be valid JSON") from error
    if not isinstance(parsed, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return parsed


def _optional_str(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    return value


def _check_sender(sender: str | None) -> str | None:
    if sender is None or sender == "#SharedNum#":
        return sender
    if _NUMERIC_SENDER_RE.match(sender) or _ALPHA_SENDER_RE.match(sender):
        return sender
    raise ApiError(
        400,
        "sender is invalid: use up to 16 digits, or up to 11 characters from A-Z a-z 0-9, space and dash",
    )


def _schedule_of(state: EmulatorState, fields: Mapping[str, Any]) -> datetime | None:
    schedule_raw = fields.get("scheduleAt")
    delay_raw = fields.get("delay")
    schedule_at = None
    if schedule_raw not in (None, ""):
        try:
            schedule_at = parse_timestamp(schedule_raw, "scheduleAt")
        except EmulatorStateError as error:
            raise ApiError(400, error.message) from error
    delay_ms = 0
    if delay_raw not in (None, ""):
        try:
            delay_ms = int(str(delay_raw).strip()) if not isinstance(delay_raw, bool) else -1
        except ValueError:
            delay_ms = -1
        if isinstance(delay_raw, float) and not delay_raw.is_integer():
            delay_ms = -1
        if not 0 <= delay_ms <= MAX_DELAY_MS:
            raise ApiError(400, f"delay must be a whole number of milliseconds from 0 to {MAX_DELAY_MS}")
    if schedule_at is not None and delay_ms:
        raise ApiError(400, "Give either scheduleAt or delay, not both")
    if delay_ms:
        return state.now() + timedelta(milliseconds=delay_ms)
    return schedule_at


def _send(
    state: EmulatorState,
    message_type: str,
    fields: Mapping[str, Any],
    check_media: Callable[[], str | None] | None = None,
) -> JSONResponse:
    template_id = fields.get("templateId")
    if message_type == "sms" and template_id not in (None, ""):
        try:
            template_id = validate_message_id(template_id, "templateId")
        except CellcastInputError as error:
            raise ApiError(400, "templateId is invalid") from error
        text = state.template(template_id)
        if text is None:
            return JSONResponse(app_envelope(False, "Template not found", {}))
    else:
        text = fields.get("message")
        if text is None or (isinstance(text, str) and not text.strip()):
            raise ApiError(400, "message is required")
        if not isinstance(text, str):
            raise ApiError(400, "message must be a string")

    contacts = fields.get("contacts")
    if contacts is None or contacts == "":
        raise ApiError(400, "contacts is required")
    if not isinstance(contacts, list):
        raise ApiError(400, "contacts must be an array")
    if not contacts:
        raise ApiError(400, "contacts must contain at least one number")
    if len(contacts) > MAX_CONTACTS:
        raise ApiError(400, f"contacts must contain at most {MAX_CONTACTS} numbers")
    country_code = fields.get("countryCode")
    if country_code not in (None, "") and str(country_code).strip().lstrip("+") != str(COUNTRY_CODE):
        raise ApiError(400, f"countryCode must be {COUNTRY_CODE}")
    sender = _check_sender(_optional_str(fields, "sender"))
    custom_string = _optional_str(fields, "customString")
    schedule_at = _schedule_of(state, fields)
    media = check_media() if check_media else None

    valid: list[str] = []
    invalid: list[dict[str, Any]] = []
    unsubscribed: list[str] = []
    for raw in contacts:
        check = normalise_contact(raw)
        if check.number is None:
            invalid.append({"Contact": raw, "Error": check.error, "ErrorType": check.error_type})
        elif state.is_opted_out(check.number):
            unsubscribed.append(national_number(check.number))
        elif check.number not in valid:
            valid.append(check.number)

    def answer(queue: list[dict[str, Any]], note: str) -> dict[str, Any]:
        return {
            "queueResponse": queue,
            "message": note,
            "invalidContacts": invalid,
            "unsubscribeContacts": unsubscribed,
            "totalValidContact": len(queue),
            "totalInvalidContact": len(invalid),
            "totalUnsubscribeContact": len(unsubscribed),
        }

    if not valid:
        return JSONResponse(app_envelope(False, "No valid contacts", answer([], "no valid contacts to queue")))
    try:
        stored = state.send(
            message_type,
            valid,
            text,
            sender=sender,
            schedule_at=schedule_at,
            custom_string=custom_string,
            media=media,
        )
    except InsufficientBalanceError as error:
        logger.info("send %s refused: %s", message_type, error.message)
        return JSONResponse(app_envelope(False, error.message, {}), status_code=422)
    queue = [
        {
            "Contact": national_number(m.receiver),
            "MessageId": m.id,
            "Result": "Message added to queue.",
            "Number": m.receiver,
        }
        for m in stored
    ]
    logger.info(
        "send %s: %d queued (%s)%s, %d invalid, %d unsubscribed",
        message_type,
        len(stored),
        ", ".join(mask_phone(m.receiver) for m in stored[:5]) + (", ..." if len(stored) > 5 else ""),
        f", scheduled at {format_timestamp(stored[0].schedule_at)}" if stored[0].status == "scheduled" else "",
        len(invalid),
        len(unsubscribed),
    )
    return JSONResponse(
        app_envelope(True, "Request is being processed", answer(queue, "success register all valid contacts to queue"))
    )


def _list_item(message: StoredMessage) -> dict[str, Any]:
    return {**message.report(), "gateway_count": 1, "request_from": "API", "request_name": "Cellcast emulator"}


def _query_int(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise ApiError(400, f"{name} must be a whole number from 1 to {maximum}")
    return value


# --------------------------------------------------------------------------- app
def create_app(
    state: EmulatorState | EmulatorConfig | None = None, *, clock: Clock | None = None, **config: Any
) -> FastAPI:
    """Build the emulator's FastAPI app around ``state`` (or a new state from ``config``).

    ``config`` keys are :class:`~.state.EmulatorConfig` fields (``token``, ``rate_limit_per_second``,
    ``latency_ms``, ...). The state is ``app.state.emulator``. Serve with any ASGI server::

        app = create_app(token="secret", rate_limit_per_second=15)
        uvicorn.run(app, port=8079)
    """
    if isinstance(state, EmulatorState):
        if config or clock is not None:
            raise TypeError("give either an EmulatorState or configuration, not both")
        emulator = state
    else:
        base = state if isinstance(state, EmulatorConfig) else EmulatorConfig()
        try:
            merged = EmulatorConfig(**{**base.__dict__, **config})
        except TypeError as error:
            raise TypeError(f"unknown emulator setting: {error}") from error
        emulator = EmulatorState(merged, clock=clock)

    app = FastAPI(
        title="Cellcast emulator",
        description=(
            "Imitates the Cellcast SMS/MMS gateway API with in-memory state. Everything under "
            "`/_emulator/` is a test-only control plane without authentication."
        ),
        docs_url="/_emulator/docs",
        redoc_url=None,
        openapi_url="/_emulator/openapi.json",
    )
    app.state.emulator = emulator
    app.add_middleware(EmulatorMiddleware, state=emulator)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_envelope(exc.status_code, exc.message), exc.status_code, exc.headers)

    @app.exception_handler(EmulatorStateError)
    async def _state_error(request: Request, exc: EmulatorStateError) -> JSONResponse:
        return JSONResponse(error_envelope(exc.status_code, exc.message), exc.status_code)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        text = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
        return JSONResponse(error_envelope(exc.status_code, text), exc.status_code, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        text = f"{where} is invalid: {first.get('msg', 'bad value')}"
        return JSONResponse(error_envelope(400, text), 400)

    # ------------------------------------------------------------------- Cellcast API
    @app.post("/api/v1/gateway/cancelScheduleQuickMessage", tags=["Cellcast API"])
    async def cancel_scheduled_message(request: Request) -> JSONResponse:
        """Cancel a scheduled SMS or MMS: JSON ``{"messageId": "<24 hex>", "type": "sms"|"mms"}``."""
        body = await _json_object(request)
        raw_id, raw_type = body.get("messageId"), body.get("type")
        if raw_id is None or raw_id == "":
            raise ApiError(400, "messageId is required")
        try:
            message_id = validate_message_id(raw_id, "messageId")
        except CellcastInputError as error:
            raise ApiError(400, "messageId is invalid") from error
        if raw_type is None or raw_type == "":
            raise ApiError(400, "type is required")
        try:
            message_type = validate_message_type(raw_type, "type")
        except CellcastInputError as error:
            raise ApiError(400, "type must be one of sms, mms") from error
        cancelled, text = emulator.cancel(message_id, message_type)
        logger.info("cancel %s %s: %s", message_type, message_id, text)
        return JSONResponse(app_envelope(cancelled, text, {"message": text} if cancelled else {}))

    @app.post("/api/v1/gateway", tags=["Cellcast API"])
    async def send_sms(request: Request) -> JSONResponse:
        """Send (or schedule) an SMS to up to 1,000 contacts; ``templateId`` may replace ``message``."""
        return _send(emulator, "sms", await _json_object(request))

    @app.post("/api/v1/gatewaymms", tags=["Cellcast API"])
    async def send_mms(request: Request) -> JSONResponse:
        """Send (or schedule) an MMS: multipart form with ``media`` (jpg/png <= 230 KB) or ``gif`` (URL)."""
        content_type = request.headers.get("content-type", "").lower()
        if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            raise ApiError(400, "Request must be multipart/form-data")
        try:
            form = await request.form()
        except AssertionError as error:
            # Starlette asserts that python-multipart is installed before it parses a form.
            raise ApiError(501, "The emulator needs python-multipart for MMS: pip install python-multipart") from error
        fields: dict[str, Any] = {}
        for name in ("message", "sender", "scheduleAt", "delay", "customString", "countryCode", "gif"):
            value = form.get(name)
            if isinstance(value, str):
                fields[name] = value
        contact_values = [v for v in form.getlist("contacts") if isinstance(v, str)]
        media_value = form.get("media")
        parsed_contacts: Any = None
        if len(contact_values) == 1:
            try:
                parsed_contacts = json.loads(contact_values[0])
            except ValueError:
                parsed_contacts = None
        elif contact_values:
            parsed_contacts = contact_values
        journal: dict[str, Any] = dict(
            fields, contacts=parsed_contacts if parsed_contacts is not None else contact_values
        )
        if isinstance(media_value, UploadFile):
            journal["media"] = {
                "filename": media_value.filename,
                "content_type": media_value.content_type,
                "size": media_value.size,
            }
        request.scope[_JOURNAL_BODY_KEY] = mask_json(journal)
        if contact_values and parsed_contacts is None:
            raise ApiError(400, "contacts must be a JSON array of numbers")
        if parsed_contacts is not None:
            fields["contacts"] = parsed_contacts
        content = await media_value.read() if isinstance(media_value, UploadFile) else None
        filename = media_value.filename if isinstance(media_value, UploadFile) else None
        return _send(emulator, "mms", fields, lambda: _check_media(content, filename, fields.get("gif")))

    @app.get("/api/v2/report/message/{message_id}", tags=["Cellcast API"])
    async def message_report(message_id: str) -> JSONResponse:
        """One message's detail and status; an unknown ID answers ``status: false`` (HTTP 200)."""
        try:
            canonical = validate_message_id(message_id, "messageId")
        except CellcastInputError as error:
            raise ApiError(400, "messageId is invalid") from error
        message = emulator.get_message(canonical)
        if message is None:
            return JSONResponse(app_envelope(False, "Message not found", {}))
        return JSONResponse(app_envelope(True, "Success", message.report()))

    @app.get("/api/v2/report/message", tags=["Cellcast API"])
    async def message_list(request: Request) -> JSONResponse:
        """Messages newest first; filters ``campType``, ``status``, ``fromDate``, ``toDate``, ``customString``."""
        params = request.query_params
        page = _query_int(request, "page", 1, 1_000_000)
        limit = _query_int(request, "limit", 10, MAX_PAGE_LIMIT)
        filters: dict[str, Any] = {}
        try:
            if params.get("campType"):
                filters["message_type"] = validate_message_type(params["campType"], "campType")
            if params.get("status"):
                filters["status"] = normalise_status(params["status"])
            if params.get("fromDate"):
                filters["from_date"] = parse_date(params["fromDate"], "fromDate")
            if params.get("toDate"):
                filters["to_date"] = parse_date(params["toDate"], "toDate")
        except CellcastInputError as error:
            raise ApiError(400, "campType must be one of sms, mms") from error
        except EmulatorStateError as error:
            raise ApiError(400, error.message) from error
        if "customString" in params:
            filters["custom_string"] = params["customString"]
        found = emulator.list_messages(**filters)
        total = len(found)
        total_pages = math.ceil(total / limit)
        items = [_list_item(m) for m in found[(page - 1) * limit : page * limit]]
        data = {
            "items": items,
            "total": total,
            "page": page,
            "limit": limit,
            "totalPages": total_pages,
            "hasNextPage": page < total_pages,
            "nextPage": page + 1 if page < total_pages else None,
            "hasPrevPage": page > 1,
            "prevPage": page - 1 if page > 1 else None,
        }
        return JSONResponse(app_envelope(True, "Success", data))

    @app.get("/api/v1/user/token/verify", tags=["Cellcast API"])
    async def verify_token() -> JSONResponse:
        """Answer ``status: true`` when the token is right (the middleware answers 401 otherwise)."""
        return JSONResponse(app_envelope(True, "Token verified successfully!", {}))

    @app.get("/api/v1/apiClient/account", tags=["Cellcast API"])
    async def account() -> JSONResponse:
        """Account name, email and balances, in the meta envelope."""
        acc = emulator.account
        data = {
            "account_name": acc.name,
            "account_email": acc.email,
            "sms_balance": acc.sms_balance,
            "mms_balance": acc.mms_balance,
        }
        return JSONResponse(meta_envelope("Account details", data))

    # ------------------------------------------------------------------- control plane
    async def control_body(request: Request) -> dict[str, Any]:
        return await _json_object(request)

    @app.get("/_emulator/health", tags=["Emulator control plane"])
    async def health() -> dict[str, Any]:
        """Liveness probe."""
        return {"status": "ok"}

    @app.post("/_emulator/reset", tags=["Emulator control plane"])
    async def reset() -> dict[str, Any]:
        """Forget messages, faults, journal, opt-outs, clock offset; restore settings and balances."""
        emulator.reset()
        return {"reset": True}

    @app.get("/_emulator/config", tags=["Emulator control plane"])
    async def get_config() -> dict[str, Any]:
        """Current settings (never the token) and balances."""
        return _config_view(emulator)

    @app.post("/_emulator/config", tags=["Emulator control plane"])
    async def set_config(request: Request) -> dict[str, Any]:
        """Change ``rate_limit_per_second``, ``latency_ms``, ``retry_after_on_429``,
        ``delivery_delay_seconds``, ``sms_balance``, ``mms_balance``."""
        emulator.configure(**await control_body(request))
        return _config_view(emulator)

    @app.get("/_emulator/clock", tags=["Emulator control plane"])
    async def get_clock() -> dict[str, Any]:
        """The emulator's time and its offset from the real clock."""
        return _clock_view(emulator)

    @app.post("/_emulator/clock", tags=["Emulator control plane"])
    async def set_clock(request: Request) -> dict[str, Any]:
        """``{"advance_seconds": N}`` moves time forward; ``{"now": "<time>"}`` sets it."""
        body = await control_body(request)
        advance = body.get("advance_seconds", _UNSET)
        target = body.get("now", _UNSET)
        if (advance is _UNSET) == (target is _UNSET):
            raise ApiError(400, "give exactly one of advance_seconds or now")
        if advance is not _UNSET:
            if isinstance(advance, bool) or not isinstance(advance, (int, float)):
                raise ApiError(400, "advance_seconds must be a number")
            emulator.advance_clock(float(advance))
        else:
            emulator.set_clock(parse_timestamp(target, "now"))
        return _clock_view(emulator)

    @app.post("/_emulator/messages", tags=["Emulator control plane"])
    async def seed_message(request: Request) -> JSONResponse:
        """Store a message (``_id``, ``type``, ``status``, ``scheduleAt``, ...) without charging credits."""
        message = emulator.seed_message(await control_body(request))
        return JSONResponse(message.control_view(), status_code=201)

    @app.get("/_emulator/messages", tags=["Emulator control plane"])
    async def all_messages() -> dict[str, Any]:
        """Every stored message, newest first."""
        return {"messages": [m.control_view() for m in emulator.list_messages()]}

    @app.get("/_emulator/messages/{message_id}", tags=["Emulator control plane"])
    async def one_message(message_id: str) -> dict[str, Any]:
        """One stored message (with ``type`` and the full receiver); 404 when unknown."""
        message = emulator.get_message(message_id)
        if message is None:
            raise ApiError(404, "Message not found")
        return message.control_view()

    @app.post("/_emulator/faults", tags=["Emulator control plane"])
    async def add_fault(request: Request) -> JSONResponse:
        """Register a fault: ``kind`` plus ``count``, ``message_id``, ``path``, ``method``, ``status``,
        ``retry_after``, ``latency_ms``, ``hang_seconds``, ``when``, ``message``, ``body``."""
        fault = emulator.add_fault(await control_body(request))
        return JSONResponse(fault.describe(), status_code=201)

    @app.get("/_emulator/faults", tags=["Emulator control plane"])
    async def list_faults() -> dict[str, Any]:
        """Faults still pending."""
        return {"faults": [f.describe() for f in emulator.faults()]}

    @app.delete("/_emulator/faults", tags=["Emulator control plane"])
    async def clear_faults() -> dict[str, Any]:
        """Remove every pending fault."""
        emulator.clear_faults()
        return {"faults": []}

    @app.get("/_emulator/requests", tags=["Emulator control plane"])
    async def request_journal() -> dict[str, Any]:
        """API requests received (oldest first; phone numbers masked; tokens never recorded)."""
        return {"requests": emulator.journal()}

    @app.delete("/_emulator/requests", tags=["Emulator control plane"])
    async def clear_journal() -> dict[str, Any]:
        """Empty the request journal."""
        emulator.clear_journal()
        return {"requests": []}

    @app.post("/_emulator/templates", tags=["Emulator control plane"])
    async def add_template(request: Request) -> JSONResponse:
        """Store an SMS template: ``{"text": "...", "id": optional 24 hex}``; answers its ``id``."""
        body = await control_body(request)
        text, template_id = body.get("text"), body.get("id")
        if not isinstance(text, str) or (template_id is not None and not isinstance(template_id, str)):
            raise ApiError(400, "text must be a string, and id a 24-hex string when given")
        template_id = emulator.add_template(text, template_id)
        return JSONResponse({"id": template_id}, status_code=201)

    @app.post("/_emulator/optouts", tags=["Emulator control plane"])
    async def add_optouts(request: Request) -> dict[str, Any]:
        """Unsubscribe numbers: ``{"numbers": [...]}``; sends to them land in ``unsubscribeContacts``."""
        numbers = (await control_body(request)).get("numbers")
        if not isinstance(numbers, list):
            raise ApiError(400, "numbers must be an array")
        added = emulator.add_optouts(numbers)
        return {"numbers": [mask_phone(n) for n in added]}

    return app


def _check_media(content: bytes | None, filename: str | None, gif: Any) -> str:
    if content is not None:
        is_png = content.startswith(b"\x89PNG\r\n\x1a\n")
        is_jpeg = content.startswith(b"\xff\xd8\xff")
        if not (is_png or is_jpeg):
            raise ApiError(400, "media must be a jpg or png image")
        if len(content) > MAX_MEDIA_BYTES:
            raise ApiError(400, "media must be at most 230 KB")
        return filename or ("media.png" if is_png else "media.jpg")
    if isinstance(gif, str) and gif:
        if not gif.startswith(("http://", "https://")):
            raise ApiError(400, "gif must be an http(s) URL")
        return gif
    raise ApiError(400, "media or gif is required")


def _config_view(state: EmulatorState) -> dict[str, Any]:
    acc = state.account
    return {**state.config.public(), "sms_balance": acc.sms_balance, "mms_balance": acc.mms_balance}


def _clock_view(state: EmulatorState) -> dict[str, Any]:
    return {"now": format_timestamp(state.now()), "offset_seconds": state.clock_offset_seconds}
