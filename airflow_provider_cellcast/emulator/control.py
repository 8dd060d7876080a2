"""The emulator's control plane under ``/_emulator/``: drive the emulator from tests.

No authentication (never expose it beyond loopback); not part of Cellcast's API, so the
middleware neither journals, counts, rate-limits nor faults these requests.

=======================================  ========================================================
``GET  health``                          liveness probe
``POST reset``                           forget messages, replies, opt-outs, faults, journal,
                                         counters, clock offset; restore settings, senders and
                                         balances
``GET|POST config``                      settings and modes (never the token) and balances
``GET|POST clock``                       the emulator's time; ``advance_seconds`` or ``now``
``GET|POST messages``                    every stored message; seed one without charging
``GET  messages/{id}``                   one stored message (404 when unknown)
``POST messages/{id}/status``            give a message another status now (``dead``...)
``GET|POST|DELETE faults``               pending faults; register one; remove all
``GET|DELETE requests``                  the request journal (last 1,000 API requests)
``GET|DELETE stats``                     request counters: per path, per status, 429s
``POST templates``                       store an SMS template
``GET|POST senders``                     registered sender IDs; register one
``GET|POST optouts``                     the opt-out list; unsubscribe numbers
``GET|POST replies``                     inbound replies; inject one (STOP unsubscribes)
=======================================  ========================================================

Times the control plane reads (``now``, ``scheduleAt`` of a seeded message, ``received_at``)
are UTC unless they carry an offset: the account's time zone applies to the Cellcast API only.
Phone numbers in its answers are masked where they echo what a test sent (``optouts``), and
shown in full where a test reads stored state (``messages``, ``replies``).

OpenAPI docs at ``/_emulator/docs``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from airflow_provider_cellcast.emulator import rules
from airflow_provider_cellcast.emulator.config import credits_json
from airflow_provider_cellcast.emulator.contacts import mask_phone
from airflow_provider_cellcast.emulator.errors import ApiError, json_object
from airflow_provider_cellcast.emulator.inbound import Reply
from airflow_provider_cellcast.emulator.state import EmulatorState
from airflow_provider_cellcast.emulator.timestamps import format_timestamp

logger = logging.getLogger("airflow_provider_cellcast.emulator")

#: Where the control plane lives.
CONTROL_PREFIX = "/_emulator"
_UNSET: Any = object()


def control_router(emulator: EmulatorState) -> APIRouter:
    """The ``/_emulator/`` routes, acting on ``emulator``."""
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["Emulator control plane"])

    @router.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness probe."""
        return {"status": "ok"}

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        """Forget messages, faults, journal, counters, opt-outs, clock offset; restore settings and balances."""
        emulator.reset()
        return {"reset": True}

    @router.get("/config")
    async def get_config() -> dict[str, Any]:
        """Current settings (never the token) and balances."""
        return _config_view(emulator)

    @router.post("/config")
    async def set_config(request: Request) -> dict[str, Any]:
        """Change settings and modes (``EmulatorConfig.RUNTIME_FIELDS``: ``rate_limit_per_second``,
        ``contacts_mode``, ``custom_string_mode``, ``schedule_at_mode``, ``sms_balance``...); all or nothing."""
        emulator.configure(**await json_object(request))
        return _config_view(emulator)

    @router.get("/clock")
    async def get_clock() -> dict[str, Any]:
        """The emulator's time and its offset from the real clock."""
        return _clock_view(emulator)

    @router.post("/clock")
    async def set_clock(request: Request) -> dict[str, Any]:
        """``{"advance_seconds": N}`` moves time forward; ``{"now": "<time>"}`` sets it."""
        body = await json_object(request)
        advance = body.get("advance_seconds", _UNSET)
        target = body.get("now", _UNSET)
        if (advance is _UNSET) == (target is _UNSET):
            raise ApiError(400, "give exactly one of advance_seconds or now")
        if advance is not _UNSET:
            if isinstance(advance, bool) or not isinstance(advance, (int, float)):
                raise ApiError(400, "advance_seconds must be a number")
            emulator.advance_clock(float(advance))
        else:
            emulator.set_clock(target)
        return _clock_view(emulator)

    @router.post("/messages")
    async def seed_message(request: Request) -> JSONResponse:
        """Store a message (``_id``, ``type``, ``status``, ``scheduleAt``, ...) without charging credits."""
        message = emulator.seed_message(await json_object(request))
        return JSONResponse(message.control_view(), status_code=201)

    @router.get("/messages")
    async def all_messages() -> dict[str, Any]:
        """Every stored message, newest first."""
        return {"messages": [m.control_view() for m in emulator.list_messages()]}

    @router.get("/messages/{message_id}")
    async def one_message(message_id: str) -> dict[str, Any]:
        """One stored message (with ``type`` and the full receiver); 404 when unknown."""
        message = emulator.get_message(message_id)
        if message is None:
            raise ApiError(404, "Message not found")
        return message.control_view()

    @router.post("/messages/{message_id}/status")
    async def set_status(message_id: str, request: Request) -> dict[str, Any]:
        """``{"status": "dead", "auto_advance": optional bool}``: the message's status from now on."""
        body = await json_object(request)
        message = emulator.set_status(message_id, body.get("status"), auto_advance=body.get("auto_advance"))
        return message.control_view()

    @router.post("/faults")
    async def add_fault(request: Request) -> JSONResponse:
        """Register a fault: ``kind`` plus ``count``, ``message_id``, ``path``, ``method``, ``status``,
        ``retry_after``, ``latency_ms``, ``hang_seconds``, ``when``, ``message``, ``body``."""
        fault = emulator.add_fault(await json_object(request))
        return JSONResponse(fault.describe(), status_code=201)

    @router.get("/faults")
    async def list_faults() -> dict[str, Any]:
        """Faults still pending."""
        return {"faults": [f.describe() for f in emulator.faults()]}

    @router.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        """Remove every pending fault."""
        emulator.clear_faults()
        return {"faults": []}

    @router.get("/requests")
    async def request_journal() -> dict[str, Any]:
        """API requests received (oldest first, the last 1,000; phone numbers masked; tokens never recorded)."""
        return {"requests": emulator.journal()}

    @router.delete("/requests")
    async def clear_journal() -> dict[str, Any]:
        """Empty the request journal (the counters of ``stats`` stay)."""
        emulator.clear_journal()
        return {"requests": []}

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        """Counters since the last reset, never truncated: ``requests``, ``by_path``, ``by_status``
        (keys are status codes as strings), ``rate_limited`` (429s answered by the rate limit),
        ``in_flight`` and ``peak_in_flight`` (most requests handled at once)."""
        return emulator.stats()

    @router.delete("/stats")
    async def clear_stats() -> dict[str, Any]:
        """Zero the counters."""
        emulator.clear_stats()
        return emulator.stats()

    @router.post("/templates")
    async def add_template(request: Request) -> JSONResponse:
        """Store an SMS template: ``{"text": "...", "id": optional 24 hex}``; answers its ``id``."""
        body = await json_object(request)
        text, template_id = body.get("text"), body.get("id")
        if not isinstance(text, str) or (template_id is not None and not isinstance(template_id, str)):
            raise ApiError(400, "text must be a string, and id a 24-hex string when given")
        template_id = emulator.add_template(text, template_id)
        return JSONResponse({"id": template_id}, status_code=201)

    @router.get("/senders")
    async def senders() -> dict[str, Any]:
        """Registered sender IDs (``#SharedNum#`` is always allowed and not listed)."""
        return {"senders": [{"sender": sender, "name": name} for sender, name in emulator.senders()]}

    @router.post("/senders")
    async def register_sender(request: Request) -> JSONResponse:
        """Register a sender ID: ``{"sender": "ACME", "name": optional}``."""
        body = await json_object(request)
        sender, name = emulator.register_sender(body.get("sender"), body.get("name"))
        return JSONResponse({"sender": sender, "name": name}, status_code=201)

    @router.get("/optouts")
    async def list_optouts() -> dict[str, Any]:
        """The opt-out list, newest first, as ``getOptout`` shows its items."""
        return {"optouts": [optout.item() for optout in emulator.optouts()]}

    @router.post("/optouts")
    async def add_optouts(request: Request) -> dict[str, Any]:
        """Unsubscribe numbers: ``{"numbers": ["614...", {"number": ..., "first_name": ..., "last_name": ...}]}``."""
        numbers = (await json_object(request)).get("numbers")
        if not isinstance(numbers, list):
            raise ApiError(400, "numbers must be an array")
        added = emulator.add_optouts(numbers)
        return {"numbers": [mask_phone(n) for n in added]}

    @router.get("/replies")
    async def list_replies() -> dict[str, Any]:
        """Every reply as stored: ``from`` (E.164), ``body``, ``received_at`` (UTC), ``message_id``."""
        return {"replies": [_reply_view(reply) for reply in emulator.replies()]}

    @router.post("/replies")
    async def inject_reply(request: Request) -> JSONResponse:
        """Receive a reply: ``{"from": "614...", "body": "STOP", "message_id": opt., "received_at": opt.}``."""
        body = await json_object(request)
        reply = emulator.inject_reply(
            body.get("from"), body.get("body"), body.get("message_id"), body.get("received_at")
        )
        logger.info(
            "reply injected from %s%s", mask_phone(reply.sender), " (STOP)" if rules.is_stop_reply(reply.body) else ""
        )
        return JSONResponse(_reply_view(reply), status_code=201)

    return router


def _config_view(state: EmulatorState) -> dict[str, Any]:
    acc = state.account
    return {
        **state.config.public(),
        "sms_balance": credits_json(acc.sms_balance),
        "mms_balance": credits_json(acc.mms_balance),
    }


def _reply_view(reply: Reply) -> dict[str, Any]:
    return {
        "from": reply.sender,
        "body": reply.body,
        "received_at": format_timestamp(reply.received_at),
        "message_id": reply.message_id,
        "opted_out": rules.is_stop_reply(reply.body),
    }


def _clock_view(state: EmulatorState) -> dict[str, Any]:
    return {"now": format_timestamp(state.now()), "offset_seconds": state.clock_offset_seconds}
