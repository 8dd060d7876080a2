"""Campaign scale (issue 12): a retry after an interruption at 50 %, sensor rounds, a 100,000-ID cancel.

``bash benchmarks/run`` runs this after ``benchmarks.shared_limit``; alone: ``.venv/bin/python -m
benchmarks.scale`` (``--help`` for the sizes). It starts the emulator as its own process and
measures, side by side in one run:

1. **Retry after an interruption at 50 %.** A bulk cancel (``CellcastHook.cancel_scheduled_messages``,
   ``requests_per_second=40``, ``max_concurrency=8``) in its own process against the emulator's
   40 requests/s limit (30 ms latency), SIGKILLed once the emulator has received half of the
   cancels, then retried in a fresh process: with the progress the first try saved, and without
   it (what every retry cost before). Against a full run of the same size. The progress store
   here is a small file-backed :class:`FileProgressStore` (JSON, replaced atomically); the
   Airflow-backed stores are proven by ``tests/integration/test_resumable_cancel.py``.
2. **One sensor round.** ``CellcastHook.check_statuses`` with ``StatusRules.build("delivered",
   None)`` over the scheduled messages of one campaign (every one is asked): 1,000 IDs at 40
   requests/s, 10,000 IDs at 400 requests/s (so that the per-ID round takes about as long), three
   ways side by side: **by the page** (the campaign's reference given: its list, 100 a page),
   **per ID** (one report each, concurrently at the pace), and the old sequential lookup (a plain
   loop of ``get_message``) over the first 200 IDs, **extrapolated**.
3. **Peak memory of a bulk cancel of 100,000 IDs** (and 20,000, for the slope), no rate limit on
   either side, in a process of its own: peak RSS (``ru_maxrss``) minus the RSS before the cancel,
   and, in a separate run of 20,000 IDs, the peak of Python allocations under ``tracemalloc``.

Writes ``benchmarks/scale_results.md`` and ``.json`` and prints the tables. Nothing asserts a
timing; the targets are marked met or missed. All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CANCEL_PATH,
    REPO,
    Emulator,
    emulator_process,
    load_average,
    machine_info,
    schedule_ids,
)

REPORT_PATH = "/api/v2/report/message/{messageId}"  # the emulator's stats key of every lookup
LIMIT = 40
LATENCY_MS = 30
CONCURRENCY = 8
#: Above this the emulator's one-second window and the client's 8 threads x 30 ms set the pace.
HIGH_LIMIT = 400
HIGH_CONCURRENCY = 16
CHILD_TIMEOUT = 900.0


# ------------------------------------------------------------------------------------ the child
class FileProgressStore:
    """A :class:`~airflow_provider_cellcast.progress.ProgressStore` in a JSON file (atomic replace)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Mapping[str, Any] | None:
        try:
            value = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        return value if isinstance(value, Mapping) else None

    def save(self, record: Mapping[str, Any]) -> None:
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(dict(record)))
        os.replace(partial, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child(spec: dict[str, Any]) -> int:
    """One bulk cancel in this process: ``ready``, wait for a line on stdin, cancel, one JSON line."""
    import gc
    import resource
    import tracemalloc

    ids = json.loads(Path(spec["ids_file"]).read_text())
    from airflow_provider_cellcast.hooks.cellcast import CellcastHook

    store = FileProgressStore(Path(spec["store"])) if spec.get("store") else None
    hook = CellcastHook(
        "cellcast_default", requests_per_second=spec["requests_per_second"], max_concurrency=spec["max_concurrency"]
    )
    hook.get_conn()
    print("ready", flush=True)
    sys.stdin.readline()
    gc.collect()
    rss_before = _rss_kb()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if spec.get("tracemalloc"):
        tracemalloc.start()
    started = time.time()
    attempts = hook.cancel_scheduled_messages(ids, "sms", progress_store=store)
    finished = time.time()
    traced_peak = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else None
    tracemalloc.stop()
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes: dict[str, int] = {}
    for attempt in attempts:
        outcomes[attempt.result["outcome"]] = outcomes.get(attempt.result["outcome"], 0) + 1
    hook.close()
    report = {
        "started": started,
        "finished": finished,
        "outcomes": outcomes,
        "rss_before_kb": rss_before,
        "maxrss_before_kb": maxrss_before,
        "maxrss_after_kb": maxrss_after,
        "tracemalloc_peak_bytes": traced_peak,
    }
    print(json.dumps(report), flush=True)
    return 0


# ----------------------------------------------------------------------------------- the parent
class Bench:
    def __init__(self, emulator: Emulator, env: dict[str, str], workdir: Path) -> None:
        self.emulator = emulator
        self.client = emulator.client
        self.env = env
        self.workdir = workdir
        self.serial = 0
        self.first_number = 0

    def schedule(self, count: int) -> list[str]:
        self.client.configure(rate_limit_per_second=None, latency_ms=0)
        ids = schedule_ids(self.emulator, count, first_number=self.first_number)
        self.first_number += count
        return ids

    def limit(self, per_second: float | None, latency_ms: float) -> None:
        """Set the emulator's limit; wait for its one-second window to be empty; zero the counters."""
        self.client.configure(rate_limit_per_second=per_second, latency_ms=latency_ms)
        time.sleep(1.2)
        self.client.clear_stats()

    def requests(self) -> dict[str, int]:
        stats = self.client.stats()
        return {
            "cancels": int(stats["by_path"].get(CANCEL_PATH, 0)),
            "lookups": int(stats["by_path"].get(REPORT_PATH, 0)),
            "answered_429": int(stats["rate_limited"]),
        }

    def start_child(self, ids: Sequence[str], store: Path | None, **settings: Any) -> subprocess.Popen[str]:
        self.serial += 1
        ids_file = self.workdir / f"ids-{self.serial}.json"
        ids_file.write_text(json.dumps(list(ids)))
        spec = {"ids_file": str(ids_file), "store": str(store) if store else None, **settings}
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.scale", "--child", json.dumps(spec)],
            cwd=REPO,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(self.workdir / f"child-{self.serial}.log").open("w"),
            text=True,
        )
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            process.kill()
            process.wait()
            raise RuntimeError(f"a benchmark child failed to start: see {self.workdir}/child-{self.serial}.log")
        return process

    @staticmethod
    def go(process: subprocess.Popen[str]) -> None:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()

    def run_child(self, ids: Sequence[str], store: Path | None, **settings: Any) -> dict[str, Any]:
        """A whole bulk cancel in a child process; its report plus the emulator's counts."""
        process = self.start_child(ids, store, **settings)
        try:
            self.go(process)
            report = json.loads(process.communicate(timeout=CHILD_TIMEOUT)[0].strip().splitlines()[-1])
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        report["wall_s"] = report["finished"] - report["started"]
        return {**report, **self.requests()}

    def kill_half_way(self, ids: Sequence[str], store: Path | None) -> dict[str, Any]:
        """Start a cancel in a child, SIGKILL it once the emulator has received half of the cancels."""
        process = self.start_child(ids, store, requests_per_second=LIMIT, max_concurrency=CONCURRENCY)
        try:
            self.go(process)
            started = time.monotonic()
            deadline = started + 300
            while self.client.request_count(CANCEL_PATH) < len(ids) // 2:
                if process.poll() is not None:
                    raise RuntimeError("the first try ended before half of its cancels")
                if time.monotonic() > deadline:
                    raise RuntimeError("the first try never reached half of its cancels")
                time.sleep(0.01)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            killed_after = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        time.sleep(0.2)  # answers to requests in flight at the kill land in the counters
        cancelled = sum(
            message["status"] == "canceled" for message in (self.client.message(message_id) for message_id in ids)
        )
        saved = 0
        if store is not None:
            from airflow_provider_cellcast.progress import CancelProgress

            progress = CancelProgress(ids, "sms")
            if progress.restore(FileProgressStore(store).load()):
                saved = len(progress.settled())
        return {"killed_after_s": killed_after, "cancelled": cancelled, "saved_settled": saved, **self.requests()}


