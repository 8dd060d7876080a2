"""The account: checking the token, reading the balances."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_cellcast.client.plan import CallContext, Plan, call
from airflow_provider_cellcast.client.wire import ApiRequest
from airflow_provider_cellcast.envelope import Envelope

TOKEN_VERIFY_ENDPOINT = "/api/v1/user/token/verify"  # noqa: S105 - a path, not a secret
ACCOUNT_ENDPOINT = "/api/v1/apiClient/account"


def verify_token(ctx: CallContext) -> Plan[Envelope]:
    """``GET /api/v1/user/token/verify``: raises ``CellcastAuthenticationError`` for a bad token.

    Cellcast echoes the token in ``data.token``: the envelope's data is dropped here, so that no
    caller can log or return it by accident.
    """
    envelope = yield from call(ctx, ApiRequest("GET", TOKEN_VERIFY_ENDPOINT, what="token verification"))
    return Envelope(kind=envelope.kind, message=envelope.message, data={})


def get_account(ctx: CallContext) -> Plan[dict[str, Any]]:
    """Account name, e-mail and SMS/MMS balances (``GET /api/v1/apiClient/account``, meta envelope)."""
    envelope = yield from call(ctx, ApiRequest("GET", ACCOUNT_ENDPOINT, expect="meta", what="account lookup"))
    return dict(envelope.data) if isinstance(envelope.data, Mapping) else {}
