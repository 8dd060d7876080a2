"""Turn the measurements into ``benchmarks/results.md`` (+ ``results.json``) and ``docs/benchmarks.png``."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.common import BENCH_DIR, REPO

RESULTS_MD = BENCH_DIR / "results.md"
RESULTS_JSON = BENCH_DIR / "results.json"
PLOT = REPO / "docs" / "benchmarks.png"


def _met(flag: bool) -> str:
    return "met" if flag else "**MISSED**"


def summary_table(results: dict[str, Any]) -> str:
    """The main table: one row per benchmark, with its figures, target and verdict."""
    parse, rate, thousand, per_call, unknown = (
        results["parse"],
        results["rate"],
        results["thousand"],
        results["per_call"],
        results["unknown"],
    )
    shipped = [run for run in rate["runs"] if run["variant"] == "shipped"]
    exact = [run for run in rate["runs"] if run["variant"] == "exact"]
    worst = rate["shipped_worst"]
    exact_walls = ", ".join(f"{run['wall_s']:.2f} s" for run in exact)
    exact_ratios = ", ".join(f"{run['ratio_to_floor']:.2f}x" for run in exact)
    mapped_measured = ", ".join(f"{run['ids']} IDs {run['wall_s']:.1f} s" for run in thousand["mapped"])
    rows = [
        (
            "1",
            "DAG-parse cost: import `operators.cancel_campaign` after `airflow.sdk` vs "
            "`airflow.providers.http.operators.http` (forked fresh processes, "
            f"{parse['reps']} each, interleaved; medians)",
            f"ours **{parse['ours_median_ms']:.1f} ms** ({parse['ours_new_modules']} new modules) vs http "
            f"**{parse['http_median_ms']:.0f} ms** ({parse['http_new_modules']} new modules): "
            f"ours = **{parse['ratio']:.1%}** of http",
            "≤ 15 ms and ≤ 1/10 of http",
            _met(parse["met"]),
        ),
        (
            "2",
            f"Bulk cancel at a rate limit: {rate['ids']} IDs, `cancel_scheduled_messages`, "
            f"`requests_per_second={rate['rate']}`, `max_concurrency={rate['workers']}`; emulator "
            f"{rate['rate']}/s sliding window, {rate['latency_ms']} ms latency",
            f"pacer as shipped: **{rate['shipped_median_s']:.2f} s** median of {len(shipped)} "
            f"(worst {worst['wall_s']:.2f} s = **{worst['ratio_to_floor']:.2f}x** the {rate['floor_s']:.0f} s floor); "
            f"cancelled {min(run['emulator_canceled'] for run in shipped)}/{rate['ids']}, "
            f"failed {sum(run['failed'] for run in shipped)}, failed by 429 "
            f"{sum(run['failed_by_429'] for run in shipped)}, 429s answered "
            f"{', '.join(str(run['answered_429']) for run in shipped)}",
            "≤ 1.25x floor, every ID cancelled, 0 failed by 429",
            _met(rate["met"]),
        ),
        (
            "2b",
            "Same, pacer at exactly the server's rate (headroom 0, the behaviour before this benchmark)",
            f"{exact_walls} (= {exact_ratios}); "
            f"429s answered {', '.join(str(run['answered_429']) for run in exact)}; "
            f"failed {sum(run['failed'] for run in exact)}",
            "(shows why the headroom exists)",
            "-",
        ),
        (
            "3",
            f"{thousand['ids']:,} IDs, no rate limit, emulator latency {thousand['latency_ms']} ms: "
            "seconds per 1,000 IDs",
            f"bulk operator in one `dag.test()`: **{thousand['bulk_per_1000_s']:.1f} s**; "
            f"sequential `requests.Session` loop: {thousand['loop_per_1000_s']:.1f} s; "
            f"mapped `HttpOperator` in `dag.test()`: **{thousand['mapped_per_1000_s']:.0f} s** "
            f"({thousand['mapped_how']}; measured {mapped_measured}) → bulk is **{thousand['speedup']:.0f}x** faster",
            "bulk ≥ 20x faster than mapped HttpOperator",
            _met(thousand["met"]),
        ),
        (
            "4",
            f"Per-call overhead: `CellcastHook.cancel_scheduled_message` (`requests_per_second=0`) vs bare "
            f"`requests.Session.post`, same body and keep-alive, {per_call['calls']} calls each interleaved, "
            "emulator latency 0 ms",
            f"hook **{per_call['hook_median_ms']:.2f} ms** vs session **{per_call['plain_median_ms']:.2f} ms** "
            f"(p90 {per_call['hook_p90_ms']:.2f} / {per_call['plain_p90_ms']:.2f} ms): ratio "
            f"**{per_call['ratio']:.2f}**; {per_call['hook_cancelled']}/{per_call['calls']} and "
            f"{per_call['plain_ok']}/{per_call['calls']} cancelled",
            "ratio ≤ 1.3",
            _met(per_call["met"]),
        ),
        (
            "5",
            f"Batch with an unknown ID: operator in `dag.test()`, {unknown['scheduled']} scheduled IDs + 1 unknown",
            f"task **{unknown['task_state']}**; {unknown['emulator_canceled']}/{unknown['scheduled']} others "
            f"cancelled; `results` XCom lists {unknown['results_listed']}/{unknown['batch']} IDs in input order "
            f"({', '.join(f'{count} {name}' for name, count in sorted(unknown['outcomes'].items()))})",
            "task fails, every other ID cancelled, all IDs reported",
            _met(unknown["met"]),
        ),
    ]
    lines = ["| # | benchmark | measured | target | verdict |", "|---|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def _dag_file_table(parse: dict[str, Any]) -> str:
    lines = [
        "| DAG file | parse median (ms) | new modules | of them ours | HTTP stack loaded at parse |",
        "|---|---|---|---|---|",
    ]
    for path, row in parse["dag_files"].items():
        stack = ", ".join(row["http_stack"][:4]) + (" ..." if len(row["http_stack"]) > 4 else "") or "no"
        lines.append(f"| `{path}` | {row['median_ms']:.0f} | {row['new_modules']} | {len(row['ours'])} | {stack} |")
    return "\n".join(lines)


def write_results(results: dict[str, Any]) -> str:
    """Write results.md and results.json; return the summary table."""
    machine = results["machine"]
    parse, rate, thousand, unknown = results["parse"], results["rate"], results["thousand"], results["unknown"]
    table = summary_table(results)
    bulk, loop = thousand["bulk"], thousand["loop"]
    mapped_note = (
        ""
        if thousand["mapped_per_task_s"] is None
        else f"\nThe mapped `HttpOperator` was run over {thousand['mapped'][0]['ids']} and "
        f"{thousand['mapped'][-1]['ids']} IDs, not {thousand['ids']:,}: that takes minutes "
        "(`bash benchmarks/run --mapped-ids 1000` measures it)."
    )
    bulk_row = (
        f"| `CellcastCancelCampaignOperator`, {thousand['ids']} IDs in one task | {bulk['wall_s']:.2f} | "
        f"{bulk['wall_s'] / thousand['ids'] * 1000:.1f} ms | run {bulk['state']}, {bulk['cancelled']} `cancelled` "
        f"in XCom, {bulk['cancel_requests']} cancel requests, {bulk['emulator_canceled']} cancelled |"
    )
    loop_row = (
        f"| sequential `requests.Session` loop, {thousand['ids']} IDs | {loop['wall_s']:.2f} | "
        f"{loop['wall_s'] / thousand['ids'] * 1000:.1f} ms | {loop['ok']} `status: true`, "
        f"{loop['emulator_canceled']} cancelled |"
    )
    cold = parse["cold"]
    rate_rows = "\n".join(
        f"| {run['label']} | {run['rep']} | {run['wall_s']:.2f} | {run['ratio_to_floor']:.2f}x | "
        f"{run['cancel_requests']} | {run['answered_429']} | {run['emulator_canceled']}/{rate['ids']} | "
        f"{run['failed']} |"
        for run in rate["runs"]
    )
    mapped_rows = "\n".join(
        f"| mapped `HttpOperator` ({run['ids']} mapped tasks) | {run['wall_s']:.2f} | "
        f"{run['wall_s'] / run['ids'] * 1000:.0f} ms | {run['tasks_success']}/{run['ids']} tasks success, "
        f"{run['emulator_canceled']} cancelled |"
        for run in thousand["mapped"]
    )
    importtime = ""
    if parse.get("importtime"):
        importtime = (
            "\n\nHeaviest imports of `operators.cancel_campaign` after `airflow.sdk` (`-X importtime`):\n\n"
            + ("\n".join(f"- `{row['module']}`: {row['cumulative_ms']:.1f} ms" for row in parse["importtime"]))
        )
    text = f"""# Benchmark results

