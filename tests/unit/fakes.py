"""Stand-ins shared by the operator and sensor tests: a task instance that records XComs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from airflow_provider_cellcast.hooks.cellcast import CellcastHook

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


#: The connection ``ScriptedHook`` uses; the ``scripted_connection`` fixture defines it.
SCRIPTED_CONN_ID = "cellcast_scripted"


class ScriptedHook(CellcastHook):
    """A real hook whose ``get_message`` answers the next status scripted for the ID (the last repeats).

    A script entry may be an exception instance, raised instead. Everything else is the real hook's
    (``check_statuses`` included), with one worker so that the order of lookups is the input order.
    Needs the ``scripted_connection`` fixture.
    """

    def __init__(self, script: dict[str, list[Any]], **overrides: Any) -> None:
        super().__init__(SCRIPTED_CONN_ID, max_concurrency=1, requests_per_second=0, **overrides)
        self.script = {key: list(value) for key, value in script.items()}
        self.asked: list[str] = []
        self.closed = 0

    def get_message(self, message_id: str) -> dict[str, Any]:
        self.asked.append(message_id)
        answers = self.script[message_id]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return {"_id": message_id, "status": answer}

    def close(self) -> None:
        self.closed += 1
        super().close()
