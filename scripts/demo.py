"""Run the cancel DAG against the Cellcast emulator and print what happened (see scripts/demo)."""

from __future__ import annotations

import json
import os
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


def start_emulator(token: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [str(BIN / "cellcast-emulator"), "--port", "0", "--no-access-log"],
        env={**os.environ, "CELLCAST_EMULATOR_TOKEN": token},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:  # blocks until the emulator says where it listens
        if "listening on" in line:
            return process, line.rsplit(" ", 1)[-1].strip()
    raise SystemExit(f"the emulator exited before listening (code {process.wait()})")


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
    emulator, url = start_emulator(token)
    try:
        from airflow_provider_cellcast.emulator import EmulatorClient

        client = EmulatorClient(url, token=token)
        message_id = client.schedule_campaign(contacts=["+61400000001"], message="Sale starts at 9am!")[0]
        print(
            f"1. Cellcast emulator at {url}: scheduled SMS {message_id} "
            f"(status {client.message(message_id)['status']!r})"
        )

        env["AIRFLOW_CONN_CELLCAST_DEFAULT"] = json.dumps({"conn_type": "cellcast", "host": url, "password": token})
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
        log_path = home / "dags-test.log"
        conf = json.dumps({"message_id": message_id, "message_type": "sms"})
        print(f"2. airflow dags test {DAG_ID} -c '{conf}'   (full log: {log_path})")
        with log_path.open("w") as log:
            run = subprocess.run(
                [str(BIN / "airflow"), "dags", "test", DAG_ID, "-c", conf], env=env, stdout=log, stderr=log
            )
        for line in log_path.read_text().splitlines():
            if "airflow_provider_cellcast" in line or "Cellcast" in line or f"{message_id}:" in line:
                print("   |", line.strip()[:200])
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
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