Produced by `bash benchmarks/run` (see [README](README.md) for what each row means). Each benchmark
measures its alternatives side by side in the same run; the machine is shared with other work, so
absolute figures move between runs and ratios are the figures to compare.

## Machine

| | |
|---|---|
| date | {machine["date"]} |
| CPUs (`nproc`) | {machine["nproc"]} |
| CPU model | {machine["cpu"]} |
| load average before / after | {machine["load_before"]} / {machine["load_after"]} |
| Python | {machine["python"]} |
| apache-airflow / task-sdk | {machine["apache-airflow"]} / {machine["apache-airflow-task-sdk"]} |
| apache-airflow-providers-http | {machine["apache-airflow-providers-http"]} |
| airflow-provider-cellcast | {machine["airflow-provider-cellcast"]} |
| requests | {machine["requests"]} |
| OS | {machine["os"]} |
| whole run | {results["total_s"]:.0f} s |

## Results

{table}

![benchmarks](../docs/benchmarks.png)

## Details

### 1. DAG-parse cost

Each sample is a fresh process forked from one that has imported `airflow.sdk` (that import alone
took {parse["sdk_import_s"]:.1f} s here), which then imports one module; this is how Airflow 3's
DAG processor parses a file. Samples (ms), ours: {", ".join(f"{v:.1f}" for v in parse["ours_ms"])};
http: {", ".join(f"{v:.0f}" for v in parse["http_ms"])}. The http operator module brings in
{parse["http_new_modules"]} modules ({", ".join(parse["http_new_packages"])}); ours brings in
{parse["ours_new_modules"]}.

