"""The cancel DAG against a server that is not our emulator: one replaying the documented answers.

A few lines of standard-library HTTP serve the exact bodies of Cellcast's "Cancel Campaign" page
(tests/data), so the provider is checked against the documentation itself, not only against our
own reading of it in the emulator.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from airflow_versions import without_dag_test_mask_echo
from conftest import load_dag, run_dag
from documented import DOCUMENTED_CANCEL_400, DOCUMENTED_CANCEL_401, DOCUMENTED_CANCEL_SUCCESS

pytestmark = pytest.mark.integration
DOCUMENTED = {"200": DOCUMENTED_CANCEL_SUCCESS, "400": DOCUMENTED_CANCEL_400, "401": DOCUMENTED_CANCEL_401}
TOKEN = "documented-token-5e2c"
DOC_ID = "675161d8a000000000000000"


class DocumentedCellcast(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.received.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            status = 401
        elif self.path != "/api/v1/gateway/cancelScheduleQuickMessage" or not body.get("messageId"):
            status = 400
        else:
            status = 200
        payload = json.dumps(DOCUMENTED[str(status)]).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def documented_server(monkeypatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), DocumentedCellcast)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    DocumentedCellcast.received = []
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def use(monkeypatch, url: str, token: str) -> None:
    conn = {"conn_type": "cellcast", "host": url, "password": token, "extra": {"max_attempts": 1}}
    monkeypatch.setenv("AIRFLOW_CONN_CELLCAST_DEFAULT", json.dumps(conn))


def test_documented_success_body(airflow_db, documented_server, monkeypatch):
    use(monkeypatch, documented_server, TOKEN)
    result = run_dag(load_dag("cellcast_cancel_campaign"), {"message_id": DOC_ID, "message_type": "sms"})
    assert result.state == "success"
    returned = result.xcom[("cancel_campaign", "return_value")]
    assert returned["outcome"] == "cancelled" and returned["message"] == "Job Removed successfully"
    [request] = DocumentedCellcast.received
    assert request["body"] == {"messageId": DOC_ID, "type": "sms"}
    assert request["auth"] == f"Bearer {TOKEN}"


def test_documented_401_body(airflow_db, documented_server, monkeypatch, capfd):
    use(monkeypatch, documented_server, "expired-token-0000")
    result = run_dag(load_dag("cellcast_cancel_campaign"), {"message_id": DOC_ID, "message_type": "sms"})
    assert result.state == "failed"
    [entry] = result.xcom[("cancel_campaign", "results")]
    assert entry["status_code"] == 401 and "Token expired" in entry["error"]
    output = without_dag_test_mask_echo(capfd.readouterr().out)
    assert "expired-token-0000" not in output and "APIError" not in output
