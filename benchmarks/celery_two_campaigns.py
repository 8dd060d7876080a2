"""Airflow on CeleryExecutor on this machine: two campaigns cancelled at once through the shared limiter.

``bash benchmarks/run celery_two_campaigns`` or, once ``.venv`` exists,
``.venv/bin/python -m benchmarks.celery_two_campaigns`` (about 3-5 minutes; the first run also
creates ``.venv-celery``). Airflow with Celery needs a metadata database other than SQLite, so it
runs:

- ``.venv-celery``: apache-airflow 3.3.2, apache-airflow-providers-celery, psycopg2-binary, asyncpg (Airflow 3.3
  opens an async engine on PostgreSQL too) and this
  package with its ``[redis]`` extra (a separate venv: the celery provider upgrades packages of
  ``.venv``), created with uv (``scripts/uv``: from PATH, else installed into ``.venv-tools``) when missing;
- a throwaway PostgreSQL 15 cluster (Debian's ``postgresql``; ``initdb`` as user ``postgres``),
  a throwaway ``redis-server`` (Celery broker and result backend's neighbour, and the shared rate
  limit), the emulator as its own process (40 requests/s sliding window, 30 ms latency);
- ``airflow api-server``, ``scheduler``, ``dag-processor`` and two ``airflow celery worker``
  processes (concurrency 1 each, so the two tasks land on different workers).

The DAG ``benchmarks/celery_dags/cellcast_two_campaigns.py`` cancels campaigns ``campaign-a`` and
``campaign-b`` (200 scheduled SMS each) by reference, ``requests_per_second: 40`` and
``rate_limit_redis_conn_id`` on the connection. Printed and written to
``benchmarks/celery_results.md``: run state, each task's worker and duration, cancel and list
requests the emulator received, 429s it answered, messages cancelled.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from benchmarks.common import CANCEL_PATH, REPO, load_average, machine_info

VENV = REPO / ".venv-celery"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DAG_ID = "cellcast_two_campaigns"
PER_CAMPAIGN = 200
LIMIT = 40
LATENCY_MS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def say(text: str) -> None:
    print(text, flush=True)


def find_uv() -> str:
    """uv's path, from ``scripts/uv``: uv on PATH when recent enough, else installed into ``.venv-tools``."""
    done = subprocess.run(["bash", str(REPO / "scripts" / "uv"), "--which"], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    stamp = VENV / ".cellcast-celery-ready-2"  # new name when the list below changes
    if not stamp.exists():
        say(f"creating {VENV.name} (apache-airflow 3.3.2 + celery provider + psycopg2) with uv ...")
        uv = find_uv()
        if not python.exists():
            subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(VENV)], check=True)
        subprocess.run(
            [
                uv, "pip", "install", "--quiet", "--python", str(python),
                "apache-airflow==3.3.2", "apache-airflow-providers-celery", "psycopg2-binary", "asyncpg",
                "-e", f"{REPO}[redis]",
            ],
            check=True,
        )  # fmt: skip
        stamp.touch()
    return VENV / "bin"


