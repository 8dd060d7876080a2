"""DAG-parse cost: what importing an operator module adds once ``airflow.sdk`` is imported.

Run by ``benchmarks.main`` as ``python -m benchmarks.parse_cost`` (prints one JSON document).

Main measure (``--reps`` each, interleaved, order alternating): this process imports
``airflow.sdk`` once, then for every measurement forks a fresh child that imports the operator
module and reports the time. This is how Airflow 3's DAG processor parses a DAG file (a process
forked from one that has Airflow imported), and it spares every sample the several seconds
``airflow.sdk`` itself takes to import on a loaded machine.

Cross-check (``--cold-reps`` each): brand-new interpreters (``python -c``) that import
``airflow.sdk``, then the module, timing both.

Also: the example DAG files' parse time (``runpy`` in a forked child, ``airflow.sdk`` already
imported), and, when asked (``--importtime MODULE``), the heaviest imports a module pulls in after
``airflow.sdk`` (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import runpy
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

OURS = "airflow_provider_cellcast.operators.cancel_campaign"
HTTP = "airflow.providers.http.operators.http"
HTTP_STACK = frozenset({"requests", "aiohttp", "urllib3", "tenacity", "airflow_provider_cellcast.hooks.cellcast"})


def in_fork(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` in a forked child; return what it returned (through a pipe)."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        try:
            payload = json.dumps(work())
        except BaseException as error:  # report anything, never fall back into the parent's code
            payload = json.dumps({"error": f"{type(error).__name__}: {error}"})
        with os.fdopen(write_end, "w") as pipe:
            pipe.write(payload)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    result: dict[str, Any] = json.loads(data)
    if "error" in result:
        raise RuntimeError(f"forked measurement failed: {result['error']}")
    return result


def import_cost(module: str) -> dict[str, Any]:
    """(In the child) import ``module``; return the time and what it pulled in."""
    before = set(sys.modules)
    started = time.perf_counter()
    importlib.import_module(module)
    seconds = time.perf_counter() - started
    new = set(sys.modules) - before
    return {
        "seconds": seconds,
        "new_modules": len(new),
        "new_packages": sorted({name.split(".")[0] for name in new}),
    }


def parse_cost(path: str) -> dict[str, Any]:
    """(In the child) execute a DAG file the way a DAG processor would; return the time."""
    before = set(sys.modules)
    started = time.perf_counter()
    runpy.run_path(path, run_name="benchmark_dag_file")
    seconds = time.perf_counter() - started
    new = set(sys.modules) - before
    return {
        "seconds": seconds,
        "new_modules": len(new),
        "ours": sorted(name for name in new if name.split(".")[0] == "airflow_provider_cellcast"),
        # The HTTP stack a task needs but a parse should not load.
        "http_stack": sorted(name for name in new if name in HTTP_STACK or name.startswith("airflow.providers.http")),
    }


def cold_import(module: str) -> dict[str, float]:
    """A brand-new interpreter: import ``airflow.sdk``, then ``module``; both times."""
    code = (
        "import importlib, json, time\n"
        "t0 = time.perf_counter()\n"
        "import airflow.sdk\n"
        "t1 = time.perf_counter()\n"
        f"importlib.import_module({module!r})\n"
        "t2 = time.perf_counter()\n"
        "print(json.dumps({'sdk_seconds': t1 - t0, 'seconds': t2 - t1}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def heaviest_imports(module: str, top: int = 12) -> list[dict[str, Any]]:
    """``python -X importtime``: the modules ``module`` imports after ``airflow.sdk``, by cumulative time."""
    code = f"import airflow.sdk\nimport sys\nprint('----', file=sys.stderr)\nimport {module}\n"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    lines = done.stderr.split("----", 1)[-1].splitlines()
    rows = []
    for line in lines:
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, self_us, cumulative_us, name = (part.strip() for part in line.replace("import time:", "|", 1).split("|"))
        if self_us.isdigit():
            rows.append(
                {"module": name.strip(), "self_ms": int(self_us) / 1000, "cumulative_ms": int(cumulative_us) / 1000}
            )
    rows.sort(key=lambda row: row["cumulative_ms"], reverse=True)
    return rows[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15, help="forked samples per module (default 15)")
    parser.add_argument("--cold-reps", type=int, default=2, help="brand-new interpreters per module (default 2)")
    parser.add_argument("--dag-reps", type=int, default=5, help="forked parses per DAG file (default 5)")
    parser.add_argument("--dag-file", action="append", default=[], help="DAG file to time (repeatable)")
    parser.add_argument("--importtime", action="append", default=[], help="module to break down with -X importtime")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    import airflow.sdk  # noqa: F401 - the baseline every sample starts from

    sdk_seconds = time.perf_counter() - started
    result: dict[str, Any] = {"sdk_import_seconds_in_parent": sdk_seconds, "forked": {OURS: [], HTTP: []}}
    for rep in range(args.reps):
        order = (OURS, HTTP) if rep % 2 == 0 else (HTTP, OURS)
        for module in order:
            result["forked"][module].append(in_fork(lambda module=module: import_cost(module)))

    result["dag_files"] = {}
    for rep in range(args.dag_reps):
        for path in args.dag_file if rep % 2 == 0 else reversed(args.dag_file):
            sample = in_fork(lambda path=path: parse_cost(path))
            result["dag_files"].setdefault(path, []).append(sample)

    result["cold"] = {OURS: [], HTTP: []}
    for rep in range(args.cold_reps):
        for module in (OURS, HTTP) if rep % 2 == 0 else (HTTP, OURS):
            result["cold"][module].append(cold_import(module))

    result["importtime"] = {module: heaviest_imports(module) for module in args.importtime}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
