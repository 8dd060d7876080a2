"""Run every benchmark side by side, then write ``benchmarks/results.md`` and ``docs/benchmarks.png``.

``bash benchmarks/run`` calls this after ``scripts/bootstrap``. What each row means: benchmarks/README.md.
Nothing here asserts a timing: the figures are reported, and the targets marked met or missed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from benchmarks.common import (
    BENCH_DAGS,
    CANCEL_PATH,
    EXAMPLE_DAGS,
    REPO,
    Emulator,
    airflow_environment,
    emulator_process,
    load_average,
    machine_info,
    median,
    migrate_database,
    percentile,
    schedule_ids,
    statuses,
)

#: An ID of the right form that the emulator never issued.
UNKNOWN_ID = "675161d8a000000000000000"


class Console:
    """Progress lines on the terminal while the measured code's output goes to a log file."""

    def __init__(self) -> None:
        self.stream: TextIO = sys.stdout

    def say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


CONSOLE = Console()


@contextmanager
def output_to(log_path: Path) -> Iterator[None]:
    """Send file descriptors 1 and 2 (Airflow's task logs, warnings) to ``log_path`` meanwhile."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(1), "w", buffering=1)
    previous, CONSOLE.stream = CONSOLE.stream, console
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            CONSOLE.stream = previous
            console.close()


# ---------------------------------------------------------------------------------------------- 1
def bench_parse_cost(env: dict[str, str], args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Benchmark 1 in its own process (``benchmarks.parse_cost``): forked samples, cold cross-check, DAG files."""
    import subprocess

    dag_files = [*sorted(str(path) for path in EXAMPLE_DAGS.glob("*.py")), str(BENCH_DAGS / "parse_reference_http.py")]
    command = [
        sys.executable,
        "-m",
        "benchmarks.parse_cost",
        "--reps",
        str(args.parse_reps),
        "--cold-reps",
        str(args.cold_reps),
        "--dag-reps",
        str(args.dag_reps),
        *[item for path in dag_files for item in ("--dag-file", path)],
    ]
    with open(workdir / "parse_cost.stderr", "w") as errors:
        done = subprocess.run(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=errors, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks.parse_cost failed: {(workdir / 'parse_cost.stderr').read_text()[-3000:]}")
    raw: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    from benchmarks.parse_cost import HTTP, OURS

    ours = [sample["seconds"] * 1000 for sample in raw["forked"][OURS]]
    http = [sample["seconds"] * 1000 for sample in raw["forked"][HTTP]]
    result: dict[str, Any] = {
        "reps": args.parse_reps,
        "ours_ms": ours,
        "http_ms": http,
        "ours_median_ms": median(ours),
        "http_median_ms": median(http),
        "ours_new_modules": raw["forked"][OURS][0]["new_modules"],
        "http_new_modules": raw["forked"][HTTP][0]["new_modules"],
        "http_new_packages": raw["forked"][HTTP][0]["new_packages"],
        "sdk_import_s": raw["sdk_import_seconds_in_parent"],
        "cold": {
            "ours_ms": [sample["seconds"] * 1000 for sample in raw["cold"][OURS]],
            "http_ms": [sample["seconds"] * 1000 for sample in raw["cold"][HTTP]],
            "sdk_s": [sample["sdk_seconds"] for module in (OURS, HTTP) for sample in raw["cold"][module]],
        },
        "dag_files": {
            str(Path(path).relative_to(REPO)): {
                "median_ms": median([sample["seconds"] * 1000 for sample in samples]),
                "samples_ms": [sample["seconds"] * 1000 for sample in samples],
                "new_modules": samples[0]["new_modules"],
                "ours": samples[0]["ours"],
                "http_stack": samples[0]["http_stack"],
            }
            for path, samples in raw["dag_files"].items()
        },
    }
    result["ratio"] = result["ours_median_ms"] / result["http_median_ms"]
    result["met"] = result["ours_median_ms"] <= 15 and result["ratio"] <= 0.1
    if not result["met"]:
        # What makes ours heavy: the same tool a maintainer would reach for.
        diagnose = [sys.executable, "-m", "benchmarks.parse_cost", "--reps", "0", "--cold-reps", "0", "--dag-reps"]
        done = subprocess.run(
            [*diagnose, "0", "--importtime", OURS], env=env, cwd=REPO, capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            result["importtime"] = json.loads(done.stdout.strip().splitlines()[-1])["importtime"][OURS]
    return result


# ---------------------------------------------------------------------------------------------- 2
def bench_rate_limit(emulator: Emulator, args: argparse.Namespace) -> dict[str, Any]:
    """Benchmark 2: 200 IDs through ``cancel_scheduled_messages`` at 40/s against a 40/s emulator."""
    from airflow_provider_cellcast.hooks.cellcast import CellcastHook
    from airflow_provider_cellcast.ratelimit import DEFAULT_HEADROOM, RequestPacer

    rate, latency_ms, count, workers = 40, 30, args.rate_ids, 8
    variants = [
        ("shipped", f"pacer as shipped (headroom {DEFAULT_HEADROOM:.0%}: {rate * (1 - DEFAULT_HEADROOM):g}/s)", None),
        ("exact", f"pacer at exactly {rate}/s (headroom 0)", 0.0),
    ]
    runs: list[dict[str, Any]] = []
    for rep in range(args.rate_reps):
        for key, label, headroom in variants if rep % 2 == 0 else list(reversed(variants)):
            emulator.client.configure(rate_limit_per_second=None, latency_ms=0)
            ids = schedule_ids(emulator, count)
            emulator.client.configure(rate_limit_per_second=rate, latency_ms=latency_ms)
            emulator.client.clear_requests_log()
            time.sleep(1.2)  # the emulator's one-second window starts empty
            hook = CellcastHook("cellcast_default", requests_per_second=rate, max_concurrency=workers)
            if headroom is not None:
                # The phenomenon the shipped headroom avoids: the pacer at exactly the server's rate.
                hook.__dict__["_pacer"] = RequestPacer(rate, headroom=headroom, sleep=hook._sleep)
            CONSOLE.say(f"   {label}, run {rep + 1}/{args.rate_reps} ...")
            started = time.perf_counter()
            try:
                outcomes = hook.cancel_scheduled_messages(ids, "sms")
            finally:
                wall = time.perf_counter() - started
                hook.close()
            journal = [entry for entry in emulator.client.requests_log() if entry["path"] == CANCEL_PATH]
            emulator.client.configure(rate_limit_per_second=None, latency_ms=0)
            results = [outcome.result for outcome in outcomes]
            runs.append(
                {
                    "variant": key,
                    "label": label,
                    "rep": rep + 1,
                    "wall_s": wall,
                    "ratio_to_floor": wall / (count / rate),
                    "cancelled": sum(1 for item in results if item["outcome"] == "cancelled"),
                    "failed": sum(1 for item in results if item["outcome"] == "failed"),
                    "failed_by_429": sum(1 for item in results if item["status_code"] == 429),
                    "answered_429": sum(1 for entry in journal if entry["status"] == 429),
                    "cancel_requests": len(journal),
                    "emulator_canceled": statuses(emulator, ids).get("canceled", 0),
                }
            )
            CONSOLE.say(f"      {wall:.2f} s, {runs[-1]['answered_429']} answered 429, {runs[-1]['failed']} failed")
    shipped = [run for run in runs if run["variant"] == "shipped"]
    worst = max(shipped, key=lambda run: run["wall_s"])
    return {
        "rate": rate,
        "latency_ms": latency_ms,
        "ids": count,
        "workers": workers,
        "floor_s": count / rate,
        "runs": runs,
        "shipped_median_s": median([run["wall_s"] for run in shipped]),
        "shipped_worst": worst,
        "met": all(
            run["ratio_to_floor"] <= 1.25 and run["failed"] == 0 and run["emulator_canceled"] == count
            for run in shipped
        ),
    }


# ---------------------------------------------------------------------------------------------- 4
def bench_per_call(emulator: Emulator, args: argparse.Namespace) -> dict[str, Any]:
    """Benchmark 4: one ``cancel_scheduled_message`` against a bare ``requests.Session.post``, interleaved."""
    import requests

    from airflow_provider_cellcast.hooks.cellcast import CellcastHook

    calls, warmup = args.calls, 10
    emulator.client.configure(rate_limit_per_second=None, latency_ms=0)
    hook_ids = schedule_ids(emulator, calls + warmup)
    plain_ids = schedule_ids(emulator, calls + warmup, first_number=5000)
    hook = CellcastHook("cellcast_default", requests_per_second=0)
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {emulator.token}", "Accept": "application/json", "User-Agent": "benchmark"}
    )
    url = f"{emulator.url}{CANCEL_PATH}"
    hook_times: list[float] = []
    plain_times: list[float] = []
    hook_outcomes: list[str] = []
    plain_responses: list[Any] = []
    try:
        for index in range(warmup):  # connections opened, code paths warm
            hook.cancel_scheduled_message(hook_ids[index], "sms")
            session.post(url, json={"messageId": plain_ids[index], "type": "sms"}, timeout=(10, 30))
        for index in range(warmup, warmup + calls):
            for side in ("hook", "plain") if index % 2 == 0 else ("plain", "hook"):
                if side == "hook":
                    started = time.perf_counter()
                    result = hook.cancel_scheduled_message(hook_ids[index], "sms")
                    hook_times.append(time.perf_counter() - started)
                    hook_outcomes.append(result["outcome"])
                else:
                    started = time.perf_counter()
                    response = session.post(url, json={"messageId": plain_ids[index], "type": "sms"}, timeout=(10, 30))
                    plain_times.append(time.perf_counter() - started)
                    plain_responses.append(response)
    finally:
        hook.close()
        session.close()
    plain_ok = sum(1 for response in plain_responses if response.status_code == 200 and response.json()["status"])
    hook_ms = [seconds * 1000 for seconds in hook_times]
    plain_ms = [seconds * 1000 for seconds in plain_times]
    ratio = median(hook_ms) / median(plain_ms)
    return {
        "calls": calls,
        "hook_ms": hook_ms,
        "plain_ms": plain_ms,
        "hook_median_ms": median(hook_ms),
        "plain_median_ms": median(plain_ms),
        "hook_p90_ms": percentile(hook_ms, 0.9),
        "plain_p90_ms": percentile(plain_ms, 0.9),
        "ratio": ratio,
        "hook_cancelled": hook_outcomes.count("cancelled"),
        "plain_ok": plain_ok,
        "emulator_canceled": statuses(emulator, hook_ids + plain_ids).get("canceled", 0),
        "met": ratio <= 1.3 and hook_outcomes.count("cancelled") == calls and plain_ok == calls,
    }


# ---------------------------------------------------------------------------------------------- 3, 5
def load_dag(dag_id: str) -> Any:
    """Parse ``benchmarks/dags`` the way the DAG processor does; return one DAG."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(BENCH_DAGS))
    if bag.import_errors:
        raise RuntimeError(f"benchmark DAGs failed to import: {bag.import_errors}")
    return bag.dags[dag_id]


def run_dag(dag: Any, conf: dict[str, Any] | None = None) -> dict[str, Any]:
    """``dag.test()``; return its wall time, the run and task states, and every XCom of the run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    started = time.perf_counter()
    dag_run = dag.test(run_conf=conf)
    wall = time.perf_counter() - started
    with create_session() as session:
        instances = dag_run.get_task_instances(session=session)
        rows = session.query(XComModel).filter(XComModel.dag_id == dag.dag_id, XComModel.run_id == dag_run.run_id)
        xcom = {(row.task_id, row.map_index, row.key): _xcom_value(row.value) for row in rows}
        states = [str(ti.state) for ti in instances]
    return {"wall_s": wall, "state": str(dag_run.state), "task_states": states, "xcom": xcom}


def _xcom_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def bench_thousand(emulator: Emulator, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Benchmark 3: 1,000 IDs, no rate limit: bulk operator vs plain loop vs mapped HttpOperator."""
    import requests

    count, latency_ms = args.bulk_ids, 5
    emulator.client.configure(rate_limit_per_second=None, latency_ms=latency_ms)
    result: dict[str, Any] = {"ids": count, "latency_ms": latency_ms}

    # The first dag.test() of a process starts Airflow's in-process execution API (about 10 s on a
    # loaded 2-CPU machine): a one-time cost, paid here by a small run that is not measured.
    warm_ids = schedule_ids(emulator, 5, first_number=40_000)
    CONSOLE.say("   dag.test() warm-up (one-time in-process execution API start, not counted) ...")
    warm = run_dag(load_dag("bench_cellcast_bulk_cancel"), {"message_ids": warm_ids})
    result["warmup_s"] = warm["wall_s"]
    CONSOLE.say(f"      {warm['wall_s']:.2f} s, run {warm['state']}")

    # (a) the operator's bulk mode in one dag.test()
    ids = schedule_ids(emulator, count)
    emulator.client.clear_requests_log()
    dag = load_dag("bench_cellcast_bulk_cancel")
    CONSOLE.say(f"   (a) CellcastCancelCampaignOperator, {count} IDs in one task (dag.test) ...")
    run = run_dag(dag, {"message_ids": ids})
    results = run["xcom"].get(("cancel_campaign", -1, "results"), [])
    journal = [entry for entry in emulator.client.requests_log() if entry["path"] == CANCEL_PATH]
    result["bulk"] = {
        "wall_s": run["wall_s"],
        "state": run["state"],
        "results": len(results),
        "cancelled": sum(1 for item in results if item["outcome"] == "cancelled"),
        "cancel_requests": len(journal),
        "emulator_canceled": statuses(emulator, ids).get("canceled", 0),
    }
    CONSOLE.say(f"      {run['wall_s']:.2f} s, run {run['state']}")

    # (b) a plain sequential requests.Session loop
    ids = schedule_ids(emulator, count, first_number=10_000)
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {emulator.token}", "Accept": "application/json"})
    url = f"{emulator.url}{CANCEL_PATH}"
    CONSOLE.say(f"   (b) sequential requests.Session loop, {count} IDs ...")
    ok = 0
    started = time.perf_counter()
    try:
        for message_id in ids:
            response = session.post(url, json={"messageId": message_id, "type": "sms"}, timeout=(10, 30))
            ok += response.status_code == 200 and response.json()["status"] is True
    finally:
        wall = time.perf_counter() - started
        session.close()
    result["loop"] = {"wall_s": wall, "ok": ok, "emulator_canceled": statuses(emulator, ids).get("canceled", 0)}
    CONSOLE.say(f"      {wall:.2f} s")

    # (c) the stock HttpOperator mapped over the IDs, on subsets when 1,000 would take too long
    sizes = sorted({args.mapped_small, args.mapped_ids}) if args.mapped_ids < count else [count]
    mapped_runs = []
    for size in sizes:
        ids = schedule_ids(emulator, size, first_number=20_000 + size)
        ids_file = workdir / f"mapped_ids_{size}.json"
        ids_file.write_text(json.dumps(ids))
        os.environ["CELLCAST_BENCH_MAPPED_IDS"] = str(ids_file)
        dag = load_dag("bench_http_mapped_cancel")
        CONSOLE.say(f"   (c) HttpOperator.partial().expand() over {size} IDs (dag.test) ...")
        run = run_dag(dag)
        mapped_runs.append(
            {
                "ids": size,
                "wall_s": run["wall_s"],
                "state": run["state"],
                "tasks_success": run["task_states"].count("success"),
                "emulator_canceled": statuses(emulator, ids).get("canceled", 0),
            }
        )
        CONSOLE.say(f"      {run['wall_s']:.2f} s, run {run['state']}")
    os.environ.pop("CELLCAST_BENCH_MAPPED_IDS", None)
    result["mapped"] = mapped_runs
    largest = mapped_runs[-1]
    if largest["ids"] == count:
        per_1000, per_task, how = largest["wall_s"] * 1000 / count, None, "measured on all IDs"
    else:
        # Two estimates; the lower one is kept, so that the comparison never flatters the bulk mode.
        small = mapped_runs[0]
        per_task = (largest["wall_s"] - small["wall_s"]) / (largest["ids"] - small["ids"])
        line = largest["wall_s"] + per_task * (1000 - largest["ids"])
        scaled = largest["wall_s"] * 1000 / largest["ids"]
        per_1000 = min(line, scaled)
        how = (
            f"**extrapolated** from {small['ids']} and {largest['ids']} IDs: the lower of the straight line through "
            f"both runs ({line:.0f} s, {per_task * 1000:.0f} ms per mapped task) and "
            f"{1000 // largest['ids']} x the {largest['ids']}-ID run ({scaled:.0f} s)"
        )
    result["mapped_per_1000_s"] = per_1000
    result["mapped_per_task_s"] = per_task
    result["mapped_how"] = how
    result["bulk_per_1000_s"] = result["bulk"]["wall_s"] * 1000 / count
    result["loop_per_1000_s"] = result["loop"]["wall_s"] * 1000 / count
    result["speedup"] = per_1000 / result["bulk_per_1000_s"]
    result["met"] = (
        result["speedup"] >= 20
        and result["bulk"]["state"] == "success"
        and result["bulk"]["emulator_canceled"] == count
        and all(run["emulator_canceled"] == run["ids"] for run in mapped_runs)
    )
    return result


def bench_unknown_id(emulator: Emulator, args: argparse.Namespace) -> dict[str, Any]:
    """Demonstration 5: one unknown ID among many, through the operator in dag.test()."""
    emulator.client.configure(rate_limit_per_second=None, latency_ms=5)
    ids = schedule_ids(emulator, args.unknown_batch, first_number=30_000)
    half = len(ids) // 2
    batch = [*ids[:half], UNKNOWN_ID, *ids[half:]]
    dag = load_dag("bench_cellcast_bulk_cancel")
    CONSOLE.say(f"   {len(ids)} scheduled IDs + 1 unknown ID (dag.test) ...")
    run = run_dag(dag, {"message_ids": batch})
    results = run["xcom"].get(("cancel_campaign", -1, "results"), [])
    outcomes: dict[str, int] = {}
    for item in results:
        outcomes[item["outcome"]] = outcomes.get(item["outcome"], 0) + 1
    unknown = [item for item in results if item["message_id"] == UNKNOWN_ID]
    result = {
        "scheduled": len(ids),
        "batch": len(batch),
        "wall_s": run["wall_s"],
        "run_state": run["state"],
        "task_state": run["task_states"][0] if run["task_states"] else "missing",
        "results_listed": len(results),
        "results_in_input_order": [item["message_id"] for item in results] == batch,
        "outcomes": outcomes,
        "unknown_error": unknown[0]["error"] if unknown else None,
        "emulator_canceled": statuses(emulator, ids).get("canceled", 0),
    }
    result["met"] = (
        result["task_state"] == "failed"
        and result["emulator_canceled"] == len(ids)
        and result["results_listed"] == len(batch)
        and outcomes.get("failed") == 1
    )
    CONSOLE.say(f"      task {result['task_state']}, {result['emulator_canceled']}/{len(ids)} cancelled")
    return result


# ---------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the airflow-provider-cellcast benchmarks (about 3-5 minutes).")
    parser.add_argument("--parse-reps", type=int, default=15, help="forked import samples per module (15)")
    parser.add_argument("--cold-reps", type=int, default=2, help="brand-new interpreters per module (2)")
    parser.add_argument("--dag-reps", type=int, default=5, help="forked parses per DAG file (5)")
    parser.add_argument("--rate-ids", type=int, default=200, help="IDs of the rate-limit benchmark (200)")
    parser.add_argument("--rate-reps", type=int, default=2, help="runs per pacer variant at the rate limit (2)")
    parser.add_argument("--bulk-ids", type=int, default=1000, help="IDs of the no-limit benchmark (1000)")
    parser.add_argument(
        "--mapped-ids", type=int, default=100, help="IDs for the mapped HttpOperator (100; 1000 measures all)"
    )
    parser.add_argument("--mapped-small", type=int, default=10, help="smaller mapped run for the extrapolation (10)")
    parser.add_argument("--calls", type=int, default=300, help="calls per side of the per-call benchmark (300)")
    parser.add_argument("--unknown-batch", type=int, default=50, help="scheduled IDs around the unknown one (50)")
    parser.add_argument("--keep-home", action="store_true", help="keep the throwaway AIRFLOW_HOME and its logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="cellcast-bench-home-"))
    os.environ.update(airflow_environment(home))  # before anything imports Airflow
    env = dict(os.environ)
    log_path = home / "benchmark.log"
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine_info(), "args": vars(args)}
    results["machine"]["load_before"] = load_average()
    ok = False
    try:
        CONSOLE.say(f"Benchmarks on {results['machine']['nproc']} CPUs (load {load_average()}); log: {log_path}")
        CONSOLE.say("1. DAG-parse cost (forked children after airflow.sdk, interleaved) ...")
        results["parse"] = bench_parse_cost(env, args, home)
        CONSOLE.say(
            f"   ours {results['parse']['ours_median_ms']:.1f} ms vs http {results['parse']['http_median_ms']:.0f} ms"
        )
        CONSOLE.say("   airflow db migrate (throwaway SQLite home) ...")
        results["migrate_s"] = migrate_database(env)
        with emulator_process(env) as emulator:
            os.environ["AIRFLOW_CONN_CELLCAST_DEFAULT"] = json.dumps(
                {"conn_type": "cellcast", "host": emulator.url, "password": emulator.token}
            )
            os.environ["AIRFLOW_CONN_CELLCAST_HTTP"] = json.dumps(
                {"conn_type": "http", "host": emulator.url, "extra": {"Authorization": f"Bearer {emulator.token}"}}
            )
            with output_to(log_path):
                CONSOLE.say("4. Per-call overhead: hook vs bare requests.Session.post, interleaved ...")
                results["per_call"] = bench_per_call(emulator, args)
                CONSOLE.say(
                    f"   hook {results['per_call']['hook_median_ms']:.2f} ms vs "
                    f"session {results['per_call']['plain_median_ms']:.2f} ms"
                )
                CONSOLE.say("2. Bulk cancel at a rate limit (emulator 40/s, 30 ms) ...")
                results["rate"] = bench_rate_limit(emulator, args)
                CONSOLE.say("3. 1,000 IDs without a rate limit (emulator latency 5 ms) ...")
                results["thousand"] = bench_thousand(emulator, args, home)
                CONSOLE.say("5. Batch with an unknown ID ...")
                results["unknown"] = bench_unknown_id(emulator, args)
        ok = True
    except BaseException:
        if log_path.exists():
            tail = log_path.read_text(errors="replace").splitlines()[-60:]
            print("\n".join(["--- last lines of the benchmark log ---", *tail]), file=sys.stderr)
        raise
    finally:
        os.environ.pop("AIRFLOW_CONN_CELLCAST_DEFAULT", None)
        os.environ.pop("AIRFLOW_CONN_CELLCAST_HTTP", None)
        if args.keep_home or not ok:
            print(f"AIRFLOW_HOME and logs kept in {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)
    results["machine"]["load_after"] = load_average()
    results["total_s"] = time.perf_counter() - started

    from benchmarks.report import write_plot, write_results

    table = write_results(results)
    write_plot(results)
    print()
    print(table)
    print(f"\nWrote benchmarks/results.md and docs/benchmarks.png in {results['total_s']:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
