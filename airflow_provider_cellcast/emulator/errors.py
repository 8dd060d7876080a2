"""Errors the emulator answers in Cellcast's error envelope, and reading a JSON request body.

Shared by the Cellcast API routes (:mod:`.api`) and the control plane (:mod:`.control`): a route
raises :class:`ApiError` (any status), or lets a :class:`~.rules.RuleError` (HTTP 400) or an
:class:`~.rules.EmulatorStateError` (its own status) from the rules and the state pass; the
handlers :func:`install_error_handlers` adds turn each of them (and FastAPI's own errors) into
``{"code": ..., "message": ..., "stack": ...}``. No route converts a rule error by hand.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from airflow_provider_cellcast.emulator.envelopes import error_envelope
from airflow_provider_cellcast.emulator.rules import EmulatorStateError, RuleError

logger = logging.getLogger("airflow_provider_cellcast.emulator")


class ApiError(Exception):
    """Answer with an error envelope: ``{"code": ..., "message": ..., "stack": ...}``."""

    def __init__(self, status_code: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = dict(headers or {})


def phrase(status: int) -> str:
    """The reason phrase of an HTTP status (``"Service Unavailable"``), or ``"Error"``."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is ``{}``; anything else is a 400."""
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


def install_error_handlers(app: FastAPI) -> None:
    """Answer :class:`ApiError`, rule and state errors, HTTP errors and validation errors in the error envelope."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_envelope(exc.status_code, exc.message), exc.status_code, exc.headers)

    @app.exception_handler(RuleError)
    async def _rule_error(request: Request, exc: RuleError) -> JSONResponse:
        # The rules' one answer: HTTP 400, the message naming the field and the rule it breaks.
        # Rule messages name fields and rules, never the values refused, so they are safe to log.
        logger.info("refused %s %s: %s", request.method, request.url.path, exc.message)
        return JSONResponse(error_envelope(400, exc.message), 400)

    @app.exception_handler(EmulatorStateError)
    async def _state_error(request: Request, exc: EmulatorStateError) -> JSONResponse:
        return JSONResponse(error_envelope(exc.status_code, exc.message), exc.status_code)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        text = exc.detail if isinstance(exc.detail, str) else phrase(exc.status_code)
        return JSONResponse(error_envelope(exc.status_code, text), exc.status_code, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        text = f"{where} is invalid: {first.get('msg', 'bad value')}"
        return JSONResponse(error_envelope(400, text), 400)
