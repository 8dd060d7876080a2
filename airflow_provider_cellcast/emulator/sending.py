"""Sending: from the fields of a send request to the app envelope Cellcast answers.

Both send routes (``POST /api/v1/gateway``, JSON; ``POST /api/v1/gatewaymms``, multipart form)
end in :func:`send`, which checks the fields against :mod:`.rules`, sorts the contacts into
queued, invalid and unsubscribed, stores one message per queued contact and answers
``data.queueResponse`` with one ``MessageId`` per contact.

Choices where Cellcast's documentation is silent:

* ``scheduleAt`` accepts ``Y-m-d H:i:s`` and ISO 8601; a time not in the future sends at once.
  Giving both ``scheduleAt`` and a non-zero ``delay`` is refused (HTTP 400).
* A send with no valid contact answers HTTP 200, ``status: false``, with the usual ``data``.
* One credit per SMS part (one per MMS) per recipient; too few credits: HTTP 422, status false.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from fastapi.responses import JSONResponse

from airflow_provider_cellcast.emulator import rules
from airflow_provider_cellcast.emulator.contacts import (
    COUNTRY_CODE,
    mask_phone,
    national_number,
    normalise_contact,
)
from airflow_provider_cellcast.emulator.envelopes import app_envelope
from airflow_provider_cellcast.emulator.errors import ApiError
from airflow_provider_cellcast.emulator.models import InsufficientBalanceError
from airflow_provider_cellcast.emulator.rules import MAX_CONTACTS, MAX_MEDIA_BYTES
from airflow_provider_cellcast.emulator.state import EmulatorState
from airflow_provider_cellcast.emulator.timestamps import format_timestamp, parse_timestamp

logger = logging.getLogger("airflow_provider_cellcast.emulator")

_ALPHA_SENDER_RE = re.compile(r"^[A-Za-z0-9 -]{1,11}$")
_NUMERIC_SENDER_RE = re.compile(r"^\+?\d{1,16}$")


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
        schedule_at = parse_timestamp(schedule_raw, "scheduleAt")
    delay_ms = rules.delay_ms(delay_raw, "delay")
    if schedule_at is not None and delay_ms:
        raise ApiError(400, "Give either scheduleAt or delay, not both")
    if delay_ms:
        return state.now() + timedelta(milliseconds=delay_ms)
    return schedule_at


def send(
    state: EmulatorState,
    message_type: str,
    fields: Mapping[str, Any],
    media_check: Callable[[], str | None] | None = None,
) -> JSONResponse:
    """Check a send's ``fields``, store its messages, and answer as Cellcast does.

    :param message_type: ``"sms"`` or ``"mms"``.
    :param media_check: for MMS, checks the media once the other fields passed; returns what to store.
    :raises ApiError: a field is refused (HTTP 400).
    """
    template_id = fields.get("templateId")
    if message_type == "sms" and template_id not in (None, ""):
        template_id = rules.message_id(template_id, "templateId")
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
    media = media_check() if media_check else None

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


def check_media(content: bytes | None, filename: str | None, gif: Any) -> str:
    """Check an MMS's ``media`` file (jpg/png, at most 230 KB) or ``gif`` URL; return what to store."""
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