Cross-check in brand-new interpreters (`python -c "import airflow.sdk; import X"`,
{len(cold["ours_ms"])} each): ours {", ".join(f"{v:.1f}" for v in cold["ours_ms"])} ms, http
{", ".join(f"{v:.0f}" for v in cold["http_ms"])} ms (`airflow.sdk` itself:
{", ".join(f"{v:.1f}" for v in cold["sdk_s"])} s).{importtime}

Whole DAG files, executed in a forked child after `airflow.sdk` (median of {results["args"]["dag_reps"]}).
Most of each file's time is Airflow's own DAG machinery (timetables, `croniter`, `Param`, the
`@task` decorator's modules), loaded on first use; `benchmarks/dags/parse_reference_http.py` is
`dags/cellcast_cancel_campaign.py` rewritten with the stock `HttpOperator`:

{_dag_file_table(parse)}

### 2. Bulk cancel at a rate limit

Emulator: `rate_limit_per_second={rate["rate"]}` (a sliding one-second window, counted when a
request arrives after its {rate["latency_ms"]} ms latency), no `Retry-After`. Client:
`CellcastHook(requests_per_second={rate["rate"]}, max_concurrency={rate["workers"]})`,
`cancel_scheduled_messages` over {rate["ids"]} freshly scheduled IDs; floor
{rate["ids"]}/{rate["rate"]} = {rate["floor_s"]:.0f} s. The two pacer variants alternate.

| pacer | run | wall (s) | x floor | cancel requests | 429 answered | cancelled | failed |
|---|---|---|---|---|---|---|---|
{rate_rows}

At exactly the server's rate, 41 arrivals fall into one second whenever request *k* reaches the
server a little later than request *k + 40* (a cold connection at the start, a busy machine):
each 429 then pauses every worker for the backoff (1-2 s without `Retry-After`), so a few 429s
double the wall time. `RequestPacer` therefore keeps a 10 % headroom by default (paces at 36/s
for 40/s): any 41 consecutive requests are sent over 1.11 s, tolerating 111 ms of arrival jitter.

### 3. 1,000 IDs without a rate limit

Emulator latency {thousand["latency_ms"]} ms, no rate limit. The operator runs with
`hook_params={{"requests_per_second": 0, "max_concurrency": 16}}`. `dag.test()` times include
the DAG run's own overhead (DAG sync, run creation, task start, XCom). The first `dag.test()` of a
process also starts Airflow's in-process execution API: an unmeasured warm-up run (5 IDs) paid
that first ({thousand["warmup_s"]:.1f} s).

| variant | wall (s) | per ID | checks |
|---|---|---|---|
{bulk_row}
{loop_row}
{mapped_rows}

Mapped `HttpOperator` per 1,000 IDs: **{thousand["mapped_per_1000_s"]:.0f} s**, {thousand["mapped_how"]}.{mapped_note}

### 4. Per-call overhead

`requests_per_second=0` on the hook (no pacing). Both sides use one keep-alive session, the same
JSON body and the same endpoint, and were warmed up with 10 calls; messages were scheduled
beforehand so that every cancel succeeds. The hook's extra work per call: ID and type validation,
the retry wrapper, the pacer's lock, envelope parsing and the result dict.

### 5. Batch with an unknown ID

Run {unknown["run_state"]}, task {unknown["task_state"]} (no Airflow retries in this DAG), in
{unknown["wall_s"]:.1f} s. The unknown ID's entry in `results`: `{unknown["unknown_error"]}`.
"""
    RESULTS_MD.write_text(text)
    RESULTS_JSON.write_text(json.dumps(results, indent=1, default=str) + "\n")
    return table


def write_plot(results: dict[str, Any]) -> None:
    """Four panels, one per timed benchmark, into docs/benchmarks.png (Agg backend, no display)."""
    import logging

    import matplotlib

    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parse, rate, thousand, per_call = results["parse"], results["rate"], results["thousand"], results["per_call"]
    figure, axes = plt.subplots(2, 2, figsize=(13, 9))
    ours_color, other_color, grey = "#E07B00", "#4C72B0", "#8C8C8C"

    axis = axes[0][0]
    labels = ["cellcast\ncancel_campaign", "http\nHttpOperator"]
    values = [parse["ours_median_ms"], parse["http_median_ms"]]
    axis.bar(labels, values, color=[ours_color, other_color])
    for index, samples in enumerate([parse["ours_ms"], parse["http_ms"]]):
        axis.scatter([index] * len(samples), samples, color="black", s=8, zorder=3)
    axis.set_yscale("log")
    axis.axhline(15, color=grey, linestyle="--", linewidth=1, label="15 ms target")
    for index, (value, samples) in enumerate(zip(values, [parse["ours_ms"], parse["http_ms"]], strict=True)):
        axis.text(index, max(samples) * 1.25, f"median {value:.1f} ms", ha="center", fontsize=9)
    axis.set_ylim(top=max(parse["http_ms"]) * 3)
    axis.legend(loc="upper left", fontsize=8)
    axis.set_ylabel("import time after airflow.sdk (ms, log)")
    axis.set_title(f"1. DAG-parse cost (median of {parse['reps']})")

    axis = axes[0][1]
    runs = rate["runs"]
    names = [f"{'shipped' if run['variant'] == 'shipped' else 'headroom 0'}\nrun {run['rep']}" for run in runs]
    colors = [ours_color if run["variant"] == "shipped" else grey for run in runs]
    axis.bar(names, [run["wall_s"] for run in runs], color=colors)
    axis.axhline(rate["floor_s"], color="black", linewidth=1, label=f"floor {rate['floor_s']:.0f} s")
    axis.axhline(rate["floor_s"] * 1.25, color=grey, linestyle="--", linewidth=1, label="target: 1.25x floor")
    for index, run in enumerate(runs):
        axis.text(
            index,
            run["wall_s"] + 0.15,
            f"{run['wall_s']:.1f} s\n{run['answered_429']} x 429",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axis.set_ylim(top=max(run["wall_s"] for run in runs) * 1.3)
    axis.legend(loc="upper left", fontsize=8)
    axis.set_ylabel("wall time (s)")
    axis.set_title(f"2. {rate['ids']} cancels at {rate['rate']}/s (emulator {rate['rate']}/s, {rate['latency_ms']} ms)")

    axis = axes[1][0]
    labels = ["bulk operator\n(1 dag.test)", "requests loop\n(sequential)", "mapped HttpOperator\n(dag.test)"]
    values = [thousand["bulk_per_1000_s"], thousand["loop_per_1000_s"], thousand["mapped_per_1000_s"]]
    bars = axis.barh(labels, values, color=[ours_color, grey, other_color])
    if thousand["mapped_per_task_s"] is not None:
        bars[2].set_hatch("//")
    axis.set_xscale("log")
    for index, value in enumerate(values):
        axis.text(value * 1.1, index, f"{value:.1f} s", va="center", fontsize=9)
    axis.set_xlim(right=max(values) * 4)
    axis.invert_yaxis()
    extrapolated = " (hatched: extrapolated)" if thousand["mapped_per_task_s"] is not None else ""
    axis.set_xlabel(f"seconds per 1,000 IDs (log){extrapolated}")
    axis.set_title(f"3. 1,000 IDs, no rate limit: bulk {thousand['speedup']:.0f}x faster than mapped")

    axis = axes[1][1]
    axis.boxplot(
        [per_call["hook_ms"], per_call["plain_ms"]],
        showfliers=False,
    )
    axis.set_xticks([1, 2], ["CellcastHook\ncancel_scheduled_message", "requests.Session\n.post"])
    axis.set_ylabel("ms per call")
    axis.set_title(f"4. Per-call overhead: ratio of medians {per_call['ratio']:.2f} ({per_call['calls']} calls each)")

    machine = results["machine"]
    figure.suptitle(
        f"airflow-provider-cellcast benchmarks, {machine['date']}: {machine['nproc']} CPUs ({machine['cpu']}), "
        f"Python {machine['python']}, Airflow {machine['apache-airflow']}",
        fontsize=11,
    )
    figure.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(PLOT, dpi=110)
    plt.close(figure)
