"""Names that moved between Airflow releases and that common-compat does not give on every Python.

* ``mask_secret``: apache-airflow-providers-common-compat has it from 1.22.0, which needs Python
  3.11; on Python 3.10 the newest is 1.20.0, so there it comes from Airflow itself:
  ``airflow.sdk.log`` (3.0.6 and later), the task SDK's masker (3.0.0-3.0.5),
  ``airflow.utils.log.secrets_masker`` (2.x).
* ``get_async_connection`` / ``get_async_extra_dejson``: common-compat's way to read a connection
  from an event loop without blocking it; where the installed common-compat lacks them, the
  synchronous calls run in asgiref's single worker thread, as common-compat itself does on
  Airflow releases before 3.3.2.

Imported when a hook, client or trigger runs, never at DAG-parse time.
"""

from __future__ import annotations

from typing import Any

try:
    from airflow.providers.common.compat.sdk import mask_secret
except ImportError:  # common-compat < 1.22 (Python 3.10)
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:
        try:
            from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]
        except ImportError:
            from airflow.utils.log.secrets_masker import mask_secret  # type: ignore[no-redef]

try:
    from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
except ImportError:  # common-compat before these helpers

    async def get_async_connection(conn_id: str, hook: Any = None) -> Any:  # type: ignore[misc]
        from airflow.providers.common.compat.sdk import BaseHook
        from asgiref.sync import sync_to_async

        return await sync_to_async((hook or BaseHook).get_connection)(conn_id)

    async def get_async_extra_dejson(conn: Any) -> dict[str, Any]:  # type: ignore[misc]
        from asgiref.sync import sync_to_async

        return await sync_to_async(lambda: conn.extra_dejson)()


__all__ = ["get_async_connection", "get_async_extra_dejson", "mask_secret"]