def bench_resume(bench: Bench, count: int) -> dict[str, Any]:
    """Full run, killed + retried with the saved progress, killed + retried without it."""
    settings = {"requests_per_second": LIMIT, "max_concurrency": CONCURRENCY}
    ids = bench.schedule(count)
    bench.limit(LIMIT, LATENCY_MS)
    full = bench.run_child(ids, bench.workdir / "full.progress.json", **settings)
    print(f"   full run: {full['wall_s']:.2f} s, {full['cancels']} cancels", flush=True)
    retries: dict[str, Any] = {}
    for kind in ("with_progress", "without_progress"):
        ids = bench.schedule(count)
        store = bench.workdir / f"{kind}.progress.json"
        bench.limit(LIMIT, LATENCY_MS)
        first = bench.kill_half_way(ids, store)
        bench.limit(LIMIT, LATENCY_MS)
        retry = bench.run_child(ids, store if kind == "with_progress" else None, **settings)
        retry["all_cancelled"] = all(bench.client.message(mid)["status"] == "canceled" for mid in ids)
        retries[kind] = {"first_try": first, "retry": retry}
        print(
            f"   retry {kind.replace('_', ' ')}: {retry['wall_s']:.2f} s, {retry['cancels']} cancels "
            f"+ {retry['lookups']} lookups (first try killed after {first['cancels']} cancels)",
            flush=True,
        )
    full_requests = full["cancels"] + full["lookups"]
    for entry in retries.values():
        retry = entry["retry"]
        retry["requests"] = retry["cancels"] + retry["lookups"]
        retry["requests_vs_full"] = retry["requests"] / full_requests
        retry["wall_vs_full"] = retry["wall_s"] / full["wall_s"]
    full["requests"] = full_requests
    return {"ids": count, "full": full, **retries, "load": load_average()}


