"""The Cellcast client: every HTTP detail of the Cellcast API, beneath the Airflow hook.

=====================  ===========================================================================
:mod:`.clients`        :class:`CellcastClient` (sync) and :class:`AsyncCellcastClient`: one line a method
:mod:`.cancel`         cancels: one ID (a refused cancel is looked up), many IDs with saved progress
:mod:`.send`           sends: send safety, recovery by reference, partial sends
:mod:`.reports`        one message's report, lists by reference, status rounds
:mod:`.account`        token check, balances
:mod:`.results`        the typed results (plain dicts for XCom) and their builders
:mod:`.tally`          progress lines and summaries of long loops
:mod:`.plan`           the I/O-free core: effects, and the plan of one API call
:mod:`.retry`          the one retry policy: what is repeated, how long to wait, when to stop
:mod:`.wire`           requests and answers as bytes: the checked base URL, the size limit
:mod:`.transport`      the sync driver: ``requests``, the deadline watchdog, threads
:mod:`.aio`            the async driver: ``aiohttp``, tasks
=====================  ===========================================================================

Imports nothing of Airflow but the provider's exceptions (and through them Airflow's exception
classes) and the compat shims, and nothing of the hooks, operators, sensors, triggers or
notifications.
"""

from __future__ import annotations

from airflow_provider_cellcast.client.clients import AsyncCellcastClient, CellcastClient
from airflow_provider_cellcast.client.results import CancelAttempt, CancelOutcomes, CancelResult, Outcome, SendResult
from airflow_provider_cellcast.client.wire import ApiRequest

__all__ = [
    "ApiRequest",
    "AsyncCellcastClient",
    "CancelAttempt",
    "CancelOutcomes",
    "CancelResult",
    "CellcastClient",
    "Outcome",
    "SendResult",
]
