"""The emulator's test harness: what a test drives or observes, and Cellcast itself has not.

:mod:`.clock` (emulator time: an offset on an injectable clock), :mod:`.faults` (injected faults),
:mod:`.journal` (request journal and counters), :mod:`.ratelimit` (the per-token sliding window),
and :mod:`.access` (their methods on the state, under the names tests use).
Standard library only; :class:`~airflow_provider_cellcast.emulator.state.EmulatorState` holds one
of each, and :mod:`..middleware` applies them around every ``/api/`` request.
"""
