"""Run ``cellcast_test_campaign_chain`` under the object-storage XCom backend (a separate process).

The XCom backend is chosen when Airflow loads, so the test runs this script in a process of its
own with ``AIRFLOW__CORE__XCOM_BACKEND`` set. It prints one JSON line: the run's state, the XComs
as the tasks saw them, and which of them the metadata database holds as object-storage paths.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    from airflow.utils.session import create_session
    from airflow_versions import dag_bag, xcom_model

    contacts = json.loads(sys.argv[1])
    dag = dag_bag(Path(__file__).resolve().parents[1] / "dags").dags["cellcast_test_campaign_chain"]
    run = dag.test(run_conf={"contacts": contacts})
    # Imported once Airflow has loaded its XCom backend (the configured one is this very class):
    # importing it first would import it while Airflow resolves it.
    from airflow.providers.common.io.xcom.backend import XComObjectStorageBackend

    model = xcom_model()
    with create_session() as session:
        rows = session.query(model.task_id, model.key, model.value).filter(model.run_id == run.run_id).all()
        stored = {f"{row.task_id}/{row.key}": str(row.value)[:200] for row in rows}
        # What a task pulling the XCom gets: the backend reads object storage back.
        values = {(row.task_id, row.key): XComObjectStorageBackend.deserialize_value(row) for row in rows}
    print(
        "RESULT "
        + json.dumps(
            {
                "state": str(run.state),
                "stored": stored,
                "outcomes": values.get(("count_outcomes", "return_value")),
                "results": len(values.get(("cancel", "results")) or []),
                "send_ids": len(values.get(("send", "return_value")) or []),
                "summary": values.get(("cancel", "return_value")),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
