"""``make bench``: every measurement in one run, printed as one table against the goals.

Sections run one after another, each in its own process(es) so none inherits another's imports or
memory: DAG-parse cost, CPU per poll, CPU per poll of a large Daggy run, triggers at scale, latency.
The table goes to stdout and, with the raw figures, to ``.bench/results.md`` and ``.bench/results.json``.
``--quick`` shrinks every section (a smoke run for the tests, not figures to quote).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import FOREVER, emulator_process

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".bench"

# The goals of issue #8, as numbers.
IMPORT_GOAL_S = 0.10
FLOOR_RATIO_GOAL = 1.3
GOOGLE_RATIO_GOAL = 3.0
LAG_P99_GOAL_MS = 100.0
RSS_GOAL_KIB = 30.0
LATENCY_SLACK_S = 1.0
# Issue #14: a Daggy poll costs the same whatever the run's size.
DAGGY_SIZE_RATIO_GOAL = 1.2

OURS = "airflow-provider-pipelines CdapPipelineRunTrigger"
FLOOR = "bare aiohttp GET (floor)"
GOOGLE = "Google DataFusionStartPipelineTrigger"
HTTP = "http provider HttpSensorTrigger"
# The pollers of benchmarks.daggy_poll_cost (not imported here: it imports Airflow).
DAGGY_ONE = "one-task run"
DAGGY_LARGE = "large run"
DAGGY_BEFORE = "large run, whole document per poll (before)"


def _child(module: str, *args: str) -> Any:
    """Run ``python -m module args`` and return the JSON object on its last line of output."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{module} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def _verdict(ok: bool) -> str:
    return "pass" if ok else "**miss**"


def scale_runs(sizes: list[int], limit: int, poll_interval: float, intervals: int) -> list[dict[str, Any]]:
    """The given sizes, then doubling up to ``limit`` until one misses the lag goal or falls behind."""
    results: list[dict[str, Any]] = []
    with emulator_process("cdap", "--running-seconds", FOREVER) as emulator:
        size_queue = list(sizes)
        while size_queue:
            size = size_queue.pop(0)
            before = emulator.cpu_seconds()
            result = _child(
                "benchmarks.scale",
                "--url", emulator.url,
                "--triggers", str(size),
                "--poll-interval", str(poll_interval),
                "--intervals", str(intervals),
            )  # fmt: skip
            result["emulator_cpu_percent"] = round(
                100 * (emulator.cpu_seconds() - before) / max(result["seconds"], 1e-9), 1
            )
            result["holds"] = _holds(result)
            results.append(result)
            if not size_queue and result["holds"] and size * 2 <= limit:
                size_queue.append(size * 2)
    return results


def _holds(result: dict[str, Any]) -> bool:
    keeps_up = result["polls_per_s"] >= 0.95 * result["polls_expected_per_s"]
    return keeps_up and result["lag_p99_ms"] < LAG_P99_GOAL_MS and result["ended_early"] == 0


def table(figures: dict[str, Any]) -> str:
    rows: list[str] = [
        "| # | Measure | airflow-provider-pipelines | Side by side | Goal | Result |",
        "|---|---|---|---|---|---|",
    ]
    imports = figures["import_cost"]
    dbt = imports.get("airflow.providers.dbt.cloud.operators.dbt")
    google = imports.get("airflow.providers.google.cloud.operators.datafusion")
    anchors = "; ".join(
        f"{entry['label']} +{entry['median_s']:.3f} s" for entry in (dbt, google) if entry is not None
    )
    for module, entry in imports.items():
        if entry["label"] != "airflow-provider-pipelines":
            continue
        ok = entry["median_s"] <= IMPORT_GOAL_S
        rows.append(
            f"| 3 | Import `{module.rsplit('.', 1)[1]}` operators over `import airflow` "
            f"({entry['airflow_median_s']:.2f} s), median of {entry['runs']} | +{entry['median_s']:.3f} s | "
            f"{anchors} | ≤ +{IMPORT_GOAL_S:.2f} s | {_verdict(ok)} |"
        )
    polls = figures["poll_cost"]
    # Ratios are the medians of each round's ratio to that round's floor (paired: drift cancels).
    ours, floor = polls[OURS]["cpu_us_per_poll"], polls[FLOOR]["cpu_us_per_poll"]
    ratio = polls[OURS]["floor_ratio"]
    side = [f"floor {floor:.0f} µs"]
    goals = [f"≤ {FLOOR_RATIO_GOAL}x floor"]
    ok = ratio <= FLOOR_RATIO_GOAL
    if GOOGLE in polls:
        google_us, google_x = polls[GOOGLE]["cpu_us_per_poll"], polls[GOOGLE]["floor_ratio"] / ratio
        side.append(f"Google {google_us:.0f} µs ({google_x:.1f}x ours)")
        goals.append(f"≥ {GOOGLE_RATIO_GOAL:.0f}x cheaper than Google")
        ok = ok and google_x >= GOOGLE_RATIO_GOAL
    if HTTP in polls:
        http_us, http_x = polls[HTTP]["cpu_us_per_poll"], polls[HTTP]["floor_ratio"] / ratio
        side.append(f"HttpSensorTrigger {http_us:.0f} µs ({http_x:.1f}x ours)")
    rows.append(
        f"| 1 | CPU per status poll (median of {polls[OURS]['rounds']} rounds) | {ours:.0f} µs "
        f"({ratio:.2f}x floor) | "
        f"{'; '.join(side)} | {', '.join(goals)} | {_verdict(ok)} |"
    )
    for result in figures["scale"]:
        n = result["triggers"]
        measured = (
            f"lag p50 {result['lag_p50_ms']} ms, p99 {result['lag_p99_ms']} ms; "
            f"CPU {result['cpu_percent']}%; {result['rss_per_trigger_kib']} KiB RSS per trigger; "
            f"{result['polls_per_s']}/{result['polls_expected_per_s']} polls/s"
        )
        goal = f"p99 < {LAG_P99_GOAL_MS:.0f} ms" + (f", < {RSS_GOAL_KIB:.0f} KiB each" if n == 5000 else "")
        ok = result["holds"] and (n != 5000 or result["rss_per_trigger_kib"] < RSS_GOAL_KIB)
        rows.append(
            f"| 2 | {n:,} triggers in one event loop, poll every {result['poll_interval']:.0f} s | "
            f"{measured} | "
            f"emulator CPU {result['emulator_cpu_percent']}% | {goal} | {_verdict(ok)} |"
        )
    breaking = next((r["triggers"] for r in figures["scale"] if not r["holds"]), None)
    largest = max(r["triggers"] for r in figures["scale"])
    rows.append(
        "| 2 | Breaking point | "
        + (f"first miss at {breaking:,} triggers" if breaking else f"none up to {largest:,} triggers")
        + " | | report it | measured |"
    )
    latency = figures["latency"]
    bound = latency["poll_interval"] + LATENCY_SLACK_S
    rows.append(
        f"| 4 | Run terminal in the emulator → task resumed (dag.test, poll every "
        f"{latency['poll_interval']:.0f} s, {len(latency['latencies_s'])} runs) | "
        f"max {latency['max_s']} s, mean {latency['mean_s']} s | | "
        f"≤ {bound:.0f} s | {_verdict(latency['max_s'] <= bound)} |"
    )
    rows.append(_daggy_row(figures["daggy_poll_cost"]))
    return "\n".join(rows)


