"""``mask_secret`` wherever the installed Airflow and common-compat provider keep it.

apache-airflow-providers-common-compat has ``mask_secret`` from 1.22.0, which needs Python 3.11; on
Python 3.10 the newest is 1.20.0, so there it comes from Airflow itself: ``airflow.sdk.log`` (3.0.6
and later), the task SDK's masker (3.0.0-3.0.5), ``airflow.utils.log.secrets_masker`` (2.x).
Imported only by the hook, never at DAG-parse time.
"""

from __future__ import annotations

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

__all__ = ["mask_secret"]
