"""One bulk cancel in its own process, for the shared rate-limit test and benchmark.

``python shared_limit_worker.py IDS_JSON_FILE [setting=value ...]``: imports everything and opens
its connections, answers ``ready``, waits for a line on standard input (so that every worker
starts at once), cancels the IDs with ``CellcastHook.cancel_scheduled_messages`` (connection
``cellcast_default`` from the environment, settings overridden by the arguments), and answers one
JSON object: outcomes by kind, failures by status code, and wall times. Answers are the stdout lines
that start with :data:`ANSWER`: Airflow 2 logs to stdout too. :func:`next_answer` reads them.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable

#: What starts the worker's own lines on stdout.
ANSWER = "WORKER "


def next_answer(stdout: Iterable[str]) -> str:
    """The worker's next answer in ``stdout`` (a pipe, or lines), past whatever else it printed."""
    skipped = []
    for line in stdout:
        if line.startswith(ANSWER):
            return line[len(ANSWER) :].strip()
        skipped.append(line)
    raise RuntimeError("the worker ended without answering; it printed: " + "".join(skipped)[-2000:])


def main(argv: list[str]) -> int:
    with open(argv[0]) as ids_file:
        ids = json.load(ids_file)
    overrides = dict(arg.split("=", 1) for arg in argv[1:])
    from airflow_provider_cellcast.hooks.cellcast import CellcastHook

    hook = CellcastHook("cellcast_default", **overrides)
    hook.get_conn()
    print(f"{ANSWER}ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    outcomes = hook.cancel_scheduled_messages(ids, "sms")
    finished = time.time()
    hook.close()
    counts: dict[str, int] = {}
    status_codes: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.result["outcome"]] = counts.get(outcome.result["outcome"], 0) + 1
        if outcome.error is not None:
            key = str(outcome.result["status_code"])
            status_codes[key] = status_codes.get(key, 0) + 1
    print(
        ANSWER
        + json.dumps(
            {"outcomes": counts, "failed_status_codes": status_codes, "started": started, "finished": finished}
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
