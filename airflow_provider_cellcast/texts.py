"""How error texts and log lines name a long list: the first few items, then a count of the rest.

Every list a user may read in an exception or a log (failed message IDs, invalid entries, masked
phone numbers) is shortened the same way, so that one failure in 100,000 IDs stays readable and
the full list goes to XCom instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def first_and_more(items: Sequence[str] | Iterable[str], shown: int, *, separator: str = ", ") -> str:
    """``"a, b, c and 7 more"``: the first ``shown`` items, then how many were left out."""
    listed = list(items)
    text = separator.join(listed[:shown])
    left_out = len(listed) - shown
    return f"{text}{separator.rstrip()} and {left_out} more" if left_out > 0 else text
