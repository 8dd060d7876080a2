"""One bulk cancel in its own process, for the shared rate-limit test and benchmark.

``python shared_limit_worker.py IDS_JSON_FILE [setting=value ...]``: imports everything and opens
its connections, prints ``ready``, waits for a line on standard input (so that every worker
starts at once), cancels the IDs with ``CellcastHook.cancel_scheduled_messages`` (connection
``cellcast_default`` from the environment, settings overridden by the arguments), and prints one
JSON line: outcomes by kind, failures by status code, and wall times.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    with open(argv[0]) as ids_file:
        ids = json.load(ids_file)
    overrides = dict(arg.split("=", 1) for arg in argv[1:])
    from airflow_provider_cellcast.hooks.cellcast import CellcastHook

    hook = CellcastHook("cellcast_default", **overrides)
    hook.get_conn()
    print("ready", flush=True)
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
        json.dumps({"outcomes": counts, "failed_status_codes": status_codes, "started": started, "finished": finished}),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
