"""Bounded and honest against any server: the hook's public methods, each in a process of its own.

Every case points a Cellcast connection at :mod:`hostile_server` (stdlib sockets) misbehaving in
one way, calls the hook (or its async client) in a process of its own (a fork of
:mod:`hostile_zygote`, which imported Airflow once), and checks the typed error, how long the call
took, how much memory it grew by, what reached which server, and that the token shows up in none
of the process's output.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hostile_server import (
    HostileServer,
    answer,
    drip_body,
    drip_headers,
    gzip_bomb,
    huge,
    nested,
    redirect,
)

pytestmark = pytest.mark.integration

TOKEN = "tok-hostile-9f8e7d6c5b4a"
MID = "675161d8a000000000000000"
CANCEL = "/api/v1/gateway/cancelScheduleQuickMessage"
SEND = "/api/v1/gateway"
REPORT = "/api/v2/report/message/"
OK = {"status": True, "message": "Job removed successfully", "data": {"message": "Job removed successfully"}}

ZYGOTE = Path(__file__).with_name("hostile_zygote.py")


class Zygote:
    """``hostile_zygote.py``: Airflow imported once, each case run in a fork of it (its own process)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log = (workdir / "zygote.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, str(ZYGOTE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        self.cases = 0

    def run(self, environment: dict[str, str]) -> tuple[str, str]:
        """Run one case with ``environment``; its stdout and stderr."""
        self.cases += 1
        stdout, stderr = (self.workdir / f"case-{self.cases}.{name}" for name in ("out", "err"))
        assert self.process.stdin is not None and self.process.stdout is not None
        request = {"env": environment, "stdout": str(stdout), "stderr": str(stderr)}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], 180)  # a case is killed after 120 s
        line = self.process.stdout.readline() if ready else ""
        assert line, f"the zygote did not answer: {(self.workdir / 'zygote.log').read_text()[-3000:]}"
        assert json.loads(line)["returncode"] == 0, stderr.read_text()[-3000:]
        return stdout.read_text(), stderr.read_text()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


_zygote: Zygote | None = None


@pytest.fixture(scope="module", autouse=True)
def zygote(tmp_path_factory: pytest.TempPathFactory):
    global _zygote
    _zygote = Zygote(tmp_path_factory.mktemp("hostile"))
    yield _zygote
    _zygote.close()
    _zygote = None


def run_hook(url: str, call: str, *, extra: dict[str, Any] | None = None, token: str = TOKEN, **env: str) -> dict:
    """Run ``call`` (an expression on ``hook``) in a process of its own against ``url``; its outcome."""
    conn = {"conn_type": "cellcast", "host": url, "password": token, "extra": extra or {}}
    environment = {
        **os.environ,
        "AIRFLOW_CONN_HOSTILE": json.dumps(conn),
        "CALL": call,
        "MID": MID,
        "HOOK_KWARGS": json.dumps({"requests_per_second": 0}),
        **env,
    }
    assert _zygote is not None
    stdout, stderr = _zygote.run(environment)
    output = stdout + stderr
    assert token not in output, "the token leaked into the output"
    assert token.encode("unicode_escape").decode() not in output
    [line] = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    result["output"] = output
    return result


@pytest.fixture
def server():
    with HostileServer() as hostile:
        yield hostile


@pytest.fixture
def elsewhere():
    """Another host: a redirect points here, and it would say yes to anything."""
    with HostileServer(routes={"/": answer(OK)}) as other:
        yield other


# -- deadlines -------------------------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", [drip_body(OK), drip_headers()], ids=["body", "headers"])
@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_dripping_server_is_cut_off_at_twice_the_timeout(server, behaviour, driver):
    server.routes[CANCEL] = behaviour
    server.routes[REPORT] = behaviour
    call = "async:client.get_message(MID)" if driver == "async" else "hook.cancel_scheduled_message(MID)"
    result = run_hook(server.url, call, extra={"timeout": 3})
    assert result["error"] == "CellcastConnectionError"
    assert "within the attempt deadline of" in result["message"]  # the second attempt gets what is left
    # call_timeout: twice timeout by default (plus 1 s for the scheduling of a busy 2-core machine)
    assert result["seconds"] <= 2 * 3 + 1
    assert len(server.requests) == 2  # two attempts fit in the call's budget


