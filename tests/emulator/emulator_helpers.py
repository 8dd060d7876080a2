"""Helpers of the emulator tests (imported by conftest and the test modules)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from airflow_provider_cellcast.emulator.envelopes import APP_ENVELOPE_KEYS, ERROR_ENVELOPE_KEYS
from airflow_provider_cellcast.emulator.server import CellcastEmulator

CANCEL = "/api/v1/gateway/cancelScheduleQuickMessage"
SEND = "/api/v1/gateway"
SEND_MMS = "/api/v1/gatewaymms"
REPORT = "/api/v2/report/message"
VERIFY = "/api/v1/user/token/verify"
ACCOUNT = "/api/v1/apiClient/account"
CUSTOM_NUMBER = "/api/v1/customNumber"
TEMPLATE = "/api/v1/template"
RESPONSES = "/api/v1/apiClient/getResponses"
OPTOUTS = "/api/v1/apiClient/getOptout"
#: A PNG file's magic bytes and some padding: enough for the emulator's media check.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
CLI_TOKEN = "cli-secret-token"


class Api:
    """A ``requests`` session against the emulator, authorised unless told otherwise."""

    def __init__(self, emulator: CellcastEmulator) -> None:
        self.emulator = emulator
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {emulator.token}"

    def url(self, path: str) -> str:
        return f"{self.emulator.url}{path}"

    def post(self, path: str, json: Any = None, timeout: float = 5, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url(path), json=json, timeout=timeout, **kwargs)

    def get(self, path: str, timeout: float = 5, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url(path), timeout=timeout, **kwargs)

    def send(self, contacts: list[Any], message: str = "Hello", **fields: Any) -> requests.Response:
        return self.post(SEND, {"message": message, "contacts": contacts, **fields})

    def send_ids(self, contacts: list[Any], **fields: Any) -> list[str]:
        response = self.send(contacts, **fields)
        assert response.status_code == 200, response.text
        return [item["MessageId"] for item in response.json()["data"]["queueResponse"]]

    def cancel(self, message_id: str, message_type: str = "sms") -> requests.Response:
        return self.post(CANCEL, {"messageId": message_id, "type": message_type})

    def report(self, message_id: str) -> requests.Response:
        return self.get(f"{REPORT}/{message_id}")

    def send_mms(self, data: dict[str, str], files: Any = None) -> requests.Response:
        return self.session.post(self.url(SEND_MMS), data=data, files=files, timeout=5)


def assert_app(response: requests.Response, status: bool, http_status: int = 200) -> dict[str, Any]:
    """The app envelope of ``response``, after checking its HTTP status, keys and verdict."""
    assert response.status_code == http_status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == APP_ENVELOPE_KEYS
    assert body["status"] is status
    return body


def assert_error(response: requests.Response, code: int, message: str | None = None) -> dict[str, Any]:
    """The error envelope of ``response``, after checking its HTTP status and (if given) message."""
    assert response.status_code == code, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_ENVELOPE_KEYS
    assert body["code"] == code
    assert body["stack"].startswith("APIError: ")
    if message is not None:
        assert body["message"] == message
    return body


def start_cli() -> subprocess.Popen[str]:
    """Start ``python -m airflow_provider_cellcast.emulator`` on a free port, token from the environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_cellcast.emulator", "--port", "0", "--rate-limit", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CELLCAST_EMULATOR_TOKEN": CLI_TOKEN},
    )


def emulator_command() -> list[str]:
    """The ``cellcast-emulator`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("cellcast-emulator")
    found = str(script) if script.exists() else shutil.which("cellcast-emulator")
    assert found, "the cellcast-emulator console script is not installed (pip install -e .)"
    return [found]
