"""Stand-ins shared by the operator and sensor tests: a task instance that records XComs, a scripted hook."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_cellcast.hooks.cellcast import CellcastHook
from unit.scripted import RoutingTransport

if TYPE_CHECKING:
    from airflow.sdk import Context


class FakeTI:
    """Records ``xcom_push`` calls; the task-instance fields and methods the code under test reads."""

    def __init__(
        self,
        *,
        dag_id: str = "dag",
        task_id: str = "task",
        run_id: str = "manual__1",
        map_index: int = -1,
        try_number: int = 1,
    ) -> None:
        self.xcoms: dict[str, Any] = {}
        #: Every key pushed, in order (a key pushed twice appears twice).
        self.pushed: list[str] = []
        #: What ``xcom_pull`` answers: ``{(task_id, key): value}`` (other tasks' XComs).
        self.upstream: dict[tuple[str, str], Any] = {}
        #: Every ``xcom_pull`` asked for, as ``(task_ids, key)``.
        self.pulled: list[tuple[Any, str]] = []
        self.dag_id, self.task_id, self.run_id = dag_id, task_id, run_id
        self.map_index, self.try_number = map_index, try_number

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value
        self.pushed.append(key)

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value") -> Any:
        self.pulled.append((task_ids, key))
        return self.upstream.get((task_ids, key))

    def get_first_reschedule_date(self, context: Any) -> None:
        return None


def ctx(ti: FakeTI) -> Context:
    """A task context holding only ``ti`` (all the code under test reads)."""
    return cast("Context", {"ti": ti})


#: The connection :func:`scripted_hook` uses; the ``scripted_connection`` fixture defines it.
SCRIPTED_CONN_ID = "cellcast_scripted"


@dataclass
class Scripted:
    """A real hook whose client sends through ``transport``; its waits are recorded in ``waits``."""

    hook: CellcastHook
    transport: RoutingTransport
    waits: list[float] = field(default_factory=list)


def scripted_hook(
    statuses: Mapping[str, Sequence[Any]] | None = None,
    routes: Mapping[str, Sequence[Any]] | None = None,
    **overrides: Any,
) -> Scripted:
    """A real :class:`CellcastHook` on ``SCRIPTED_CONN_ID`` whose requests a :class:`RoutingTransport` answers.

    ``statuses`` scripts the message reports (``{message_id: ["scheduled", "delivered"]}``, the
    last repeats; an entry may be any scripted answer, e.g. ``(503, b"")``). One worker, so that
    lookups happen in input order, and no pacing. Needs the ``scripted_connection`` fixture.
    """
    transport = RoutingTransport(routes, statuses=statuses)
    waits: list[float] = []
    overrides = {"max_concurrency": 1, "requests_per_second": 0, **overrides}
    hook = CellcastHook(SCRIPTED_CONN_ID, transport=transport, sleep=waits.append, **overrides)
    return Scripted(hook, transport, waits)
