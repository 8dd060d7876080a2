"""The results the client returns, as plain JSON-serialisable dicts for XCom, and their builders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypedDict

from airflow_provider_cellcast.contacts import InvalidContact
from airflow_provider_cellcast.exceptions import CellcastError

#: What happened to one message ID a cancel was asked for (the word "outcome" in logs and docs).
Outcome = Literal["cancelled", "already_cancelled", "failed"]
#: The ``message`` of a result an earlier try of the same task instance settled.
SETTLED_EARLIER = "settled by an earlier try of this task"


class SendResult(TypedDict):
    """What a send queued: one message ID per accepted contact, in the order Cellcast gave them.

    Phone numbers appear here masked (:func:`~airflow_provider_cellcast.validation.mask_phone`).
    """

    message_ids: list[str]
    queued: list[dict[str, str]]
    #: Contacts not sent: refused before sending (``rejected_by: "provider"``) or by Cellcast.
    invalid_contacts: list[InvalidContact]
    unsubscribed_contacts: list[str]
    #: The ``customString`` the messages carry, if any.
    reference: str | None
    #: True when the messages were found by their reference on a retry instead of being sent.
    adopted: bool
    #: The UTC day of the send (``YYYY-MM-DD``): lookups by reference start there (``fromDate``).
    sent_on: str | None


class CancelResult(TypedDict):
    """What happened to one message ID (JSON-serialisable, pushed to XCom)."""

    message_id: str
    type: str
    outcome: Outcome
    message: str | None
    error: str | None
    status_code: int | None


@dataclass(frozen=True)
class CancelAttempt:
    """One ID's :class:`CancelResult` plus, when it failed, the typed error behind it."""

    result: CancelResult
    error: CellcastError | None = field(default=None, compare=False)

    @property
    def message_id(self) -> str:
        return self.result["message_id"]


def cancel_result(
    message_id: str,
    message_type: str,
    outcome: Outcome,
    *,
    message: str | None = None,
    error: str | None = None,
    status_code: int | None = None,
) -> CancelResult:
    """A :class:`CancelResult` with every key present."""
    return {
        "message_id": message_id,
        "type": message_type,
        "outcome": outcome,
        "message": message,
        "error": error,
        "status_code": status_code,
    }


def failed_attempt(message_id: str, message_type: str, error: CellcastError) -> CancelAttempt:
    """The attempt of an ID whose cancel raised ``error``."""
    result = cancel_result(
        message_id, message_type, "failed", message=error.api_message, error=str(error), status_code=error.status_code
    )
    return CancelAttempt(result, error=error)


def empty_send_result(reference: str | None, *, adopted: bool = False, sent_on: str | None = None) -> SendResult:
    """A :class:`SendResult` that queued nothing (yet)."""
    return SendResult(
        message_ids=[],
        queued=[],
        invalid_contacts=[],
        unsubscribed_contacts=[],
        reference=reference,
        adopted=adopted,
        sent_on=sent_on,
    )
