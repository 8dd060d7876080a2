"""The Cellcast API's rules, as the emulator reads them from Cellcast's documentation and live answers.

The emulator is a second, independent reading of the API facts: it imports nothing from the rest
of the provider (whose own rules live in ``airflow_provider_cellcast.validation``), so a contract
test that runs the provider against the emulator compares two readings, not one rule with itself.
Standard library only. Where the live service is stricter or stranger than its pages, so is the
emulator by default; the modes of :class:`~.config.EmulatorConfig` switch where it is uncertain.

========================  ===============================================================
message and template IDs  24 hexadecimal characters (MongoDB ObjectIds), e.g.
                          ``675161d8a000000000000000``; answers show them in lower case
message types             ``sms`` and ``mms``
contacts                  see :mod:`.contacts`: ``61``/``+61`` and 11 digits, or 9 digits
                          (``4xxxxxxxx``); other shapes refuse the whole request (400); at
                          most 1,000 per request
``customString``          letters, digits and dashes only (``[A-Za-z0-9-]``), at most
                          :data:`MAX_CUSTOM_STRING_LENGTH` characters (the emulator's choice)
``sender``                ``#SharedNum#`` (the default) or a sender registered to the
                          account; alphanumeric at most 11 characters, numeric at most 16
``delay``                 whole milliseconds, at most 86,400,000 (24 hours)
MMS media                 jpg or png (by magic bytes), at most 230 KB
statuses                  ``scheduled, queued, sent, delivered, failed, rejected, expired,
                          blocked, received, canceled, dead`` (and ``aborted, unknown,
                          pending`` of the v3 API); the list filter spells "delievered"
STOP replies              :data:`STOP_WORDS`, trimmed, any case
========================  ===============================================================

Example::

    assert message_id(" 675161D8A000000000000000 ") == "675161d8a000000000000000"
    assert message_status("delievered") == "delivered"
    assert custom_string("run/7", "strip") == "run7"
    assert mask_phone("+61400000678") == "+*********678"
"""

from __future__ import annotations

import re
from typing import Any

#: Length of a Cellcast message or template ID (a MongoDB ObjectId in hex). One page of the
#: docs shows a 25-character example: a typo, refused here.
MESSAGE_ID_LENGTH = 24
#: Message types of the cancel body (``type``) and the list filter (``campType``).
MESSAGE_TYPES: tuple[str, ...] = ("sms", "mms")
#: Most numbers one send request may carry in ``contacts``.
MAX_CONTACTS = 1000
#: Largest ``delay`` of a send, in milliseconds (24 hours).
MAX_DELAY_MS = 86_400_000
#: The only ``countryCode`` documented for this API (Australia).
COUNTRY_CODE = 61
#: The documented forms of one contact, all meaning the same number.
CONTACT_FORMS: tuple[str, ...] = ("+61400000000", "61400000000", "0400000000", "400000000")
#: Largest MMS ``media`` file, in bytes.
MAX_MEDIA_BYTES = 230 * 1024
#: Message statuses seen in Cellcast's documentation and live data.
MESSAGE_STATUSES: tuple[str, ...] = (
    "scheduled",
    "queued",
    "sent",
    "delivered",
    "failed",
    "rejected",
    "expired",
    "blocked",
    "received",
    "canceled",
    "dead",
    "aborted",
    "unknown",
    "pending",
)
#: Statuses a message never leaves (``dead``: Cellcast's webhook page calls it a final failure).
FINAL_STATUSES: frozenset[str] = frozenset(
    {"delivered", "failed", "rejected", "expired", "blocked", "received", "canceled", "dead", "aborted", "unknown"}
)
#: Other spellings accepted for a status: Cellcast's filter list writes "delievered", and
#: people write "cancelled".
STATUS_ALIASES: dict[str, str] = {"delievered": "delivered", "cancelled": "canceled"}
#: Cancel's live success wording (lower-case r; the docs page writes "Job Removed successfully").
CANCEL_SUCCESS = "Job removed successfully"
#: Cancel's live answer to an unknown ID (HTTP 200, ``status: false``).
MESSAGE_NOT_FOUND = "message not found"
#: The sender every account may use (Cellcast's shared number pool); a send without ``sender`` uses it.
SHARED_SENDER = "#SharedNum#"
#: The answer to a sender the account has not registered (live wording, HTTP 400).
SENDER_NOT_REGISTERED = "Your sender id is not registered."
#: Longest ``customString`` the emulator keeps. Cellcast documents none; 255 (a common column
#: size) is the emulator's choice, so that an unbounded reference is caught somewhere.
MAX_CUSTOM_STRING_LENGTH = 255
#: What ``customString`` may hold: letters, digits and dashes (Quick Send page, v3 API).
CUSTOM_STRING_ALPHABET = "A-Z, a-z, 0-9 and -"
#: ``customString`` modes: refuse a reference with other characters (HTTP 400), or strip them.
CUSTOM_STRING_MODES: tuple[str, ...] = ("refuse", "strip")
#: Reply bodies (trimmed, any case) that unsubscribe the number that sent them.
STOP_WORDS: frozenset[str] = frozenset({"stop", "stop all", "stopall", "unsubscribe", "opt out", "optout"})
#: How many trailing digits of a phone number logs and the journal still show.
VISIBLE_PHONE_DIGITS = 3

