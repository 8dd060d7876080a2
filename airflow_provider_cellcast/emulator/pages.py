"""Pages of a list answer, mongoose-paginate style, as Cellcast's list endpoints answer them.

Standard library only. Cellcast labels the fields of ``mongoose-paginate-v2`` its own way:
``items`` (the documents), ``total``, ``limit``, ``current`` (the page number: there is no
``page`` key), ``pagingCounter`` (the 1-based position of the page's first item),
``totalPages`` (at least 1, as mongoose counts an empty result as one page), ``hasPrevPage``,
``hasNextPage``, ``prevPage``, ``nextPage`` (``null`` when there is none). A page past the last
is empty, and still points back to the page before it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from airflow_provider_cellcast.emulator.rules import RuleError

__all__ = ["PAGE_KEYS", "mongoose_page", "query_int"]

T = TypeVar("T")

#: The keys of a mongoose-style page.
PAGE_KEYS = frozenset(
    {"items", "total", "limit", "current", "pagingCounter", "totalPages", "hasPrevPage", "hasNextPage",
     "prevPage", "nextPage"}
)  # fmt: skip


def mongoose_page(found: Sequence[T], page: int, limit: int, show: Callable[[T], Any]) -> dict[str, Any]:
    """One page of ``found`` (``page`` from 1), each item shown by ``show``."""
    total = len(found)
    total_pages = math.ceil(total / limit) or 1
    return {
        "items": [show(item) for item in found[(page - 1) * limit : page * limit]],
        "total": total,
        "limit": limit,
        "current": page,
        "pagingCounter": (page - 1) * limit + 1,
        "totalPages": total_pages,
        "hasPrevPage": page > 1,
        "hasNextPage": page < total_pages,
        "prevPage": page - 1 if page > 1 else None,
        "nextPage": page + 1 if page < total_pages else None,
    }


def query_int(params: Any, name: str, default: int, maximum: int) -> int:
    """A whole-number query parameter from 1 to ``maximum``; absent or empty: ``default``."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise RuleError(name, f"{name} must be a whole number from 1 to {maximum}")
    return value
