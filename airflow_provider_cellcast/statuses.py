"""Cellcast's message statuses, and when a message is "there" or will never get there: stated once.

The vocabulary (known statuses, spellings, which statuses a cancel can still change) and the
rules the status sensor (poke and reschedule modes) and its trigger (deferrable mode) decide with,
so that the three modes and the client's cancel cannot disagree. No I/O here: the client looks
the statuses up (:func:`airflow_provider_cellcast.client.reports.check_statuses`). Imports only
the provider's exceptions and :mod:`~airflow_provider_cellcast.texts`, so that DAG files
importing the sensor stay light.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_cellcast.exceptions import CellcastInputError
from airflow_provider_cellcast.texts import first_and_more

#: Statuses Cellcast reports (docs and live data), in canonical spelling. ``dead`` (a final
#: failure) comes from the webhook page; ``aborted`` and ``unknown`` from the older v3 API;
#: ``pending`` is a message not yet handed on, like ``queued``.
KNOWN_STATUSES: frozenset[str] = frozenset(
    {
        "scheduled", "queued", "pending", "sent", "delivered", "failed", "rejected", "expired", "blocked",
        "dead", "aborted", "unknown", "received", "canceled",
    }
)  # fmt: skip
#: Cellcast's filter list spells "delievered"; people (and our own hook) write "cancelled".
STATUS_ALIASES: Mapping[str, str] = {"delievered": "delivered", "cancelled": "canceled"}
#: Statuses after which a message will not be delivered.
DEFAULT_FAILURE_STATUSES: frozenset[str] = frozenset({"failed", "rejected", "expired", "blocked", "dead", "aborted"})
#: Pseudo-status for an ID Cellcast does not know on this account.
NOT_FOUND = "not_found"
#: The status of a scheduled message that was cancelled (Cellcast's spelling).
CANCELED = "canceled"
#: The only status a cancel can still change.
CANCELABLE = "scheduled"

_FINAL_FAILURES = frozenset({"failed", "rejected", "expired", "blocked", "dead", "aborted"})
_OUTCOMES_AFTER_SENDING = frozenset({"sent", "delivered"} | _FINAL_FAILURES)
#: Statuses a message in a given status may still reach (itself included). A status missing here
#: (``unknown`` among them) is not understood: the rules keep waiting on it rather than guess.
_REACHABLE: Mapping[str, frozenset[str]] = {
    "scheduled": frozenset({"scheduled", "queued", "pending", "canceled"} | _OUTCOMES_AFTER_SENDING),
    "queued": frozenset({"queued", "pending"} | _OUTCOMES_AFTER_SENDING),
    "pending": frozenset({"queued", "pending"} | _OUTCOMES_AFTER_SENDING),
    "sent": _OUTCOMES_AFTER_SENDING,
    "delivered": frozenset({"delivered"}),
    "failed": frozenset({"failed"}),
    "rejected": frozenset({"rejected"}),
    "expired": frozenset({"expired"}),
    "blocked": frozenset({"blocked"}),
    "dead": frozenset({"dead"}),
    "aborted": frozenset({"aborted"}),
    "received": frozenset({"received"}),
    "canceled": frozenset({"canceled"}),
}
#: A later stage of the delivery path satisfies a target of an earlier stage: a message found
#: ``delivered`` certainly was ``sent``, so a sensor waiting for ``sent`` must not fail on it.
_ALSO_SATISFIES: Mapping[str, frozenset[str]] = {
    "queued": frozenset({"pending"}),
    "sent": frozenset({"queued", "pending"}),
    "delivered": frozenset({"queued", "pending", "sent"}),
}

Verdict = Literal["done", "failed", "waiting"]


def normalise_status(value: Any) -> str:
    """The canonical spelling of a status (lower case, aliases resolved); unknown text is kept."""
    text = str(value or "").strip().lower()
    return STATUS_ALIASES.get(text, text) or "unknown"


def normalise_statuses(value: Any, field_name: str) -> frozenset[str]:
    """One status or a collection of them, canonical; every entry must be a known status."""
    items: Iterable[Any] = [value] if isinstance(value, str) else value
    if isinstance(value, Mapping) or not isinstance(items, Iterable):
        raise CellcastInputError(field_name, value, f"{field_name} must be a status or a collection of statuses")
    statuses = frozenset(normalise_status(item) for item in items)
    unknown = sorted(statuses - KNOWN_STATUSES)
    if unknown:
        raise CellcastInputError(
            field_name,
            value,
            f"{field_name} has unknown status(es) {', '.join(map(repr, unknown))}: "
            f"use {', '.join(sorted(KNOWN_STATUSES))}",
        )
    if not statuses:
        raise CellcastInputError(field_name, value, f"{field_name} is empty: give at least one status")
    return statuses


@dataclass(frozen=True)
class StatusRules:
    """What the sensor waits for and what makes it give up.

    A target status wins over a failure status (``target_status="failed"`` waits for failures).

    :ivar targets: statuses that count as success.
    :ivar failures: statuses that fail the sensor at once.
    """

    targets: frozenset[str]
    failures: frozenset[str] = DEFAULT_FAILURE_STATUSES

    @classmethod
    def build(cls, target_status: Any, failure_statuses: Any) -> StatusRules:
        """Rules from user input; raises :class:`CellcastInputError` naming the bad argument."""
        targets = normalise_statuses(target_status, "target_status")
        if failure_statuses is None:
            failures = DEFAULT_FAILURE_STATUSES
        elif not isinstance(failure_statuses, str) and not failure_statuses:
            failures = frozenset()  # an explicit empty collection: only unreachable targets fail
        else:
            failures = normalise_statuses(failure_statuses, "failure_statuses")
        return cls(targets=targets, failures=failures)

    def verdict(self, status: str) -> Verdict:
        """``done``, ``failed`` (failure status, unknown ID, or no target reachable) or ``waiting``."""
        if status in self.targets or self.targets & _ALSO_SATISFIES.get(status, frozenset()):
            return "done"
        if status in self.failures or status == NOT_FOUND:
            return "failed"
        reachable = _REACHABLE.get(status)
        if reachable is not None and not reachable & self.targets:
            return "failed"
        return "waiting"

    def explain(self, status: str) -> str:
        """Why ``status`` fails, for error texts."""
        if status == NOT_FOUND:
            return "not found on this account"
        if status in self.failures:
            return f"{status!r}, a failure status"
        return f"{status!r}, from which {self.describe_targets()} cannot be reached"

    def describe_targets(self) -> str:
        return " or ".join(repr(target) for target in sorted(self.targets))

    def to_dict(self) -> dict[str, list[str]]:
        """JSON-friendly form (trigger keyword arguments)."""
        return {"target_statuses": sorted(self.targets), "failure_statuses": sorted(self.failures)}


@dataclass
class StatusCheck:
    """The result of one polling round over every message ID.

    :ivar statuses: the last status seen for each ID, in input order (``not_found`` for unknown IDs).
    :ivar done: IDs that reached a target status.
    :ivar failed: IDs that will not reach one.
    :ivar waiting: IDs still on their way.
    """

    statuses: dict[str, str] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """Whether polling can stop: every ID is done, or one has failed."""
        return bool(self.failed) or not self.waiting

    def summary(self) -> str:
        return f"{len(self.done)} done, {len(self.waiting)} waiting, {len(self.failed)} failed"


#: Failing IDs named in one error text; every status is in the ``statuses`` XCom.
_SHOWN = 10


def failure_text(check: StatusCheck, rules: StatusRules) -> str:
    """The error text naming failed IDs and their statuses."""
    named = [f"{mid}: {rules.explain(check.statuses[mid])}" for mid in check.failed]
    return (
        f"{len(check.failed)} of {len(check.statuses)} Cellcast message(s) will not reach "
        f"{rules.describe_targets()}: {first_and_more(named, _SHOWN, separator='; ')}. "
        "Every ID's status is in the XCom 'statuses'."
    )
