"""What the emulator stores for the Cellcast account: messages and the account itself.

Standard library only. :class:`StoredMessage` knows how Cellcast shows a message (the report's
``data``); :class:`~.state.EmulatorState` decides when it changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_cellcast.emulator.contacts import national_number
from airflow_provider_cellcast.emulator.rules import EmulatorStateError
from airflow_provider_cellcast.emulator.timestamps import format_timestamp

__all__ = [
    "DEFAULT_TEMPLATE_ID",
    "DEFAULT_TEMPLATE_TEXT",
    "Account",
    "InsufficientBalanceError",
    "StoredMessage",
    "sms_parts",
]

#: A template known to every fresh emulator, for template sends.
DEFAULT_TEMPLATE_ID = "66bd9fb66b9668f9a3648355"
DEFAULT_TEMPLATE_TEXT = "Hello from the Cellcast emulator template. Reply STOP to opt-out"


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
    """The Cellcast account the token belongs to."""

    name: str
    email: str
    sms_balance: int
    mms_balance: int


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

    def report(self) -> dict[str, Any]:
        """The message as ``GET /api/v2/report/message/{id}`` shows it (``data``)."""
        return {
            "_id": self.id,
            "status": self.status,
            "replyStop": False,
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
