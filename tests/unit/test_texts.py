"""first_and_more: how every error text and log line shortens a long list."""

from __future__ import annotations

import pytest

from airflow_provider_cellcast.texts import first_and_more


@pytest.mark.parametrize(
    ("items", "shown", "separator", "expected"),
    [
        ([], 3, ", ", ""),
        (["a"], 3, ", ", "a"),
        (["a", "b", "c"], 3, ", ", "a, b, c"),
        (["a", "b", "c", "d", "e"], 3, ", ", "a, b, c, and 2 more"),
        (["a", "b", "c"], 1, "; ", "a; and 2 more"),
    ],
)
def test_first_and_more(items, shown, separator, expected) -> None:
    assert first_and_more(items, shown, separator=separator) == expected


def test_any_iterable_is_read_once() -> None:
    assert first_and_more((str(i) for i in range(100_000)), 2) == "0, 1, and 99998 more"