def _daggy_row(daggy: dict[str, Any]) -> str:
    pollers = daggy["pollers"]
    large, one = pollers[DAGGY_LARGE], pollers[DAGGY_ONE]
    side = [f"one-task run {one['cpu_us_per_poll']:.0f} µs"]
    if DAGGY_BEFORE in pollers:
        before = pollers[DAGGY_BEFORE]
        side.append(
            f"whole document per poll (before) {before['cpu_us_per_poll']:,.0f} µs "
            f"({before['one_task_ratio']:.0f}x)"
        )
    ok = large["one_task_ratio"] <= DAGGY_SIZE_RATIO_GOAL
    return (
        f"| 5 | CPU per status poll of a Daggy run of {daggy['tasks']:,} tasks with "
        f"{daggy['log_bytes'] / 1e6:.0f} MB of logs (DaggyRunTrigger, median of {large['rounds']} rounds) | "
        f"{large['cpu_us_per_poll']:.0f} µs ({large['one_task_ratio']:.2f}x a one-task run) | "
        f"{'; '.join(side)} | ≤ {DAGGY_SIZE_RATIO_GOAL}x a one-task run | {_verdict(ok)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not figures")
    parser.add_argument("--out", type=Path, default=OUT, help="where results.md and results.json go")
    parser.add_argument("--reuse-airflow-home", action="store_true", help="AIRFLOW_HOME has a migrated db")
    args = parser.parse_args()
    quick = args.quick
    # Imports are timed as a deployment has them: from bytecode, written on the first (unmeasured) run.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    # Airflow writes a config into AIRFLOW_HOME on import: not into the user's ~/airflow.
    os.environ.setdefault("AIRFLOW_HOME", str(args.out / "airflow-home"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    started = time.monotonic()
    figures: dict[str, Any] = {"python": platform.python_version(), "quick": quick}
    print("DAG-parse cost...", file=sys.stderr, flush=True)
    figures["import_cost"] = _child("benchmarks.import_cost", "--runs", "1" if quick else "11")
    print("CPU per poll...", file=sys.stderr, flush=True)
    poll_args = ["--seconds", "0.5", "--rounds", "1"] if quick else []
    figures["poll_cost"] = _child("benchmarks.poll_cost", *poll_args)
    print("CPU per poll of a large Daggy run...", file=sys.stderr, flush=True)
    daggy_args = ["--seconds", "0.5", "--rounds", "1", "--tasks", "100", "--log-mb", "2"] if quick else []
    figures["daggy_poll_cost"] = _child("benchmarks.daggy_poll_cost", *daggy_args)
    print("Triggers at scale...", file=sys.stderr, flush=True)
    if quick:
        figures["scale"] = scale_runs([50], limit=50, poll_interval=1.0, intervals=1)
    else:
        figures["scale"] = scale_runs([1000, 2000, 5000], limit=80000, poll_interval=10.0, intervals=2)
    print("Latency...", file=sys.stderr, flush=True)
    latency_args = ["--runs", "1", "--poll-interval", "1"] if quick else []
    if args.reuse_airflow_home:
        latency_args.append("--reuse-airflow-home")
    figures["latency"] = _child("benchmarks.latency", *latency_args)
    figures["seconds"] = round(time.monotonic() - started)
    text = table(figures)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(figures, indent=2))
    (args.out / "results.md").write_text(text + "\n")
    print(text)
    print(f"\n({figures['seconds']} s; saved to {args.out}/results.md and results.json)")


if __name__ == "__main__":
    main()