_HEX_ID_RE = re.compile(rf"^[0-9a-f]{{{MESSAGE_ID_LENGTH}}}$")
_CUSTOM_STRING_RE = re.compile(r"^[A-Za-z0-9-]*$")
_NOT_CUSTOM_STRING_RE = re.compile(r"[^A-Za-z0-9-]")
_ALPHA_SENDER_RE = re.compile(r"^[A-Za-z0-9 -]{1,11}$")
_NUMERIC_SENDER_RE = re.compile(r"^\+?\d{1,16}$")


class EmulatorStateError(ValueError):
    """A request the emulator refuses; ``status_code`` is the HTTP answer (400 unless said).

    The app answers it in Cellcast's error envelope, ``{"code", "message", "stack"}``.
    """

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class RuleError(EmulatorStateError):
    """A value the API's rules refuse (HTTP 400); ``field`` names the request field.

    Routes and the state raise it as they check values; one exception handler of the app answers
    it (:func:`.errors.install_error_handlers`), so nothing converts it by hand.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, 400)
        self.field = field


def message_id(value: Any, field: str = "messageId") -> str:
    """Return ``value`` as a canonical ID (stripped, lower case), or raise :class:`RuleError`."""
    candidate = value.strip().lower() if isinstance(value, str) else None
    if candidate is None or not _HEX_ID_RE.match(candidate):
        raise RuleError(field, f"{field} is invalid: use {MESSAGE_ID_LENGTH} hexadecimal characters")
    return candidate


def message_type(value: Any, field: str = "type") -> str:
    """Return ``"sms"`` or ``"mms"`` (any case, spaces around allowed), or raise :class:`RuleError`."""
    candidate = value.strip().lower() if isinstance(value, str) else None
    if candidate not in MESSAGE_TYPES:
        raise RuleError(field, f"{field} must be one of {', '.join(MESSAGE_TYPES)}")
    return candidate


def message_status(value: Any, field: str = "status") -> str:
    """Return a canonical status (accepting "delievered" and "cancelled"), or raise :class:`RuleError`."""
    text = value.strip().lower() if isinstance(value, str) else ""
    status = STATUS_ALIASES.get(text, text)
    if status not in MESSAGE_STATUSES:
        raise RuleError(field, f"{field} must be one of {', '.join(MESSAGE_STATUSES)}")
    return status


def delay_ms(value: Any, field: str = "delay") -> int:
    """Return a send's ``delay`` as whole milliseconds (0 to :data:`MAX_DELAY_MS`), or raise :class:`RuleError`.

    JSON numbers and digit strings (multipart forms carry strings) are accepted; ``None`` and
    ``""`` mean no delay.
    """
    if value is None or value == "":
        return 0
    parsed: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        parsed = value
    elif isinstance(value, float) and value.is_integer():
        parsed = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        parsed = int(value.strip())
    if parsed is None or not 0 <= parsed <= MAX_DELAY_MS:
        raise RuleError(field, f"{field} must be a whole number of milliseconds from 0 to {MAX_DELAY_MS}")
    return parsed


def custom_string(value: Any, mode: str = "refuse", max_length: int | None = MAX_CUSTOM_STRING_LENGTH) -> str | None:
    """A send's ``customString`` as Cellcast keeps it; ``None`` and ``""`` mean no reference.

    ``mode="refuse"``: a character outside ``[A-Za-z0-9-]`` refuses the request (HTTP 400).
    ``mode="strip"``: such characters are dropped silently, and the rest is the reference (none
    if nothing is left). Either way a reference longer than ``max_length`` is refused.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RuleError("customString", "customString must be a string")
    if mode == "strip":
        value = _NOT_CUSTOM_STRING_RE.sub("", value)
        if not value:
            return None
    elif not _CUSTOM_STRING_RE.match(value):
        raise RuleError(
            "customString", f"customString may contain only letters, numbers and dashes ({CUSTOM_STRING_ALPHABET})"
        )
    if max_length is not None and len(value) > max_length:
        raise RuleError("customString", f"customString must be at most {max_length} characters")
    return value


def sender_id(value: Any, field: str = "sender") -> str:
    """A sender ID fit to register: up to 11 of ``A-Z a-z 0-9``, space and dash, or up to 16 digits."""
    candidate = value.strip() if isinstance(value, str) else None
    if candidate is None or not (_NUMERIC_SENDER_RE.match(candidate) or _ALPHA_SENDER_RE.match(candidate)):
        raise RuleError(
            field, f"{field} is invalid: use up to 16 digits, or up to 11 characters from A-Z a-z 0-9, space and dash"
        )
    return candidate


def is_stop_reply(body: Any) -> bool:
    """Whether an inbound reply unsubscribes its sender (:data:`STOP_WORDS`, trimmed, any case)."""
    return isinstance(body, str) and " ".join(body.split()).lower() in STOP_WORDS


def mask_phone(value: Any) -> str:
    """A phone number fit for the emulator's logs and journal: all digits but the last three hidden.

    ``"+61400000678"`` -> ``"+*********678"``. Non-digits (``+``, spaces) stay, so the shape of
    what a client sent remains visible.
    """
    text = str(value)
    to_hide = max(0, sum(ch.isdigit() for ch in text) - VISIBLE_PHONE_DIGITS)
    out = []
    for ch in text:
        if ch.isdigit() and to_hide:
            to_hide -= 1
            out.append("*")
        else:
            out.append(ch)
    return "".join(out)