# -- redirects -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_redirected_cancel_raises_and_nothing_reaches_the_other_host(server, elsewhere, status, driver):
    server.routes[CANCEL] = redirect(status, f"{elsewhere.url}{CANCEL}")
    server.routes[REPORT] = redirect(status, f"{elsewhere.url}{REPORT}{MID}")
    call = "async:client.get_message(MID)" if driver == "async" else "hook.cancel_scheduled_message(MID)"
    result = run_hook(server.url, call)
    assert result["error"] == "CellcastRedirectError"
    assert "127.0.0.1" in result["message"] and "does not redirect" in result["message"]
    assert elsewhere.requests == []
    assert "value" not in result


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirected_send_raises_never_retried_and_is_not_resent(server, elsewhere, status):
    server.routes[SEND] = redirect(status, f"{elsewhere.url}{SEND}")
    result = run_hook(server.url, "hook.send_sms('hi', ['+61400000001'])")
    assert result["airflow_fail"] and result["error"] == "CellcastSendOutcomeUnknownError"
    assert [request.path for request in server.requests] == [SEND]
    assert elsewhere.requests == []  # the message and the numbers went nowhere else


# -- URLs and credentials --------------------------------------------------------------------------


def test_a_backslash_url_is_refused_before_any_connection(server):
    result = run_hook(f"http://evil.example\\@127.0.0.1:{server.port}", "hook.cancel_scheduled_message(MID)")
    assert result["airflow_fail"] and result["error"] == "CellcastConfigurationError"
    assert server.requests == []


def test_credentials_in_the_url_are_refused_without_echoing_them(server):
    url = f"http://someone:s3cret-pass-word@127.0.0.1:{server.port}"
    refused = run_hook(url, "hook.cancel_scheduled_message(MID)")
    tested = run_hook(url, "hook.test_connection()")
    assert refused["airflow_fail"] and refused["error"] == "CellcastConfigurationError"
    assert tested["value"][0] is False and "credentials" in tested["value"][1]
    for result in (refused, tested):
        assert "s3cret-pass-word" not in result["output"]
    assert server.requests == []


def test_only_the_bearer_token_authenticates_whatever_netrc_says(server, tmp_path: Path):
    netrc = tmp_path / "netrc"
    netrc.write_text("default login someone password netrc-pass-1234\n")
    netrc.chmod(0o600)
    server.routes[CANCEL] = answer(OK)
    server.routes["/api/v1/user/token/verify"] = answer({"status": True, "message": "Token verified successfully!"})
    environment = {"NETRC": str(netrc), "HOME": str(tmp_path)}
    result = run_hook(server.url, "hook.cancel_scheduled_message(MID)['outcome']", **environment)
    asynchronous = run_hook(server.url, "async:client.verify_token()", **environment)
    assert result["value"] == "cancelled" and "error" not in asynchronous
    assert [request.headers.get("authorization") for request in server.requests] == [f"Bearer {TOKEN}"] * 2


# -- sizes and shapes of answers ---------------------------------------------------------------------


def test_a_huge_body_is_refused_within_the_limit(server):
    server.routes[CANCEL] = huge(200 * 1024 * 1024)
    result = run_hook(server.url, "hook.cancel_scheduled_message(MID)")
    assert result["error"] == "CellcastInvalidResponseError" and "larger than" in result["message"]
    assert result["grew_mb"] < 50


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_gzip_bomb_is_refused_within_the_limit(server, driver):
    server.routes[CANCEL] = gzip_bomb()
    server.routes[REPORT] = gzip_bomb()
    call = "async:client.get_message(MID)" if driver == "async" else "hook.cancel_scheduled_message(MID)"
    result = run_hook(server.url, call)
    assert result["error"] == "CellcastInvalidResponseError" and "larger than" in result["message"]
    assert result["grew_mb"] <= 200


def test_deeply_nested_json_on_a_send_is_an_outcome_unknown_failure(server):
    server.routes[SEND] = answer(nested())
    result = run_hook(server.url, "hook.send_sms('hi', ['+61400000001'])")
    assert result["airflow_fail"] and result["error"] == "CellcastSendOutcomeUnknownError"
    assert "nested deeper than" in result["message"]
    assert [request.path for request in server.requests] == [SEND]


