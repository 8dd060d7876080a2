"""DAGs used only by the integration tests (bundle "tests").

``cellcast_test_cancel`` is the example cancel DAG with one Airflow retry and no retry delay, and
native rendering so that ``message_id`` may be a list: a test can tell "failed without retry"
(one try) from "failed, so Airflow retried" (two tries) within one ``dag.test()``.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_cellcast.operators.cancel_campaign import CellcastCancelCampaignOperator

with DAG(
    dag_id="cellcast_test_cancel",
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    default_args={"retries": 1, "retry_delay": timedelta(0)},
    params={"message_id": "675161d8a000000000000000", "message_type": "sms"},
):
    CellcastCancelCampaignOperator(
        task_id="cancel_campaign",
        message_id="{{ params.message_id }}",
        message_type="{{ params.message_type }}",
    )


with DAG(
    dag_id="cellcast_test_cancel_mapped",
    schedule=None,
    catchup=False,
    params={"message_ids": ["675161d8a000000000000000"]},
):
    # Dynamic task mapping: one mapped task instance per message ID.
    @task
    def message_ids_from_conf(params: dict | None = None) -> list[str]:
        return list((params or {})["message_ids"])

    CellcastCancelCampaignOperator.partial(task_id="cancel_each", message_type="sms").expand(
        message_id=message_ids_from_conf()
    )
