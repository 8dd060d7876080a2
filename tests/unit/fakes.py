"""Stand-ins shared by the operator and sensor tests: a task instance that records XComs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

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
        self.dag_id, self.task_id, self.run_id = dag_id, task_id, run_id
        self.map_index, self.try_number = map_index, try_number

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def get_first_reschedule_date(self, context: Any) -> None:
        return None


def ctx(ti: FakeTI) -> Context:
    """A task context holding only ``ti`` (all the code under test reads)."""
    return cast("Context", {"ti": ti})