def test_one_nested_answer_in_a_bulk_cancel_fails_that_id_only(server):
    ids = ["675161d8a000000000000001", "675161d8a000000000000002", "675161d8a000000000000003"]

    def cancel(sock, request):
        body = nested() if request.json()["messageId"] == ids[1] else json.dumps(OK).encode()
        answer(body)(sock, request)

    server.routes[CANCEL] = cancel
    call = f"[a.result['outcome'] for a in hook.cancel_scheduled_messages({ids!r})]"
    result = run_hook(server.url, call)
    assert result["value"] == ["cancelled", "failed", "cancelled"]


@pytest.mark.parametrize(
    "body",
    [b'{"meta": {"code": 200}}', b'{"meta": {"code": 200, "status": "SUCCESS"}, "data": {}}'],
    ids=["meta-code-only", "meta-success"],
)
def test_a_meta_envelope_is_never_a_cancel(server, body):
    server.routes[CANCEL] = answer(body)
    result = run_hook(server.url, "hook.cancel_scheduled_message(MID)")
    assert result["error"] == "CellcastInvalidResponseError"


def test_duplicate_status_keys_are_refused(server):
    server.routes[CANCEL] = answer(b'{"status": false, "message": "no", "status": true, "data": {}}')
    result = run_hook(server.url, "hook.cancel_scheduled_message(MID)")
    assert result["error"] == "CellcastInvalidResponseError" and "duplicate key 'status'" in result["message"]


# -- settings and tokens that cannot work ------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "named"),
    [({"timeout": "inf"}, "timeout"), ({"requests_per_second": 1e-300}, "requests_per_second")],
)
def test_settings_that_cannot_work_fail_before_any_request(server, extra, named):
    result = run_hook(server.url, "hook.send_sms('hi', ['+61400000001'])", extra=extra)
    assert result["airflow_fail"] and result["error"] == "CellcastConfigurationError"
    assert named in result["message"]
    assert server.requests == []


@pytest.mark.parametrize(
    "token", ["tok-hostile-line\nbreak-1234", "tok-hostile-ünïcode-1234"], ids=["newline", "latin1"]
)
def test_tokens_that_cannot_travel_fail_before_any_request_and_stay_hidden(server, token):
    result = run_hook(server.url, "hook.cancel_scheduled_message(MID)", token=token)
    assert result["airflow_fail"] and result["error"] == "CellcastConfigurationError"
    assert "API token" in result["message"]
    assert server.requests == []


def test_a_misspelt_extra_is_named_with_the_setting_meant(server):
    server.routes[CANCEL] = answer(OK)
    result = run_hook(server.url, "hook.cancel_scheduled_message(MID)['outcome']", extra={"timeuot": 5})
    assert result["value"] == "cancelled"
    assert "'timeuot'" in result["output"] and "did you mean 'timeout'" in result["output"]


# -- shared state of one hook across threads ---------------------------------------------------------


def test_fifty_threads_share_one_connection_lookup_client_and_pacer(monkeypatch):
    from airflow_provider_cellcast.hooks.cellcast import CellcastHook

    conn = {"conn_type": "cellcast", "host": "https://api.cellcast.com", "password": TOKEN}
    monkeypatch.setenv("AIRFLOW_CONN_HOSTILE", json.dumps(conn))
    lookups: list[str] = []
    original = CellcastHook.get_connection.__func__  # type: ignore[attr-defined]

    def slow_lookup(cls, conn_id):
        lookups.append(conn_id)
        threading.Event().wait(0.05)  # a little set-up latency, where races show
        return original(cls, conn_id)

    monkeypatch.setattr(CellcastHook, "get_connection", classmethod(slow_lookup))
    hook = CellcastHook("hostile")
    barrier = threading.Barrier(50)
    seen: list[tuple[int, int]] = []

    def use() -> None:
        barrier.wait()
        seen.append((id(hook.client), id(hook.client.pacer)))

    threads = [threading.Thread(target=use) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert lookups == ["hostile"]
    assert len(set(seen)) == 1 and len(seen) == 50
