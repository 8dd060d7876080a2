"""Sending: from the fields of a send request to the app envelope Cellcast answers.

Both send routes (``POST /api/v1/gateway``, JSON; ``POST /api/v1/gatewaymms``, multipart form,
read by :func:`mms_fields`) end in :func:`send`, which checks the fields against :mod:`.rules`
and :mod:`.contacts`, sorts the contacts into queued, invalid and unsubscribed, stores one
message per queued contact and answers ``data.queueResponse`` with one ``MessageId`` per contact
(``Contact``: the national number, ``Number``: the number as the request wrote it).

The rules, in the order they are checked (the first broken one answers):

1. ``message`` (or, for SMS, ``templateId``), then ``contacts``: an array of 1 to 1,000 entries.
   An entry in a shape Cellcast does not accept refuses the whole request (HTTP 400, the
   documented contacts message); impossible numbers are listed in ``invalidContacts``.
2. ``countryCode``, when given, is 61.
3. ``sender``: ``#SharedNum#`` (the default) or a sender registered to the account; any other
   refuses the whole request: HTTP 400 "Your sender id is not registered." (live).
4. ``customString``: letters, digits and dashes, at most 255 characters; otherwise HTTP 400
   (``custom_string_mode="refuse"``, the default) or silently stripped (``"strip"``).
5. ``scheduleAt`` (``Y-m-d H:i:s`` or ISO 8601) or ``delay`` (ms, at most 86,400,000), not both.
   A time without an offset is the account's local time (``account_timezone``, Australia/Sydney:
   as live, where a UTC "Y-m-d H:i:s" went out 10 hours off). With ``schedule_at_mode=
   "all-local"`` even ``Z`` and offsets are ignored and the wall time is read as local. A time
   not in the future sends at once. The report and the list show the time as understood, in UTC.
6. MMS: ``media`` (jpg/png by magic bytes, at most 230 KB) or ``gif`` (an http(s) URL), not both.
   ``scheduleAt``, ``delay`` and ``customString`` are not documented for MMS: they are ignored
   (``mms_schedule_fields="ignore"``, the default: an MMS is sent at once and has no reference),
   or read as for SMS with ``"honour"``. ``contacts`` is one form field holding a JSON array.
7. A request whose only contact is unsubscribed answers HTTP 200, ``status: false``, "Contact is
   Unsubscribed and can not receive messages." (live: not listed in ``unsubscribeContacts``).
   With more contacts, unsubscribed ones are listed there (national numbers, plain strings).
8. No valid contact left: HTTP 200, ``status: false``, with the usual ``data``.
9. One credit per SMS part (one per MMS) per recipient; too few credits: HTTP 422, status false.

A number given twice is queued once. ``replyStopToOptOut`` (SMS, boolean) is kept and shown as
the report's ``replyStop``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import FormData, UploadFile

from airflow_provider_cellcast.emulator import rules
from airflow_provider_cellcast.emulator.contacts import (
    CONTACTS_RULE,
    COUNTRY_CODE,
    check_contact,
    mask_phone,
    mask_text,
    national_number,
)
from airflow_provider_cellcast.emulator.envelopes import app_envelope
from airflow_provider_cellcast.emulator.models import InsufficientBalanceError
from airflow_provider_cellcast.emulator.rules import MAX_CONTACTS, MAX_MEDIA_BYTES, RuleError
from airflow_provider_cellcast.emulator.state import EmulatorState
from airflow_provider_cellcast.emulator.timestamps import format_timestamp, parse_timestamp

__all__ = ["UNSUBSCRIBED_CONTACT", "check_media", "media_kind", "mms_fields", "send"]

logger = logging.getLogger("airflow_provider_cellcast.emulator")

#: The answer to a request whose only contact is unsubscribed (live start, the emulator's end).
UNSUBSCRIBED_CONTACT = "Contact is Unsubscribed and can not receive messages."
_MMS_TEXT_FIELDS = ("message", "sender", "scheduleAt", "delay", "customString", "countryCode", "gif")


def _optional_str(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RuleError(name, f"{name} must be a string")
    return value


def _sender_of(state: EmulatorState, fields: Mapping[str, Any]) -> str | None:
    sender = _optional_str(fields, "sender")
    if sender is not None and not state.is_registered_sender(sender):
        raise RuleError("sender", rules.SENDER_NOT_REGISTERED)
    return sender


def _schedule_of(state: EmulatorState, fields: Mapping[str, Any]) -> datetime | None:
    schedule_raw = fields.get("scheduleAt")
    schedule_at = None
    if schedule_raw not in (None, ""):
        config = state.config
        schedule_at = parse_timestamp(
            schedule_raw, "scheduleAt", naive_tz=config.zone(), ignore_offset=config.schedule_at_mode == "all-local"
        )
    delay_ms = rules.delay_ms(fields.get("delay"), "delay")
    if schedule_at is not None and delay_ms:
        raise RuleError("scheduleAt", "Give either scheduleAt or delay, not both")
    if delay_ms:
        return state.now() + timedelta(milliseconds=delay_ms)
    return schedule_at


def _text_of(state: EmulatorState, message_type: str, fields: Mapping[str, Any]) -> str | None:
    """The message text; ``None`` for an unknown template."""
    template_id = fields.get("templateId")
    if message_type == "sms" and template_id not in (None, ""):
        return state.template(rules.message_id(template_id, "templateId"))
    text = fields.get("message")
    if text is None or (isinstance(text, str) and not text.strip()):
        raise RuleError("message", "message is required")
    if not isinstance(text, str):
        raise RuleError("message", "message must be a string")
    return text


def _contacts_of(fields: Mapping[str, Any]) -> list[Any]:
    contacts = fields.get("contacts")
    if contacts is None or contacts == "":
        raise RuleError("contacts", "contacts is required")
    if not isinstance(contacts, list):
        raise RuleError("contacts", "contacts must be an array")
    if not contacts:
        raise RuleError("contacts", "contacts must contain at least one number")
    if len(contacts) > MAX_CONTACTS:
        raise RuleError("contacts", f"contacts must contain at most {MAX_CONTACTS} numbers")
    return contacts


def send(
    state: EmulatorState,
    message_type: str,
    fields: Mapping[str, Any],
    media_check: Callable[[], str | None] | None = None,
) -> JSONResponse:
    """Check a send's ``fields``, store its messages, and answer as Cellcast does.

    :param message_type: ``"sms"`` or ``"mms"``.
    :param media_check: for MMS, checks the media once the other fields passed; returns what to store.
    :raises RuleError: a field is refused (HTTP 400).
    """
    config = state.config
    text = _text_of(state, message_type, fields)
    if text is None:
        return JSONResponse(app_envelope(False, "Template not found", {}))
    contacts = _contacts_of(fields)
    verdicts = [check_contact(raw, config.contacts_mode) for raw in contacts]
    if any(verdict.refuses_request for verdict in verdicts):
        raise RuleError("contacts", CONTACTS_RULE)
    country_code = fields.get("countryCode")
    if country_code not in (None, "") and str(country_code).strip().lstrip("+") != str(COUNTRY_CODE):
        raise RuleError("countryCode", f"countryCode must be {COUNTRY_CODE}")
    sender = _sender_of(state, fields)
    reads_schedule = message_type == "sms" or config.mms_schedule_fields == "honour"
    custom_string = None
    schedule_at = None
    if reads_schedule:
        custom_string = rules.custom_string(
            fields.get("customString"), config.custom_string_mode, config.custom_string_max_length
        )
        schedule_at = _schedule_of(state, fields)
    reply_stop = fields.get("replyStopToOptOut", False) if message_type == "sms" else False
    if not isinstance(reply_stop, bool):
        raise RuleError("replyStopToOptOut", "replyStopToOptOut must be true or false")
    media = media_check() if media_check else None

    valid: dict[str, str] = {}
    invalid: list[dict[str, Any]] = []
    unsubscribed: list[str] = []
    for verdict in verdicts:
        if verdict.number is None:
            invalid.append({"Contact": verdict.raw, "Error": verdict.error, "ErrorType": verdict.error_type})
        elif state.is_opted_out(verdict.number):
            unsubscribed.append(national_number(verdict.number))
        else:
            valid.setdefault(verdict.number, str(verdict.raw))
    if len(contacts) == 1 and unsubscribed:
        logger.info("send %s refused: its only contact is unsubscribed", message_type)
        return JSONResponse(app_envelope(False, UNSUBSCRIBED_CONTACT, {}))

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
            list(valid),
            text,
            sender=sender,
            schedule_at=schedule_at,
            custom_string=custom_string,
            media=media,
            reply_stop=reply_stop,
            submitted=list(valid.values()),
        )
    except InsufficientBalanceError as error:
        logger.info("send %s refused: %s", message_type, error.message)
        return JSONResponse(app_envelope(False, error.message, {}), status_code=422)
    queue = [
        {
            "Contact": national_number(m.receiver),
            "MessageId": m.id,
            "Result": "Message added to queue.",
            "Number": m.submitted,
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


def media_kind(content: bytes) -> str | None:
    """``"png"`` or ``"jpeg"`` by the file's magic bytes, else ``None``."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def check_media(content: bytes | None, filename: str | None, gif: Any) -> str:
    """Check an MMS's ``media`` file (jpg/png, at most 230 KB) or ``gif`` URL; return what to store."""
    if content is not None and gif not in (None, ""):
        raise RuleError("media", "give either media or gif, not both")
    if content is not None:
        kind = media_kind(content)
        if kind is None:
            raise RuleError("media", "media must be a jpg or png image")
        if len(content) > MAX_MEDIA_BYTES:
            raise RuleError("media", "media must be at most 230 KB")
        return filename or f"media.{'png' if kind == 'png' else 'jpg'}"
    if isinstance(gif, str) and gif:
        if not gif.startswith(("http://", "https://")):
            raise RuleError("gif", "gif must be an http(s) URL")
        return gif
    raise RuleError("media", "media or gif is required")


