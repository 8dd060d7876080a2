"""The Cellcast API routes of the emulator (authentication and rate limit live in :mod:`.middleware`).

========================================================  ==========================================
``POST /api/v1/gateway``                                  send SMS (JSON; ``message`` or ``templateId``)
``POST /api/v1/gatewaymms``                               send MMS (multipart form)
``POST /api/v1/gateway/cancelScheduleQuickMessage``       cancel a scheduled message
``GET  /api/v2/report/message/{messageId}``               one message's detail and status
``GET  /api/v2/report/message``                           list messages (filters, pages)
``GET  /api/v1/user/token/verify``                        verify the token
``GET  /api/v1/apiClient/account``                        account and balances (meta envelope)
========================================================  ==========================================

Choices where Cellcast's documentation is silent (the emulator states them, clients must not
rely on them against the real service):

* An unknown message ID in a report answers HTTP 200 with ``status: false`` and "Message not
  found" (as cancelling an unknown ID was seen to do), not HTTP 404.
* Cancelling an unknown ID, an ID of the other type, or a message that is no longer scheduled
  answers HTTP 200, ``status: false``, ``data: {}``.
* The message list is newest first (creation time, then arrival order), ``limit`` 10 by default
  and at most :data:`MAX_PAGE_LIMIT`; a page past the last is empty. Filters combine (all must
  match); ``customString`` matches exactly, and an empty one matches only messages whose
  reference is empty (never every message). Pages are computed at each request: cancelling
  messages of a ``status=scheduled`` listing moves the later ones to earlier pages, so read every
  page before changing what the filter selects.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from airflow_provider_cellcast.emulator import rules
from airflow_provider_cellcast.emulator.contacts import mask_json
from airflow_provider_cellcast.emulator.envelopes import app_envelope, meta_envelope
from airflow_provider_cellcast.emulator.errors import ApiError, json_object
from airflow_provider_cellcast.emulator.middleware import JOURNAL_BODY_KEY
from airflow_provider_cellcast.emulator.models import StoredMessage
from airflow_provider_cellcast.emulator.rules import RuleError
from airflow_provider_cellcast.emulator.sending import check_media, send
from airflow_provider_cellcast.emulator.state import EmulatorState
from airflow_provider_cellcast.emulator.timestamps import parse_date

logger = logging.getLogger("airflow_provider_cellcast.emulator")

#: Largest page size of the message list.
MAX_PAGE_LIMIT = 1000
#: Page size of the message list when ``limit`` is not given.
DEFAULT_PAGE_LIMIT = 10


def api_router(emulator: EmulatorState) -> APIRouter:
    """The Cellcast API routes, answering from ``emulator``."""
    router = APIRouter(tags=["Cellcast API"])

    @router.post("/api/v1/gateway/cancelScheduleQuickMessage")
    async def cancel_scheduled_message(request: Request) -> JSONResponse:
        """Cancel a scheduled SMS or MMS: JSON ``{"messageId": "<24 hex>", "type": "sms"|"mms"}``."""
        body = await json_object(request)
        raw_id, raw_type = body.get("messageId"), body.get("type")
        if raw_id is None or raw_id == "":
            raise ApiError(400, "messageId is required")
        message_id = rules.message_id(raw_id, "messageId")
        if raw_type is None or raw_type == "":
            raise ApiError(400, "type is required")
        message_type = rules.message_type(raw_type, "type")
        cancelled, text = emulator.cancel(message_id, message_type)
        logger.info("cancel %s %s: %s", message_type, message_id, text)
        return JSONResponse(app_envelope(cancelled, text, {"message": text} if cancelled else {}))

    @router.post("/api/v1/gateway")
    async def send_sms(request: Request) -> JSONResponse:
        """Send (or schedule) an SMS to up to 1,000 contacts; ``templateId`` may replace ``message``."""
        return send(emulator, "sms", await json_object(request))

    @router.post("/api/v1/gatewaymms")
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
        request.scope[JOURNAL_BODY_KEY] = mask_json(journal)
        if contact_values and parsed_contacts is None:
            raise ApiError(400, "contacts must be a JSON array of numbers")
        if parsed_contacts is not None:
            fields["contacts"] = parsed_contacts
        content = await media_value.read() if isinstance(media_value, UploadFile) else None
        filename = media_value.filename if isinstance(media_value, UploadFile) else None
        return send(emulator, "mms", fields, lambda: check_media(content, filename, fields.get("gif")))

    @router.get("/api/v2/report/message/{message_id}")
    async def message_report(message_id: str) -> JSONResponse:
        """One message's detail and status; an unknown ID answers ``status: false`` (HTTP 200)."""
        canonical = rules.message_id(message_id, "messageId")
        message = emulator.get_message(canonical)
        if message is None:
            return JSONResponse(app_envelope(False, "Message not found", {}))
        return JSONResponse(app_envelope(True, "Success", message.report()))

    @router.get("/api/v2/report/message")
    async def message_list(request: Request) -> JSONResponse:
        """Messages newest first, one page: ``page``, ``limit``; filters ``campType`` (sms/mms),
        ``status`` ("delievered" accepted), ``fromDate``/``toDate`` (YYYY-MM-DD, creation day, inclusive)
        and ``customString`` (exact)."""
        params = request.query_params
        page = _query_int(request, "page", 1, 1_000_000)
        limit = _query_int(request, "limit", DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT)
        filters: dict[str, Any] = {}
        if params.get("campType"):
            filters["message_type"] = rules.message_type(params["campType"], "campType")
        if params.get("status"):
            filters["status"] = rules.message_status(params["status"], "status")
        if params.get("fromDate"):
            filters["from_date"] = parse_date(params["fromDate"], "fromDate")
        if params.get("toDate"):
            filters["to_date"] = parse_date(params["toDate"], "toDate")
        if "customString" in params:
            filters["custom_string"] = params["customString"]
        found = emulator.list_messages(**filters)
        return JSONResponse(app_envelope(True, "Success", page_of(found, page, limit)))

    @router.get("/api/v1/user/token/verify")
    async def verify_token() -> JSONResponse:
        """Answer ``status: true`` when the token is right (the middleware answers 401 otherwise)."""
        return JSONResponse(app_envelope(True, "Token verified successfully!", {}))

    @router.get("/api/v1/apiClient/account")
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

    return router


def page_of(found: list[StoredMessage], page: int, limit: int) -> dict[str, Any]:
    """The list answer's ``data``: the items of one page and the page fields."""
    total = len(found)
    total_pages = math.ceil(total / limit)
    return {
        "items": [_list_item(m) for m in found[(page - 1) * limit : page * limit]],
        "total": total,
        "page": page,
        "limit": limit,
        "totalPages": total_pages,
        "hasNextPage": page < total_pages,
        "nextPage": page + 1 if page < total_pages else None,
        "hasPrevPage": page > 1,
        "prevPage": page - 1 if page > 1 else None,
    }


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
        raise RuleError(name, f"{name} must be a whole number from 1 to {maximum}")
    return value