def bench_rounds(bench: Bench, sizes: Sequence[int], sequential_ids: int) -> list[dict[str, Any]]:
    """One ``check_statuses`` round over each size, and the old sequential lookup, extrapolated."""
    from airflow_provider_cellcast.hooks.cellcast import CellcastHook
    from airflow_provider_cellcast.statuses import StatusRules

    rules = StatusRules.build("delivered", None)
    rounds: list[dict[str, Any]] = []
    for size in sizes:
        reference = f"bench-round-{size}"
        bench.client.configure(rate_limit_per_second=None, latency_ms=0)
        ids = schedule_ids(bench.emulator, size, first_number=bench.first_number, custom_string=reference)
        bench.first_number += size
        limit, workers = (LIMIT, CONCURRENCY) if size <= 1000 else (HIGH_LIMIT, HIGH_CONCURRENCY)
        hook = CellcastHook("cellcast_default", requests_per_second=limit, max_concurrency=workers)
        hook.get_conn()
        bench.limit(limit, LATENCY_MS)
        started = time.perf_counter()
        by_page = hook.check_statuses(ids, rules, reference=reference)
        page_wall = time.perf_counter() - started
        page_requests = int(bench.client.stats()["by_path"].get("/api/v2/report/message", 0))
        bench.limit(limit, LATENCY_MS)
        started = time.perf_counter()
        check = hook.check_statuses(ids, rules)
        wall = time.perf_counter() - started
        counts = bench.requests()
        assert by_page.statuses == check.statuses, "the two ways disagree"
        sample = ids[:sequential_ids]
        bench.limit(limit, LATENCY_MS)
        started = time.perf_counter()
        for message_id in sample:
            hook.get_message(message_id)
        sequential = time.perf_counter() - started
        sequential_counts = bench.requests()
        hook.close()
        floor = size / limit
        rounds.append(
            {
                "ids": size,
                "limit": limit,
                "max_concurrency": workers,
                "wall_s": wall,
                "floor_s": floor,
                "ratio_to_floor": wall / floor,
                "target_met": wall <= 1.25 * floor,
                "lookups": counts["lookups"],
                "answered_429": counts["answered_429"],
                "waiting": len(check.waiting),
                "done": len(check.done),
                "failed": len(check.failed),
                "sequential_ids": len(sample),
                "sequential_s": sequential,
                "sequential_429": sequential_counts["answered_429"],
                "sequential_extrapolated_s": sequential / len(sample) * size,
                "speedup": sequential / len(sample) * size / wall,
                "by_page_s": page_wall,
                "by_page_requests": page_requests,
                "load": load_average(),
            }
        )
        print(
            f"   round over {size} IDs at {limit}/s: by the page {page_requests} requests {page_wall:.2f} s; "
            f"per ID {counts['lookups']} requests {wall:.2f} s (floor {floor:.0f} s), "
            f"{counts['answered_429']} answered 429; sequential {len(sample)} IDs {sequential:.2f} s",
            flush=True,
        )
    return rounds


