"""The Cellcast API routes of the emulator (authentication and rate limit live in :mod:`.middleware`).

========================================================  ==========================================
``POST /api/v1/gateway``                                  send SMS (JSON; ``message`` or ``templateId``)
``POST /api/v1/gatewaymms``                               send MMS (multipart form)
``POST /api/v1/gateway/cancelScheduleQuickMessage``       cancel a scheduled message
``GET  /api/v2/report/message/{messageId}``               one message's detail and status
``GET  /api/v2/report/message``                           list messages (filters, pages)
``GET  /api/v1/user/token/verify``                        verify the token (echoed in ``data.token``)
``GET  /api/v1/apiClient/account``                        account and balances (meta envelope)
``GET  /api/v1/customNumber``                             registered senders (bare ``{"data": [...]}``)
``POST /api/v1/template``                                 create an SMS template (multipart form)
``GET  /api/v1/apiClient/getResponses``                   inbound replies (:mod:`.inbound_routes`)
``GET  /api/v1/apiClient/getOptout``                      the opt-out list (:mod:`.inbound_routes`)
========================================================  ==========================================

As live (public code that recorded live answers):

* Cancel answers "Job removed successfully" (lower-case r) in ``message`` and ``data.message``.
  An unknown ID (or an ID of the other type) answers HTTP 200 ``{"status": false, "message":
  "message not found", "data": {}, "error": {"error": "message not found"}}``; a message no longer
  scheduled answers the same shape with "Job not found or already processed".
* A report whose ID is not an ObjectId answers ``status: false``, "internal server error", a Mongo
  ``CastError`` in ``error``, with **HTTP 200** (the live HTTP code was not recorded: 200 is the
  emulator's choice, like every other ``status: false`` answer). The ``cast_error`` fault answers
  the same for a valid ID.
* Token verify echoes the token in ``data.token`` (the emulator never logs or journals it).

Choices where Cellcast's documentation is silent (clients must not rely on them live):

* An unknown (well-formed) message ID in a report answers like cancel's "message not found".
* The message list is newest first (creation time, then arrival order), ``limit`` 10 by default
  and at most :data:`MAX_PAGE_LIMIT`; the page fields are mongoose's (:mod:`.pages`: ``current``,
  no ``page`` key). Filters combine (all must match); ``fromDate``/``toDate`` are creation days in
  the account's time zone (``date_filter_zone="utc"``: UTC days); ``customString`` matches
  exactly, and an empty one matches only messages without a reference, unless
  ``list_filter_custom_string`` is false: then the list ignores it, as the live service may
  (the filter is documented only on a dev host). Pages are computed at each request.
* ``customNumber`` lists the registered senders, not ``#SharedNum#``.
* Template errors answer HTTP 203 with ``status: false`` (as live for templates).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from airflow_provider_cellcast.emulator import rules
from airflow_provider_cellcast.emulator.config import credits_json
from airflow_provider_cellcast.emulator.contacts import mask_json
from airflow_provider_cellcast.emulator.envelopes import app_envelope, cast_error_envelope, meta_envelope
from airflow_provider_cellcast.emulator.errors import ApiError, json_object
from airflow_provider_cellcast.emulator.middleware import JOURNAL_BODY_KEY, bearer_token
from airflow_provider_cellcast.emulator.models import StoredMessage
from airflow_provider_cellcast.emulator.pages import mongoose_page, query_int
from airflow_provider_cellcast.emulator.rules import RuleError
from airflow_provider_cellcast.emulator.sending import check_media, mms_fields, send
from airflow_provider_cellcast.emulator.state import EmulatorState
from airflow_provider_cellcast.emulator.timestamps import parse_date

logger = logging.getLogger("airflow_provider_cellcast.emulator")

#: Largest page size of the message list.
MAX_PAGE_LIMIT = 1000
#: Page size of the message list when ``limit`` is not given.
DEFAULT_PAGE_LIMIT = 10
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


async def _form(request: Request) -> Any:
    if not request.headers.get("content-type", "").lower().startswith(_FORM_TYPES):
        raise ApiError(400, "Request must be multipart/form-data")
    try:
        return await request.form()
    except AssertionError as error:
        # Starlette asserts that python-multipart is installed before it parses a form.
        raise ApiError(501, "The emulator needs python-multipart for forms: pip install python-multipart") from error


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
        if cancelled:
            return JSONResponse(app_envelope(True, text, {"message": text}))
        return JSONResponse(app_envelope(False, text, {}, {"error": text}))

    @router.post("/api/v1/gateway")
    async def send_sms(request: Request) -> JSONResponse:
        """Send (or schedule) an SMS to up to 1,000 contacts; ``templateId`` may replace ``message``."""
        return send(emulator, "sms", await json_object(request))

    @router.post("/api/v1/gatewaymms")
    async def send_mms(request: Request) -> JSONResponse:
        """Send an MMS: multipart form with ``media`` (jpg/png <= 230 KB) or ``gif`` (URL)."""
        fields, content, filename, journal, refusal = await mms_fields(await _form(request))
        request.scope[JOURNAL_BODY_KEY] = mask_json(journal)
        if refusal is not None:
            raise refusal
        return send(emulator, "mms", fields, lambda: check_media(content, filename, fields.get("gif")))

    @router.get("/api/v2/report/message/{message_id}")
    async def message_report(message_id: str) -> JSONResponse:
        """One message's detail and status; an ID that is not an ObjectId answers the live CastError."""
        try:
            canonical = rules.message_id(message_id, "messageId")
        except RuleError:
            return JSONResponse(cast_error_envelope(message_id))
        message = emulator.get_message(canonical)
        if message is None:
            return JSONResponse(app_envelope(False, rules.MESSAGE_NOT_FOUND, {}, {"error": rules.MESSAGE_NOT_FOUND}))
        return JSONResponse(app_envelope(True, "Success", message.report()))

    @router.get("/api/v2/report/message")
    async def message_list(request: Request) -> JSONResponse:
        """Messages newest first, one page: ``page``, ``limit``; filters ``campType`` (sms/mms),
        ``status`` ("delievered" accepted), ``fromDate``/``toDate`` (YYYY-MM-DD, creation day, inclusive)
        and ``customString`` (exact, unless the list is set to ignore it)."""
        params = request.query_params
        page = query_int(params, "page", 1, 1_000_000)
        limit = query_int(params, "limit", DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT)
        filters: dict[str, Any] = {}
        if params.get("campType"):
            filters["message_type"] = rules.message_type(params["campType"], "campType")
        if params.get("status"):
            filters["status"] = rules.message_status(params["status"], "status")
        if params.get("fromDate"):
            filters["from_date"] = parse_date(params["fromDate"], "fromDate")
        if params.get("toDate"):
            filters["to_date"] = parse_date(params["toDate"], "toDate")
        if "customString" in params and emulator.config.list_filter_custom_string:
            filters["custom_string"] = params["customString"]
        found = emulator.list_messages(**filters)
        return JSONResponse(app_envelope(True, "Success", page_of(found, page, limit)))

    @router.get("/api/v1/user/token/verify")
    async def verify_token(request: Request) -> JSONResponse:
        """Answer ``status: true`` and the token itself (the middleware answers 401 to a wrong one)."""
        return JSONResponse(app_envelope(True, "Token verified successfully!", {"token": bearer_token(request.scope)}))

    @router.get("/api/v1/apiClient/account")
    async def account() -> JSONResponse:
        """Account name, email and balances (decimals, as Cellcast shows them), in the meta envelope."""
        acc = emulator.account
        data = {
            "account_name": acc.name,
            "account_email": acc.email,
            "sms_balance": credits_json(acc.sms_balance),
            "mms_balance": credits_json(acc.mms_balance),
        }
        return JSONResponse(meta_envelope("Account details", data))

    @router.get("/api/v1/customNumber")
    async def custom_numbers() -> JSONResponse:
        """The account's registered senders: a bare ``{"data": [{"number", "name"}]}``, as live."""
        return JSONResponse({"data": [{"number": sender, "name": name} for sender, name in emulator.senders()]})

    @router.post("/api/v1/template")
    async def create_template(request: Request) -> JSONResponse:
        """Create an SMS template from a form (``name``, ``message``); errors are HTTP 203, status false."""
        try:
            form = await _form(request)
        except ApiError as error:
            return JSONResponse(app_envelope(False, error.message, {}), status_code=203)
        name, text = form.get("name"), form.get("message")
        for field, value in (("name", name), ("message", text)):
            if not isinstance(value, str) or not value.strip():
                return JSONResponse(app_envelope(False, f"{field} is required", {}), status_code=203)
        assert isinstance(name, str) and isinstance(text, str)
        template_id = emulator.add_template(text)
        data = {"_id": template_id, "name": name, "message": text}
        return JSONResponse(app_envelope(True, "Template created successfully", data))

    return router


def page_of(found: list[StoredMessage], page: int, limit: int) -> dict[str, Any]:
    """The list answer's ``data``: the items of one page and mongoose's page fields."""
    return mongoose_page(found, page, limit, _list_item)


def _list_item(message: StoredMessage) -> dict[str, Any]:
    return {**message.report(), "gateway_count": 1, "request_from": "API", "request_name": "Cellcast emulator"}
