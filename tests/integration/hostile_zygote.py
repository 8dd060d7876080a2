"""A process that imports Airflow and the hook once, then runs each hostile-server case in a fork.

Every case of ``test_hostile_servers`` needs a process of its own: its peak memory, its output
(checked for the token) and its masker must be its own. Starting Python and importing Airflow
takes 4-7 s a case on a busy 2-core machine, longer than most calls under test, so this process
pays it once: it reads one JSON request per line on stdin (``env``, ``stdout``, ``stderr``: the
case's environment and the files its output goes to), forks, and answers one JSON line
(``returncode``) when the child has ended. It forks from one thread only (checked), which is
what makes forking after the imports safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import sys
import threading
import time
from typing import IO, Any

#: A case that has not ended after this long is killed (SIGALRM), and reported as such.
CASE_SECONDS = 120


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _async_call(hook: Any, what: str, outcome: dict[str, Any]) -> Any:
    async with await hook.get_async_client() as client:
        outcome["started"] = time.monotonic()
        return await eval(what, {"client": client, "MID": os.environ["MID"]})  # noqa: S307 (the test's own expression)


def run_case() -> dict[str, Any]:
    """The case described by the environment (``CALL``, ``MID``, ``HOOK_KWARGS``); its outcome."""
    from airflow.providers.common.compat.sdk import AirflowFailException

    from airflow_provider_cellcast.hooks.cellcast import CellcastHook
    from airflow_provider_cellcast.statuses import StatusRules

    hook = CellcastHook("hostile", **json.loads(os.environ.get("HOOK_KWARGS", "{}")))
    outcome: dict[str, Any] = {}
    # What is timed is the call alone: reading the connection and building the client (which on
    # Airflow 2 starts its ORM) come first.
    with contextlib.suppress(BaseException):  # the call itself raises it again, and is timed from here
        hook.client  # noqa: B018
    before, outcome["started"] = peak_mb(), time.monotonic()
    try:
        call = os.environ["CALL"]
        if call.startswith("async:"):
            value = asyncio.run(_async_call(hook, call[len("async:") :], outcome))
        else:
            value = eval(call, {"hook": hook, "MID": os.environ["MID"], "StatusRules": StatusRules})  # noqa: S307
        outcome["value"] = value
    except BaseException as error:
        outcome.update(
            error=type(error).__name__,
            classes=[cls.__name__ for cls in type(error).__mro__],
            message=str(error),
            airflow_fail=isinstance(error, AirflowFailException),
        )
    outcome.update(seconds=time.monotonic() - outcome.pop("started"), grew_mb=peak_mb() - before)
    return outcome


def _child(request: dict[str, Any], answers: IO[str]) -> None:
    answers.close()
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    os.environ.clear()
    os.environ.update(request["env"])
    signal.alarm(CASE_SECONDS)
    status = 0
    try:
        outcome = run_case()
        print("RESULT " + json.dumps(outcome, default=lambda value: getattr(value, "result", repr(value))))
    except BaseException:
        import traceback

        traceback.print_exc()
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def warm_up() -> None:
    """Import Airflow and the provider, read a connection and build a client once, so that the
    forks inherit what that imports and sets up (on Airflow 2 a first connection read alone takes
    over a second)."""
    import airflow_provider_cellcast.client.aio  # noqa: F401 (the async client's modules)
    from airflow_provider_cellcast.hooks.cellcast import CellcastHook

    os.environ["AIRFLOW_CONN_ZYGOTE_WARM_UP"] = json.dumps(
        {"conn_type": "cellcast", "host": "http://127.0.0.1:9", "password": "zygote-warm-up-not-a-token"}
    )
    hook = CellcastHook("zygote_warm_up")
    hook.client.close()
    # Not the async client: reading its connection starts asgiref's worker thread (Airflow < 3.3.2),
    # and a fork must start from one thread. Its modules are imported above.
    del os.environ["AIRFLOW_CONN_ZYGOTE_WARM_UP"]


def main() -> int:
    # Answers go through a copy of stdout; stdout itself goes to stderr, where whatever Airflow
    # prints while it loads cannot be mistaken for an answer.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    warm_up()
    for line in sys.stdin:
        request = json.loads(line)
        if threading.active_count() != 1:
            raise RuntimeError(f"cannot fork safely with threads running: {threading.enumerate()}")
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, answers)
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
