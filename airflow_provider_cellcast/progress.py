"""Where a bulk cancel keeps its progress, so that a retry skips what an earlier try settled.

A cancel of 100,000 messages at 10-15 requests a second takes hours: long enough for a worker to
be restarted. The hook records which IDs are settled (cancelled or already cancelled) in a
:class:`ProgressStore` while it works, and a later try of the same task instance, on any worker,
reads it back. The store is Airflow's own per-task-instance state:

* Airflow 3.3 and later: the task state store (``context["task_state_store"]``), kept in the
  metadata database for the task instance across its tries;
* earlier releases: an Airflow Variable named after the task instance, deleted on success.

What is stored is small: a digest of the ID list and two bitmaps (cancelled, already cancelled),
about 34 KB in base64 for 100,000 IDs, under the task state store's 64 KB advisory limit.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

#: Key of the progress record in the task state store.
PROGRESS_KEY = "cellcast_cancel_progress"
#: Layout version of the record: a record of another layout is ignored, never misread.
_LAYOUT = 1


class ProgressStore(Protocol):
    """Keeps one JSON record for one task instance across its tries."""

    def load(self) -> Mapping[str, Any] | None: ...

    def save(self, record: Mapping[str, Any]) -> None: ...

    def clear(self) -> None: ...


class CancelProgress:
    """Which IDs of one bulk cancel are settled, and how; serialised as bitmaps.

    :param ids: the (distinct, validated) IDs in the order the cancel works on them.
    :param message_type: ``sms`` or ``mms``: part of what makes two runs the same cancel.
    """

    OUTCOMES = ("cancelled", "already_cancelled")

    def __init__(self, ids: Sequence[str], message_type: str) -> None:
        self._ids = ids
        self._position: dict[str, int] | None = None  # built only if IDs are marked by name
        digest = hashlib.sha256(message_type.encode())
        for message_id in ids:  # incrementally: no 2.5 MB string for 100,000 IDs (the same digest)
            digest.update(b"\n" + message_id.encode())
        self.digest = digest.hexdigest()
        self._bits = {outcome: bytearray((len(ids) + 7) // 8) for outcome in self.OUTCOMES}

    def mark_index(self, index: int, outcome: str) -> None:
        """Record the ID at ``index`` as settled (other outcomes are not settled: tried again)."""
        if outcome in self._bits:
            self._bits[outcome][index // 8] |= 1 << (index % 8)

    def mark(self, message_id: str, outcome: str) -> None:
        """:meth:`mark_index` by the ID itself."""
        if self._position is None:
            self._position = {message_id: index for index, message_id in enumerate(self._ids)}
        self.mark_index(self._position[message_id], outcome)

    def settled_indexes(self) -> dict[int, str]:
        """``{index: outcome}`` for every settled ID."""
        found: dict[int, str] = {}
        for outcome, bits in self._bits.items():
            for byte_index, byte in enumerate(bits):
                while byte:
                    low = byte & -byte
                    found[byte_index * 8 + low.bit_length() - 1] = outcome
                    byte ^= low
        return found

    def settled(self) -> dict[str, str]:
        """``{message_id: outcome}`` for every settled ID."""
        return {self._ids[index]: outcome for index, outcome in sorted(self.settled_indexes().items())}

    def to_record(self) -> dict[str, Any]:
        return {
            "layout": _LAYOUT,
            "digest": self.digest,
            **{outcome: base64.b64encode(bytes(bits)).decode() for outcome, bits in self._bits.items()},
        }

    def restore(self, record: Mapping[str, Any] | None) -> bool:
        """Take the settled IDs from ``record`` if it describes this same cancel; say whether it did."""
        if not record or record.get("layout") != _LAYOUT or record.get("digest") != self.digest:
            return False
        try:
            # Strict: str(None) or str(1234) would decode to bitmaps of the right length, misread.
            restored = {
                outcome: bytearray(base64.b64decode(record[outcome], validate=True)) for outcome in self.OUTCOMES
            }
        except (KeyError, TypeError, ValueError):
            return False
        if any(len(bits) != len(self._bits[outcome]) for outcome, bits in restored.items()):
            return False
        self._bits = restored
        return True


class TaskStateProgressStore:
    """The record in Airflow 3.3's task state store of the running task instance."""

    def __init__(self, task_state_store: Any, key: str = PROGRESS_KEY) -> None:
        self._store = task_state_store
        self._key = key

    def load(self) -> Mapping[str, Any] | None:
        value = self._store.get(self._key)
        return value if isinstance(value, Mapping) else None

    def save(self, record: Mapping[str, Any]) -> None:
        self._store.set(self._key, dict(record))

    def clear(self) -> None:
        self._store.delete(self._key)


class VariableProgressStore:
    """The record in an Airflow Variable named after the task instance (Airflow before 3.3)."""

    def __init__(self, key: str) -> None:
        self._key = key

    def load(self) -> Mapping[str, Any] | None:
        from airflow.providers.common.compat.sdk import Variable

        # The default by position: Airflow 2 names it ``default_var``, the task SDK ``default``.
        value = Variable.get(self._key, None, deserialize_json=True)
        return value if isinstance(value, Mapping) else None

    def save(self, record: Mapping[str, Any]) -> None:
        from airflow.providers.common.compat.sdk import Variable

        Variable.set(self._key, dict(record), serialize_json=True, description="Progress of a Cellcast bulk cancel")

    def clear(self) -> None:
        from airflow.providers.common.compat.sdk import Variable

        Variable.delete(self._key)


def progress_store_for(context: Mapping[str, Any]) -> ProgressStore | None:
    """The progress store of the task instance running with ``context``; ``None`` outside a task run."""
    task_state_store = context.get("task_state_store")
    if task_state_store is not None:
        return TaskStateProgressStore(task_state_store)
    ti = context.get("ti")
    parts = [getattr(ti, name, None) for name in ("dag_id", "run_id", "task_id")]
    if None in parts:
        return None
    name = "/".join(str(part) for part in [*parts, getattr(ti, "map_index", -1)])
    return VariableProgressStore(f"{PROGRESS_KEY}__{hashlib.sha256(name.encode()).hexdigest()[:32]}")
