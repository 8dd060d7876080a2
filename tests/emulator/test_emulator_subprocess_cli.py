"""The ``cellcast-emulator`` command, run as a real subprocess."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading

import pytest
import requests
from emulator_helpers import CLI_TOKEN

from airflow_provider_cellcast.emulator import emulator_process
from airflow_provider_cellcast.emulator.cli import main

LINE_RE = re.compile(r"^Cellcast emulator listening on (http://127\.0\.0\.1:(\d+))$")


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    return lines.get(timeout=timeout).strip()


def test_cli_serves_on_a_free_port_and_stops_on_sigterm(cli_process: subprocess.Popen[str]) -> None:
    process = cli_process
    line = _first_line(process, timeout=60)
    match = LINE_RE.match(line)
    assert match, line
    url = f"{match.group(1)}/api/v1/user/token/verify"
    ok = requests.get(url, headers={"Authorization": f"Bearer {CLI_TOKEN}"}, timeout=5)
    assert ok.status_code == 200 and ok.json()["status"] is True
    assert requests.get(url, headers={"Authorization": "Bearer nope-token"}, timeout=5).status_code == 401
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    # uvicorn's access log (stdout) shows the requests, and no log shows a token.
    assert '"GET /api/v1/user/token/verify HTTP/1.1" 401' in stdout
    assert "rejected GET /api/v1/user/token/verify: invalid token" in stderr
    assert "Finished server process" in stderr
    for text in (stdout, stderr):
        assert CLI_TOKEN not in text and "nope-token" not in text


def test_cli_help_and_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--help"])
    assert raised.value.code == 0
    assert "CELLCAST_EMULATOR_TOKEN" in capsys.readouterr().out
    assert main(["--rate-limit", "0"]) == 2


def test_cli_mode_flags_reach_the_running_emulator() -> None:
    options = (
        "--sender", "ACME=Acme Ltd", "--contacts-mode", "lenient", "--custom-string-mode", "strip",
        "--schedule-at-mode", "all-local", "--account-timezone", "Australia/Perth", "--replies-order", "oldest-first",
        "--no-list-filter-custom-string", "--custom-string-max-length", "0", "--sms-balance", "9972.2",
    )  # fmt: skip
    with emulator_process(None, *options) as client:
        config = requests.get(f"{client.base_url}/_emulator/config", timeout=5).json()
        assert {k: config[k] for k in ("contacts_mode", "custom_string_mode", "schedule_at_mode", "replies_order")} == {
            "contacts_mode": "lenient",
            "custom_string_mode": "strip",
            "schedule_at_mode": "all-local",
            "replies_order": "oldest-first",
        }
        assert (config["account_timezone"], config["list_filter_custom_string"]) == ("Australia/Perth", False)
        assert (config["custom_string_max_length"], config["sms_balance"]) == (None, 9972.2)
        assert client.senders() == [{"sender": "ACME", "name": "Acme Ltd"}]
        [message_id] = client.schedule_campaign(
            contacts=["0400000001"], sender="ACME", custom_string="a/b", schedule_at="2031-01-15T09:00:00Z"
        )
        message = client.message(message_id)
        # Perth is UTC+8 and all-local ignores the Z: 09:00 Perth is 01:00 UTC.
        assert (message["customString"], message["scheduleAt"]) == ("ab", "2031-01-15T01:00:00.000Z")


@pytest.mark.parametrize(
    "options",
    [["--account-timezone", "Mars/Olympus"], ["--sender", "Far too long sender"], ["--custom-string-max-length", "-1"]],
)
def test_cli_refuses_bad_settings_with_status_2(options: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "0", *options]) == 2
    assert capsys.readouterr().err.startswith("cellcast-emulator: ")
