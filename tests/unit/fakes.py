"""Stand-ins shared by the operator and sensor tests: a task instance that records XComs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from airflow.sdk import Context


class FakeTI:
    """Records ``xcom_push`` calls; the only task-instance methods the code under test calls."""

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def get_first_reschedule_date(self, context: Any) -> None:
        return None


def ctx(ti: FakeTI) -> Context:
    """A task context holding only ``ti`` (all the code under test reads)."""
    return cast("Context", {"ti": ti})
