"""Shared pieces of the benchmarks: paths, the throwaway Airflow home, the emulator process, statistics."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "benchmarks"
BENCH_DAGS = BENCH_DIR / "dags"
EXAMPLE_DAGS = REPO / "dags"
BIN = Path(sys.executable).parent
CANCEL_PATH = "/api/v1/gateway/cancelScheduleQuickMessage"


def airflow_environment(home: Path) -> dict[str, str]:
    """Environment of a throwaway Airflow home whose only DAG bundle is ``benchmarks/dags``.

    Set before anything imports Airflow. ``dag.test()`` needs the DAGs to live in a bundle folder.
    """
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(BENCH_DAGS),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [
                {
                    "name": "benchmarks",
                    "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {"path": str(BENCH_DAGS), "refresh_interval": 0},
                }
            ]
        ),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }


def migrate_database(env: dict[str, str]) -> float:
    """``airflow db migrate`` in a subprocess; return its duration in seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


@dataclass
class Emulator:
    """A ``cellcast-emulator`` process and a control-plane client for it."""

    url: str
    token: str
    client: Any  # EmulatorClient


@contextmanager
def emulator_process(env: dict[str, str]) -> Iterator[Emulator]:
    """Start ``cellcast-emulator`` as its own process (its own GIL) on a free loopback port; stop it after."""
    from airflow_provider_cellcast.emulator import emulator_process as run_emulator

    with run_emulator(None, "--log-level", "warning", env=env) as client:
        client.timeout = 30
        yield Emulator(url=client.base_url, token=str(client.token), client=client)


def schedule_ids(
    emulator: Emulator, count: int, *, first_number: int = 0, custom_string: str | None = None
) -> list[str]:
    """Schedule ``count`` SMS (an hour ahead) through the public send endpoint; return their IDs."""
    ids: list[str] = []
    while len(ids) < count:
        batch = min(1000, count - len(ids))
        numbers = [f"+614{first_number + len(ids) + i:08d}" for i in range(batch)]
        ids.extend(emulator.client.schedule_campaign(contacts=numbers, custom_string=custom_string))
    if len(ids) != count or len(set(ids)) != count:
        raise RuntimeError(f"the emulator scheduled {len(ids)} messages ({len(set(ids))} distinct), not {count}")
    return ids


def statuses(emulator: Emulator, ids: Sequence[str]) -> dict[str, int]:
    """How many of ``ids`` the emulator reports in each status."""
    wanted = set(ids)
    counts: dict[str, int] = {}
    for message in emulator.client.messages():
        if message.get("_id") in wanted:
            counts[message["status"]] = counts.get(message["status"], 0) + 1
    return counts


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def machine_info() -> dict[str, str]:
    """Where and with what the figures were measured."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": nproc or str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "apache-airflow": version("apache-airflow"),
        "apache-airflow-task-sdk": version("apache-airflow-task-sdk"),
        "apache-airflow-providers-http": version("apache-airflow-providers-http"),
        "airflow-provider-cellcast": version("airflow-provider-cellcast"),
        "requests": version("requests"),
        "os": platform.platform(),
    }


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"
