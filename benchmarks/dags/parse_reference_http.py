"""Parse-cost reference: ``dags/cellcast_cancel_campaign.py`` written with the stock ``HttpOperator``.

Only parsed (never run) by the DAG-parse benchmark, to compare whole DAG files.
"""

from __future__ import annotations

from airflow.providers.http.operators.http import HttpOperator
from airflow.sdk import DAG, Param

with DAG(
    dag_id="bench_parse_reference_http",
    schedule=None,
    catchup=False,
    tags=["benchmark"],
    params={
        "message_id": Param(type="string", pattern=r"^\s*[0-9a-fA-F]{24}\s*$", title="Message ID"),
        "message_type": Param("sms", type="string", enum=["sms", "mms"], title="Message type"),
    },
):
    HttpOperator(
        task_id="cancel_campaign",
        http_conn_id="cellcast_http",
        endpoint="/api/v1/gateway/cancelScheduleQuickMessage",
        method="POST",
        headers={"Content-Type": "application/json"},
        data='{"messageId": "{{ params.message_id | trim }}", "type": "{{ params.message_type }}"}',
    )