@contextmanager
def process(command: list[str], log: Path, env: dict[str, str], **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A background process with its output in ``log``; terminated (then killed) on exit."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, **kwargs)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@contextmanager
def postgres(workdir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL cluster (run as user ``postgres``); yields a SQLAlchemy URL."""
    data = workdir / "pgdata"
    data.mkdir()
    shutil.chown(workdir, "postgres")
    shutil.chown(data, "postgres")
    port = free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_postgres, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        [*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(workdir / "pg.log"), "-w",
         "start"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    try:
        subprocess.run(
            [*as_postgres, str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "airflow"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/airflow"
    finally:
        subprocess.run([*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], check=False,
                       capture_output=True)  # fmt: skip


def psql(url: str, query: str) -> list[list[str]]:
    port = url.rsplit(":", 1)[1].split("/")[0]
    done = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "airflow", "-At", "-F", "\t", "-c", query],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def airflow(bin_dir: Path, env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "airflow"), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def main() -> int:
    subprocess.run(["bash", str(REPO / "scripts" / "install-redis")], check=True)  # broker and shared limit
    bin_dir = ensure_venv()
    workdir = Path(tempfile.mkdtemp(prefix="cellcast-celery-"))
    logs = Path(tempfile.mkdtemp(prefix="cellcast-celery-logs-"))  # kept: every process's output
    say(f"logs in {logs}")
    info = machine_info()
    info["load_before"] = load_average()
    result: dict[str, Any] = {"machine": info}
    try:
        with ExitStack() as stack:
            say("PostgreSQL, redis-server, emulator ...")
            db_url = stack.enter_context(postgres(workdir))
            redis_port = free_port()
            stack.enter_context(
                process(
                    ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""],
                    logs / "redis.log",
                    dict(os.environ),
                )
            )
            from airflow_provider_cellcast.emulator import emulator_process

            emulator = stack.enter_context(emulator_process(None, "--log-level", "warning"))
            api_port = free_port()
            home = workdir / "airflow-home"
            home.mkdir()
            dags = REPO / "benchmarks" / "celery_dags"
            env = {
                **os.environ,
                "PATH": f"{bin_dir}:{os.environ['PATH']}",
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
                    [
                        {
                            "name": "celery-bench",
                            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                            "kwargs": {"path": str(dags), "refresh_interval": 0},
                        }
                    ]
                ),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/1",
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{db_url}",  # psycopg2: plain postgresql:// wants psycopg 3
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
                "AIRFLOW__API__PORT": str(api_port),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
                "AIRFLOW_CONN_CELLCAST_REDIS": json.dumps(
                    {"conn_type": "redis", "host": "127.0.0.1", "port": redis_port, "extra": {"db": 0}}
                ),
                "AIRFLOW_CONN_CELLCAST_DEFAULT": json.dumps(
                    {
                        "conn_type": "cellcast",
                        "host": emulator.base_url,
                        "password": emulator.token,
                        "extra": {"requests_per_second": LIMIT, "rate_limit_redis_conn_id": "cellcast_redis"},
                    }
                ),
            }
            say("airflow db migrate (PostgreSQL) ...")
            done = airflow(bin_dir, env, "db", "migrate", timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
            say("api-server, scheduler, dag-processor, two celery workers ...")
            for name, args in [
                ("api-server", ["api-server", "--port", str(api_port)]),
                ("scheduler", ["scheduler"]),
                ("dag-processor", ["dag-processor"]),
                ("worker-1", ["celery", "worker", "--celery-hostname", "worker-1@%h", "--concurrency", "1"]),
                ("worker-2", ["celery", "worker", "--celery-hostname", "worker-2@%h", "--concurrency", "1"]),
            ]:
                # Each worker serves its task logs on its own port.
                own = {**env, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}
                stack.enter_context(process([str(bin_dir / "airflow"), *args], logs / f"{name}.log", own))
            deadline = time.monotonic() + 240
            # `dags unpause` exits 0 even before the DAG exists: wait for the DAG processor instead.
            while DAG_ID not in airflow(bin_dir, env, "dags", "list", "-o", "plain").stdout:
                if time.monotonic() > deadline:
                    raise RuntimeError("the DAG was not parsed within 240 s (see the logs folder)")
                time.sleep(3)
            client = emulator
            client.configure(rate_limit_per_second=None, latency_ms=0)
            for index, reference in enumerate(("campaign-a", "campaign-b")):
                contacts = [f"+6141{index}{number:06d}" for number in range(PER_CAMPAIGN)]
                client.schedule_campaign(contacts=contacts, custom_string=reference)
            client.configure(rate_limit_per_second=LIMIT, latency_ms=LATENCY_MS)
            time.sleep(1.2)  # the emulator's one-second window starts empty
            client.clear_stats()
            run_id = f"bench_{int(time.time())}"
            say(f"trigger {DAG_ID} ({run_id}) ...")
            done = airflow(bin_dir, env, "dags", "trigger", DAG_ID, "--run-id", run_id)
            if done.returncode != 0:
                raise RuntimeError(f"trigger failed: {done.stderr[-2000:]}")
            triggered = time.monotonic()
            state = ""
            while time.monotonic() - triggered < 600:
                rows = psql(db_url, f"select state from dag_run where dag_id='{DAG_ID}' and run_id='{run_id}'")
                state = rows[0][0] if rows else ""
                if state in ("success", "failed"):
                    break
                time.sleep(2)
            result["run_state"] = state
            result["trigger_to_end_s"] = time.monotonic() - triggered
            rows = psql(
                db_url,
                "select task_id, hostname, state, extract(epoch from start_date), extract(epoch from end_date) "
                f"from task_instance where dag_id='{DAG_ID}' and run_id='{run_id}' order by task_id",
            )
            tasks = [
                {
                    "task_id": task_id,
                    "worker_host": host,
                    "state": task_state,
                    "start": float(start) if start else None,
                    "end": float(end) if end else None,
                }
                for task_id, host, task_state, start, end in rows
            ]
            for task in tasks:
                task["duration_s"] = task["end"] - task["start"] if task["start"] and task["end"] else None
            result["tasks"] = tasks
            starts = [task["start"] for task in tasks if task["start"]]
            ends = [task["end"] for task in tasks if task["end"]]
            result["tasks_span_s"] = max(ends) - min(starts) if starts and ends else None
            overlap = min(ends) - max(starts) if len(starts) == 2 and len(ends) == 2 else None
            result["tasks_overlap_s"] = overlap
            stats = client.stats()
            result["emulator"] = {
                "cancel_requests": int(stats["by_path"].get(CANCEL_PATH, 0)),
                "requests": int(stats["requests"]),
                "by_path": stats["by_path"],
                "answered_429": int(stats["rate_limited"]),
            }
            messages = client.messages()
            result["cancelled"] = sum(1 for message in messages if message.get("status") == "canceled")
            result["workers_that_ran_tasks"] = [
                name
                for name in ("worker-1", "worker-2")
                if DAG_ID in (logs / f"{name}.log").read_text(errors="replace")
            ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    info["load_after"] = load_average()
    lines = [
        f"- run `{result.get('run_state')}`, trigger to end {result.get('trigger_to_end_s', 0):.1f} s; "
        f"the two tasks ran {result.get('tasks_span_s') or 0:.2f} s from first start to last end, "
        f"overlapping {result.get('tasks_overlap_s') or 0:.2f} s",
        *[
            f"- `{task['task_id']}` on `{task['worker_host']}`: {task['state']}, "
            f"{(task['duration_s'] or 0):.2f} s (whole task: listing the reference, then cancelling)"
            for task in result.get("tasks", [])
        ],
        f"- emulator: {result['emulator']['cancel_requests']} cancel requests, {result['emulator']['requests']} API "
        f"requests in all, **{result['emulator']['answered_429']} answered 429**; "
        f"{result['cancelled']}/{2 * PER_CAMPAIGN} messages cancelled",
        f"- floor for {2 * PER_CAMPAIGN} cancels at {LIMIT}/s: {2 * PER_CAMPAIGN / LIMIT:.0f} s",
    ]
    text = "\n".join(lines)
    (REPO / "benchmarks" / "celery_results.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (REPO / "benchmarks" / "celery_results.md").write_text(
        "# Two campaigns on CeleryExecutor with the shared limiter\n\n"
        f"Airflow {info.get('apache-airflow')} CeleryExecutor (PostgreSQL 15, Redis broker, two workers of "
        f"concurrency 1), emulator {LIMIT}/s sliding window, {LATENCY_MS} ms latency, {PER_CAMPAIGN} SMS per "
        f"campaign. Machine: {info.get('cpu')}, {info.get('nproc')} CPUs, load {info['load_before']} -> "
        f"{info['load_after']}.\n\n{text}\n"
    )
    say("")
    say(text)
    return 0 if result.get("run_state") == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
