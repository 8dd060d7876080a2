"""Run the cancel DAG against the Cellcast emulator and print what happened (see scripts/demo)."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAG_ID = "cellcast_cancel_campaign"
TASK_LOG_EVENT = re.compile(r"\[(?:info|warning|error)\s*\]\s(.*?)\s+\[airflow")


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="cellcast-demo-"))
    token = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    code = run_demo(home, token, env)
    if code == 0:
        shutil.rmtree(home, ignore_errors=True)
    else:
        print(f"The demo failed: AIRFLOW_HOME and the full log are kept in {home}")
    return code


def run_demo(home: Path, token: str, env: dict[str, str]) -> int:
    from airflow_provider_cellcast.emulator import emulator_process

    with emulator_process(token) as client:
        url = client.base_url
        message_id = client.schedule_campaign(contacts=["+61400000001"], message="Sale starts at 9am!")[0]
        print(
            f"1. Cellcast emulator at {url}: scheduled SMS {message_id} "
            f"(status {client.message(message_id)['status']!r})"
        )

        env["AIRFLOW_CONN_CELLCAST_DEFAULT"] = json.dumps({"conn_type": "cellcast", "host": url, "password": token})
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
        log_path = home / "dags-test.log"
        conf = json.dumps({"message_id": message_id, "message_type": "sms"})
        print(f"2. airflow dags test {DAG_ID} -c '{conf}'")
        with log_path.open("w") as log:
            run = subprocess.run(
                [str(BIN / "airflow"), "dags", "test", DAG_ID, "-c", conf], env=env, stdout=log, stderr=log
            )
        for line in log_path.read_text().splitlines():
            # Our operator's and hook's log lines, without the timestamp and logger columns.
            event = TASK_LOG_EVENT.search(line)
            if event and "airflow_provider_cellcast" in line:
                print("   |", event.group(1))
        if token in log_path.read_text():
            print("   !! the API token appears in the task log")
            return 1

        with sqlite3.connect(home / "airflow.db") as db:
            state = db.execute("select state from dag_run where dag_id = ?", (DAG_ID,)).fetchone()
            xcom = db.execute("select value from xcom where dag_id = ? and key = 'return_value'", (DAG_ID,)).fetchone()
        final = client.message(message_id)["status"]
        print(f"3. DAG run state: {state[0] if state else 'none'} (airflow dags test exit code {run.returncode})")
        print(f"   XCom return_value: {xcom[0] if xcom else 'none'}")
        print(f"4. The emulator now reports message {message_id} as {final!r}")
        ok = run.returncode == 0 and state is not None and state[0] == "success" and final == "canceled"
        print("OUTCOME:", "cancelled - the scheduled campaign will not be sent" if ok else "FAILED")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
