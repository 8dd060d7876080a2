"""Fixtures of the unit tests (the emulator's come from the plugin loaded by ``tests/conftest.py``)."""

from __future__ import annotations

import pytest
from airflow.sdk.bases.operator import ExecutorSafeguard


@pytest.fixture
def allow_direct_execute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Operators refuse ``execute()`` outside the task runner unless Airflow is in test mode."""
    monkeypatch.setattr(ExecutorSafeguard, "test_mode", True)
