"""The Cellcast emulator's HTTP app: Cellcast's API plus a test-only control plane.

:func:`create_app` wires the parts together:

* :mod:`.api` and :mod:`.inbound_routes`: the Cellcast API routes (``/api/...``, bearer token
  required, Cellcast's envelopes);
* :mod:`.control`: the control plane (``/_emulator/...``, no auth: keep it on loopback);
* :mod:`.middleware`: latency, faults, auth, rate limit, journal and counters around ``/api/``;
* :mod:`.errors`: errors answered in Cellcast's error envelope;
* :mod:`.state`: the in-memory state, one :class:`~.state.EmulatorState` per app.

Faults (``POST /_emulator/faults``) act on ``/api/`` requests only, before authentication and
the rate limit, so a proxy-like fault (``html``, ``status`` 502...) answers even a request with a
wrong token. Kinds: ``status``, ``latency``, ``hang``, ``drop``, ``html``, ``empty``,
``malformed``, ``unexpected_json``, ``app_status_false``, ``cast_error`` (see :mod:`.harness.faults`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from airflow_provider_cellcast.emulator.api import MAX_PAGE_LIMIT, api_router
from airflow_provider_cellcast.emulator.control import control_router
from airflow_provider_cellcast.emulator.errors import ApiError, install_error_handlers
from airflow_provider_cellcast.emulator.inbound_routes import inbound_router
from airflow_provider_cellcast.emulator.middleware import MAX_BODY_BYTES, EmulatorMiddleware, quiet_drop_faults
from airflow_provider_cellcast.emulator.rules import MAX_CONTACTS, MAX_MEDIA_BYTES
from airflow_provider_cellcast.emulator.state import EmulatorConfig, EmulatorState
from airflow_provider_cellcast.emulator.timestamps import Clock

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CONTACTS",
    "MAX_MEDIA_BYTES",
    "MAX_PAGE_LIMIT",
    "ApiError",
    "EmulatorMiddleware",
    "create_app",
    "quiet_drop_faults",
]


def create_app(
    state: EmulatorState | EmulatorConfig | None = None, *, clock: Clock | None = None, **config: Any
) -> FastAPI:
    """Build the emulator's FastAPI app around ``state`` (or a new state from ``config``).

    ``config`` keys are :class:`~.config.EmulatorConfig` fields (``token``, ``rate_limit_per_second``,
    ``latency_ms``, ``contacts_mode``, ...). The state is ``app.state.emulator``. Serve with any ASGI
    server::

        app = create_app(token="secret", rate_limit_per_second=15)
        uvicorn.run(app, port=8079)
    """
    if isinstance(state, EmulatorState):
        if config or clock is not None:
            raise TypeError("give either an EmulatorState or configuration, not both")
        emulator = state
    else:
        base = state if isinstance(state, EmulatorConfig) else EmulatorConfig()
        try:
            merged = EmulatorConfig(**{**base.__dict__, **config})
        except TypeError as error:
            raise TypeError(f"unknown emulator setting: {error}") from error
        emulator = EmulatorState(merged, clock=clock)

    app = FastAPI(
        title="Cellcast emulator",
        description=(
            "Imitates the Cellcast SMS/MMS gateway API with in-memory state. Everything under "
            "`/_emulator/` is a test-only control plane without authentication."
        ),
        docs_url="/_emulator/docs",
        redoc_url=None,
        openapi_url="/_emulator/openapi.json",
    )
    app.state.emulator = emulator
    app.add_middleware(EmulatorMiddleware, state=emulator)
    install_error_handlers(app)
    app.include_router(api_router(emulator))
    app.include_router(inbound_router(emulator))
    app.include_router(control_router(emulator))
    return app
