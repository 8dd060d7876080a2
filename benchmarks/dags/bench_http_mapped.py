"""The stock ``HttpOperator`` mapped over message IDs: one mapped task per cancel (bundle "benchmarks").

The IDs are read when the file is parsed from the JSON file named by ``CELLCAST_BENCH_MAPPED_IDS``
(written by the benchmark just before it loads the DAG), so that ``.expand(data=[...])`` gets a
literal list, as in the common "one mapped task per item" pattern. Without it the list is empty.
The ``http`` connection ``cellcast_http`` carries ``Authorization: Bearer ...`` in its extra.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from airflow.providers.http.operators.http import HttpOperator
from airflow.sdk import DAG

_IDS_FILE = os.environ.get("CELLCAST_BENCH_MAPPED_IDS")
MESSAGE_IDS: list[str] = json.loads(Path(_IDS_FILE).read_text()) if _IDS_FILE else []

with DAG(
    dag_id="bench_http_mapped_cancel",
    schedule=None,
    catchup=False,
    default_args={"retries": 0},
    tags=["benchmark"],
):
    HttpOperator.partial(
        task_id="cancel",
        http_conn_id="cellcast_http",
        endpoint="/api/v1/gateway/cancelScheduleQuickMessage",
        method="POST",
        headers={"Content-Type": "application/json"},
        # Cellcast answers HTTP 200 with "status": false when it does not cancel: check the envelope.
        response_check=lambda response: response.json().get("status") is True,
    ).expand(data=[json.dumps({"messageId": message_id, "type": "sms"}) for message_id in MESSAGE_IDS])