def bench_memory(bench: Bench, sizes: Sequence[int], tracemalloc_ids: int) -> list[dict[str, Any]]:
    """A bulk cancel without a rate limit in a child process: its peak RSS and time."""
    runs = [(size, False) for size in sizes]
    if tracemalloc_ids:
        runs.append((tracemalloc_ids, True))
    results: list[dict[str, Any]] = []
    for size, traced in runs:
        ids = bench.schedule(size)
        bench.limit(None, 0)
        report = bench.run_child(
            ids,
            bench.workdir / f"memory-{size}-{traced}.progress.json",
            requests_per_second=0,
            max_concurrency=CONCURRENCY,
            tracemalloc=traced,
        )
        report.update(
            ids=size,
            tracemalloc=traced,
            peak_increase_mb=(report["maxrss_after_kb"] - report["rss_before_kb"]) / 1024,
            per_second=size / report["wall_s"],
            load=load_average(),
        )
        if traced:
            report["tracemalloc_peak_mb"] = report["tracemalloc_peak_bytes"] / 2**20
        results.append(report)
        extra = f", tracemalloc peak {report['tracemalloc_peak_mb']:.1f} MB" if traced else ""
        print(
            f"   {size} IDs{' (tracemalloc)' if traced else ''}: {report['wall_s']:.1f} s, peak RSS "
            f"+{report['peak_increase_mb']:.1f} MB (RSS before {report['rss_before_kb'] / 1024:.0f} MB){extra}, "
            f"outcomes {report['outcomes']}",
            flush=True,
        )
        # The emulator keeps every message: drop them before the next size.
        bench.client.reset()
        bench.client.configure(sms_balance=10_000_000)
    return results


