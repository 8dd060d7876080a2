"""The documented answers of Cellcast's "Cancel Campaign" page, verbatim (tests/data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_DOCUMENTED: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "cancel_campaign_documented.json").read_text()
)

DOCUMENTED_CANCEL_SUCCESS: dict[str, Any] = _DOCUMENTED["200"]
DOCUMENTED_CANCEL_400: dict[str, Any] = _DOCUMENTED["400"]
DOCUMENTED_CANCEL_401: dict[str, Any] = _DOCUMENTED["401"]