async def mms_fields(
    form: FormData,
) -> tuple[dict[str, Any], bytes | None, str | None, dict[str, Any], RuleError | None]:
    """Read an MMS form: ``(fields, media bytes, media file name, journal entry, refusal)``.

    The journal entry (masked by the caller) shows the form and the media's size and type, never
    its content. ``contacts`` must be one field holding a JSON array and ``media`` a file, or the
    refusal says why; the caller journals the form before it raises the refusal.
    """
    fields: dict[str, Any] = {}
    for name in _MMS_TEXT_FIELDS:
        value = form.get(name)
        if isinstance(value, str):
            fields[name] = value
    contact_values = form.getlist("contacts")
    media_value = form.get("media")
    journal: dict[str, Any] = dict(fields, contacts=[v if isinstance(v, str) else "<file>" for v in contact_values])
    content: bytes | None = None
    filename: str | None = None
    if isinstance(media_value, UploadFile):
        content = await media_value.read()
        filename = media_value.filename
        journal["media"] = {
            "filename": mask_text(filename or ""),
            "content_type": media_value.content_type,
            "size": len(content),
            "detected_type": media_kind(content),
        }
    elif media_value is not None:
        journal["media"] = "<not a file>"
    if len(contact_values) == 1 and isinstance(contact_values[0], str):
        try:
            parsed = json.loads(contact_values[0])
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            fields["contacts"] = journal["contacts"] = parsed
    refusal = None
    if media_value is not None and content is None:
        refusal = RuleError("media", "media must be a jpg or png file")
    elif contact_values and "contacts" not in fields:
        refusal = RuleError("contacts", "contacts must be one form field holding a JSON array of numbers")
    return fields, content, filename, journal, refusal