# ----------------------------------------------------------------------------------- the report
def tables(resume: dict[str, Any] | None, rounds: list[dict[str, Any]], memory: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    if resume:
        full, count = resume["full"], resume["ids"]
        lines = [
            f"### Retry after an interruption at 50 % ({count} IDs, `requests_per_second={LIMIT}`, emulator "
            f"{LIMIT}/s, {LATENCY_MS} ms)",
            "",
            "| run | Cellcast requests (cancels + lookups) | vs full run | wall time | vs full run | 429s "
            "| cancelled |",
            "|---|---|---|---|---|---|---|",
            f"| full run, nothing saved before | {full['requests']} ({full['cancels']} + {full['lookups']}) | 1.00 "
            f"| {full['wall_s']:.2f} s | 1.00 | {full['answered_429']} "
            f"| {full['outcomes'].get('cancelled', 0)}/{count} |",
        ]
        labels = {"with_progress": "**retry with the saved progress**", "without_progress": "retry without it (before)"}
        for kind, label in labels.items():
            retry, first = resume[kind]["retry"], resume[kind]["first_try"]
            used = "saved" if kind == "with_progress" else "saved, not passed to the retry"
            settled = retry["outcomes"].get("cancelled", 0) + retry["outcomes"].get("already_cancelled", 0)
            lines.append(
                f"| {label} (first try SIGKILLed after {first['cancels']} cancels, {first['cancelled']} cancelled, "
                f"{first['saved_settled']} {used}) | {retry['requests']} ({retry['cancels']} + {retry['lookups']}) "
                f"| **{retry['requests_vs_full']:.2f}** | {retry['wall_s']:.2f} s | {retry['wall_vs_full']:.2f} "
                f"| {retry['answered_429']} | {settled}/{count} settled, all cancelled: {retry['all_cancelled']} |"
            )
        ratio = resume["with_progress"]["retry"]["requests_vs_full"]
        lines += ["", f"Target: retry requests ≤ 0.55 x the full run's: {'met' if ratio <= 0.55 else 'missed'}."]
        parts.append("\n".join(lines))
    if rounds:
        lines = [
            '### One sensor round (`check_statuses`, `StatusRules.build("delivered", None)`, one campaign\'s '
            f"scheduled messages, emulator latency {LATENCY_MS} ms)",
            "",
            "| IDs | limit (client = emulator) | **by the page: requests** | **by the page: wall time** "
            "| per ID: requests | per ID: wall time | per ID vs by the page |",
            "|---|---|---|---|---|---|---|",
        ]
        for item in rounds:
            lines.append(
                f"| {item['ids']:,} | {item['limit']}/s | **{item['by_page_requests']:,}** "
                f"| **{item['by_page_s']:.2f} s** | {item['lookups']:,} | {item['wall_s']:.2f} s "
                f"| {item['wall_s'] / item['by_page_s']:.1f}x the time, "
                f"{item['lookups'] / max(item['by_page_requests'], 1):.0f}x the requests |"
            )
        lines += [
            "",
            "Per ID, against the pace's floor and the old sequential loop:",
            "",
            "| IDs | limit (client = emulator) | threads | wall time | floor N/limit | ratio | 429s | lookups "
            "| old sequential loop (**extrapolated**) | speed-up | target ≤ 1.25x |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for item in rounds:
            lines.append(
                f"| {item['ids']:,} | {item['limit']}/s | {item['max_concurrency']} | {item['wall_s']:.2f} s "
                f"| {item['floor_s']:.0f} s | **{item['ratio_to_floor']:.2f}x** | {item['answered_429']} "
                f"| {item['lookups']:,} | {item['sequential_extrapolated_s']:.0f} s (from {item['sequential_ids']} "
                f"IDs in {item['sequential_s']:.2f} s) | {item['speedup']:.1f}x "
                f"| {'met' if item['target_met'] else 'missed'} |"
            )
        parts.append("\n".join(lines))
    if memory:
        lines = [
            "### Bulk cancel without a rate limit, in its own process (emulator in another; no limit, 0 ms)",
            "",
            "| IDs | measure | wall time | requests/s | RSS before | peak RSS (ru_maxrss) | peak - before "
            "| per ID | tracemalloc peak | outcomes |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for item in memory:
            traced = f"{item['tracemalloc_peak_mb']:.1f} MB" if item["tracemalloc"] else "-"
            lines.append(
                f"| {item['ids']:,} | {'tracemalloc on' if item['tracemalloc'] else 'RSS'} | {item['wall_s']:.1f} s "
                f"| {item['per_second']:.0f} | {item['rss_before_kb'] / 1024:.0f} MB "
                f"| {item['maxrss_after_kb'] / 1024:.0f} MB | **{item['peak_increase_mb']:.1f} MB** "
                f"| {item['peak_increase_mb'] * 2**20 / item['ids']:.0f} B | {traced} "
                f"| {', '.join(f'{k} {v}' for k, v in sorted(item['outcomes'].items()))} |"
            )
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(json.loads(argv[1]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resume-ids", type=int, default=1000, help="IDs of the interrupted cancel (1000; 0 skips)")
    parser.add_argument("--round-ids", type=int, nargs="*", default=[1000, 10000], help="sensor round sizes")
    parser.add_argument("--sequential-ids", type=int, default=200, help="IDs of the sequential loop (200)")
    parser.add_argument("--memory-ids", type=int, nargs="*", default=[20000, 100000], help="cancel sizes")
    parser.add_argument("--tracemalloc-ids", type=int, default=20000, help="size of the tracemalloc run (0 skips)")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="cellcast-bench-scale-"))
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    info = machine_info()
    info["load_before"] = load_average()
    resume: dict[str, Any] | None = None
    rounds: list[dict[str, Any]] = []
    memory: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        with emulator_process(env) as emulator:
            env["AIRFLOW_CONN_CELLCAST_DEFAULT"] = json.dumps(
                {"conn_type": "cellcast", "host": emulator.url, "password": emulator.token}
            )
            os.environ.update({key: env[key] for key in ("AIRFLOW_HOME", "AIRFLOW_CONN_CELLCAST_DEFAULT")})
            emulator.client.configure(sms_balance=10_000_000)
            bench = Bench(emulator, env, home)
            if args.resume_ids:
                print(f"   retry after an interruption at 50 % ({args.resume_ids} IDs) ...", flush=True)
                resume = bench_resume(bench, args.resume_ids)
            if args.round_ids:
                print(f"   sensor rounds over {args.round_ids} IDs ...", flush=True)
                rounds = bench_rounds(bench, args.round_ids, args.sequential_ids)
            emulator.client.reset()
            emulator.client.configure(sms_balance=10_000_000)
            if args.memory_ids or args.tracemalloc_ids:
                print(f"   bulk cancels without a rate limit ({args.memory_ids} IDs) ...", flush=True)
                memory = bench_memory(bench, args.memory_ids, args.tracemalloc_ids)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    info["load_after"] = load_average()
    info["duration_s"] = f"{time.monotonic() - started:.0f}"
    text = tables(resume, rounds, memory)
    results = {"machine": info, "resume": resume, "rounds": rounds, "memory": memory}
    (REPO / "benchmarks" / "scale_results.json").write_text(json.dumps(results, indent=2) + "\n")
    (REPO / "benchmarks" / "scale_results.md").write_text(
        "# Campaign scale: a retry after an interruption, sensor rounds, a 100,000-ID cancel\n\n"
        f"Machine: {info.get('cpu', '?')}, {info.get('nproc', '?')} CPUs (shared), Python {info['python']}, "
        f"Airflow {info['apache-airflow']}; load {info['load_before']} -> {info['load_after']}; "
        f"{info['date']}, {info['duration_s']} s in all. Absolute times are noisy; compare the ratios.\n\n"
        f"{text}\n"
    )
    print()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
