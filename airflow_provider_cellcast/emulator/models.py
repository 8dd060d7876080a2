"""What the emulator stores for the Cellcast account: messages and the account itself.

Standard library only. :class:`StoredMessage` knows how Cellcast shows a message (the report's
``data``); :class:`~.state.EmulatorState` decides when it changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from airflow_provider_cellcast.emulator import rules
from airflow_provider_cellcast.emulator.contacts import national_number, normalise_contact
from airflow_provider_cellcast.emulator.rules import EmulatorStateError, RuleError
from airflow_provider_cellcast.emulator.timestamps import format_timestamp, parse_timestamp

__all__ = [
    "DEFAULT_TEMPLATE_ID",
    "DEFAULT_TEMPLATE_TEXT",
    "Account",
    "InsufficientBalanceError",
    "StoredMessage",
    "parse_seed",
    "sms_parts",
]

#: A template known to every fresh emulator, for template sends.
DEFAULT_TEMPLATE_ID = "66bd9fb66b9668f9a3648355"
DEFAULT_TEMPLATE_TEXT = "Hello from the Cellcast emulator template. Reply STOP to opt-out"
#: Fields a seeded message may give (``POST /_emulator/messages``).
SEED_FIELDS = frozenset(
    {
        "_id", "id", "type", "status", "message", "sender", "receiver", "scheduleAt", "send_time", "createdAt",
        "customString", "media", "auto_advance", "replyStop",
    }
)  # fmt: skip


class InsufficientBalanceError(EmulatorStateError):
    """The account has too few credits for a send (Cellcast answers HTTP 422, status false)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 422)


def sms_parts(text: str) -> int:
    """How many SMS parts a text takes: 160/153 characters in GSM, 70/67 in UCS-2."""
    single, multi = (160, 153) if all(ord(ch) < 128 for ch in text) else (70, 67)
    return 1 if len(text) <= single else math.ceil(len(text) / multi)


@dataclass
class Account:
    """The Cellcast account the token belongs to; balances in credits, to the cent."""

    name: str
    email: str
    sms_balance: Decimal
    mms_balance: Decimal


@dataclass
class StoredMessage:
    """One message (one recipient) as the emulator keeps it."""

    id: str
    type: str
    status: str
    message: str
    sender: str
    receiver: str
    created_at: datetime
    updated_at: datetime
    schedule_at: datetime | None = None
    send_time: datetime | None = None
    custom_string: str | None = None
    media: str | None = None
    credits: int = 1
    auto_advance: bool = True
    sequence: int = 0
    reply_stop: bool = False
    #: The contact as the send request wrote it (``queueResponse[].Number``).
    submitted: str | None = None

    def report(self) -> dict[str, Any]:
        """The message as ``GET /api/v2/report/message/{id}`` shows it (``data``)."""
        return {
            "_id": self.id,
            "status": self.status,
            "replyStop": self.reply_stop,
            "message": self.message,
            "sender": self.sender,
            "receiver": national_number(self.receiver),
            "smsDetail": {
                "_id": self.id,
                "messagelength": len(self.message),
                "smscount": sms_parts(self.message) if self.type == "sms" else 1,
                "deductibleCredit": self.credits,
            },
            "creditAmount": self.credits,
            "createdAt": format_timestamp(self.created_at),
            "updatedAt": format_timestamp(self.updated_at),
            "send_time": format_timestamp(self.send_time),
            "scheduleAt": format_timestamp(self.schedule_at),
            "customerResponse": None,
            "customString": self.custom_string,
            "media": self.media,
        }

    def control_view(self) -> dict[str, Any]:
        """The report plus what only the control plane shows (type, full receiver, auto_advance)."""
        return {**self.report(), "type": self.type, "receiver_e164": self.receiver, "auto_advance": self.auto_advance}


def parse_seed(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Check a seeded message's control-plane fields; return :class:`StoredMessage` keyword values.

    Times without an offset are UTC (the control plane's reading, not the API's). The caller
    fills in what depends on the clock (``created_at``, a missing ``schedule_at``...) and the ID.
    """
    unknown = sorted(set(spec) - SEED_FIELDS)
    if unknown:
        raise RuleError(unknown[0], f"unknown message field(s): {', '.join(unknown)}")
    raw_id = spec.get("_id", spec.get("id"))
    receiver = normalise_contact(spec.get("receiver", "+61400000000"))
    if receiver.number is None:
        raise RuleError("receiver", f"receiver is invalid: {receiver.error}")
    text = spec.get("message", "Message seeded into the Cellcast emulator")
    values: dict[str, Any] = {
        "id": rules.message_id(raw_id, "_id") if raw_id is not None else None,
        "type": rules.message_type(spec.get("type", "sms"), "type"),
        "status": rules.message_status(spec.get("status", "scheduled"), "status"),
        "message": text,
        "sender": spec.get("sender") or rules.SHARED_SENDER,
        "receiver": receiver.number,
        "custom_string": spec.get("customString"),
        "media": spec.get("media"),
    }
    for name, value in (("message", text), ("sender", values["sender"]), ("customString", values["custom_string"]),
                        ("media", values["media"])):  # fmt: skip
        if value is not None and not isinstance(value, str):
            raise RuleError(name, f"{name} must be a string")
    for name, key in (("auto_advance", "auto_advance"), ("replyStop", "reply_stop")):
        flag = spec.get(name, name == "auto_advance")
        if not isinstance(flag, bool):
            raise RuleError(name, f"{name} must be true or false")
        values[key] = flag
    for name, key in (("createdAt", "created_at"), ("scheduleAt", "schedule_at"), ("send_time", "send_time")):
        values[key] = parse_timestamp(spec[name], name) if spec.get(name) else None
    values["credits"] = sms_parts(text) if values["type"] == "sms" else 1
    return values
