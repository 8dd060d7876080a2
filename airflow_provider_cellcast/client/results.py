"""The results the client returns, as plain JSON-serialisable dicts for XCom, and their builders."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict, overload

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


_OUTCOME_CODES: tuple[Outcome | None, ...] = (None, "cancelled", "already_cancelled", "failed")
#: Distinct Cellcast texts kept per bulk cancel ("Job removed successfully"...): a server that
#: answered each ID with its own text could otherwise grow memory with the campaign.
_MAX_TEXTS = 1024


def _without_traceback(error: CellcastError) -> CellcastError:
    """The error without its frames (and its causes'): 100,000 tracebacks would be gigabytes."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__
    return error


class CancelOutcomes(Sequence[CancelAttempt]):
    """Every ID's outcome of one bulk cancel, in input order, stored compactly.

    A campaign can be 100,000 IDs: one :class:`CancelAttempt` (a dict and an exception) per ID
    would cost hundreds of bytes each. Kept instead: the IDs, one byte of outcome and four bytes
    of Cellcast's text per ID, and the full attempt of failed IDs only. Reading it as a sequence
    builds each :class:`CancelAttempt` on demand; :meth:`results` gives the XCom entries.
    """

    def __init__(self, ids: Sequence[str], message_type: str) -> None:
        self.ids = ids
        self.message_type = message_type
        self._codes = bytearray(len(ids))
        self._texts: list[str | None] = [None]
        self._text_index: dict[str | None, int] = {None: 0}
        self._text_of = array("I", bytes(4 * len(ids)))
        self._failures: dict[int, CancelAttempt] = {}

    def record(self, index: int, attempt: CancelAttempt) -> None:
        """Keep what happened to the ID at ``index``."""
        outcome = attempt.result["outcome"]
        self._codes[index] = _OUTCOME_CODES.index(outcome)
        if attempt.error is not None or outcome == "failed":
            if attempt.error is not None:
                _without_traceback(attempt.error)
            self._failures[index] = attempt
            return
        text = attempt.result["message"]
        position = self._text_index.get(text)
        if position is None and len(self._texts) < _MAX_TEXTS:
            position = self._text_index[text] = len(self._texts)
            self._texts.append(text)
        self._text_of[index] = position or 0

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> CancelAttempt: ...

    @overload
    def __getitem__(self, index: slice) -> list[CancelAttempt]: ...

    def __getitem__(self, index: int | slice) -> CancelAttempt | list[CancelAttempt]:
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        failure = self._failures.get(index)
        if failure is not None:
            return failure
        outcome = _OUTCOME_CODES[self._codes[index]]
        if outcome is None:
            raise LookupError(f"message {self.ids[index]} has no outcome yet")
        message = self._texts[self._text_of[index]]
        return CancelAttempt(cancel_result(self.ids[index], self.message_type, outcome, message=message))

    def __iter__(self) -> Iterator[CancelAttempt]:
        return (self[index] for index in range(len(self)))

    def results(self) -> Iterator[CancelResult]:
        """Every ID's :class:`CancelResult`, in input order (the XCom ``results`` entries)."""
        return (attempt.result for attempt in self)

    def failures(self) -> list[CancelAttempt]:
        """The failed attempts, in input order."""
        return [self._failures[index] for index in sorted(self._failures)]

    def counts(self) -> dict[str, int]:
        """How many IDs ended in each outcome."""
        counts = dict.fromkeys(("cancelled", "already_cancelled", "failed"), 0)
        for code in self._codes:
            outcome = _OUTCOME_CODES[code]
            if outcome is not None:
                counts[outcome] += 1
        return counts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CancelOutcomes({len(self)} IDs: {self.counts()})"


def summary_of(outcomes: CancelOutcomes, *, reference: str | None, shown: int = 100) -> dict[str, Any]:
    """A small summary of a bulk cancel for XCom ``return_value`` (the full list is in ``results``)."""
    failures = outcomes.failures()
    return {
        "total": len(outcomes),
        "message_type": outcomes.message_type,
        "outcomes": outcomes.counts(),
        "reference": reference,
        "failed": [
            {
                "message_id": attempt.message_id,
                "error": attempt.result["error"],
                "status_code": attempt.result["status_code"],
            }
            for attempt in failures[:shown]
        ],
        "failed_not_shown": max(0, len(failures) - shown),
        "results": "every ID's outcome is in the XCom 'results' of this task instance",
    }


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
