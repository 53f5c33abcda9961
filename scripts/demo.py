"""
``make demo``: start the emulators, run every example DAG end to end with ``dag.test()`` (or only
those named: ``scripts/demo.py example_cdap``), print each task's final state, stop the emulators.
Exits non-zero when a task did not succeed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from airflow_provider_pipelines.emulators.__main__ import EMULATORS
from airflow_provider_pipelines.emulators.connections import connection_env, wire_datafusion

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "example_dags"
HOME = ROOT / ".demo" / "airflow"
BIN = Path(sys.executable).parent


def start_emulators() -> tuple[subprocess.Popen[str], dict[str, str]]:
    ports = [arg for name in EMULATORS for arg in (f"--{name}-port", "0")]
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_pipelines.emulators", "all", "--host", "127.0.0.1", *ports],
        stdout=subprocess.PIPE,
        text=True,
    )
    urls: dict[str, str] = {}
    assert process.stdout is not None
    deadline = time.time() + 30
    while len(urls) < len(EMULATORS) and time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        print(line.rstrip())
        name, _, url = line.strip().partition(" emulator listening on ")
        if url:
            urls[name] = url
    if set(urls) != set(EMULATORS):
        process.terminate()
        raise SystemExit("the emulators did not start")
    wire_datafusion(urls)
    return process, urls


def prepare_airflow(urls: dict[str, str]) -> None:
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # dag.test() has no executor: no resume race to guard against (README, Known issues).
            "AIRFLOW__PIPELINES__RESUME_GUARD_SECONDS": "0",
            **connection_env(urls),
        }
    )
    print("Migrating the demo's Airflow database ...", flush=True)
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], check=True, capture_output=True)


def run_examples(path: Path) -> dict[str, dict[str, str]]:
    """Run every DAG the file defines; the final state of each of their tasks."""
    spec = importlib.util.spec_from_file_location(f"demo_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = {}
    for dag in [value for value in vars(module).values() if type(value).__name__ == "DAG"]:
        dag_run = dag.test()
        results[dag.dag_id] = {
            ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in dag_run.get_task_instances()
        }
    return results


def print_emulator_runs(urls: dict[str, str]) -> None:
    """What the platforms saw: each run the example DAGs started, and how it ended."""
    import requests

    print("\nRuns on the CDAP emulator:")
    for run in requests.get(urls["cdap"] + "/_emulator/cdap/runs", timeout=10).json():
        print(f"  {run.get('app', '?'):<22} {run['runid']}  {run['status']}")
    print("\nRuns on the Daggy emulator:")
    for run in requests.get(urls["daggy"] + "/_emulator/daggy/runs", timeout=10).json():
        history = " -> ".join(change["state"] for change in run.get("dagStateChanges", []))
        print(f"  run {run['runID']:<3} {run.get('tag', ''):<44} {history}")
    print("\nRuns on the Tailer emulator:")
    for run in requests.get(urls["tailer"] + "/_emulator/tailer/runs", timeout=10).json():
        print(f"  {run['configuration_id']:<36} {run['run_id']}  {run['status']}")
    print("\nRuns on the FlowEngine emulator:")
    for run in requests.get(urls["flowengine"] + "/_emulator/flowengine/runs", timeout=10).json():
        print(f"  pipeline {run['pipelineId']:<4} run {run['id']:<6} {run['status']}")
    print("\nEnOS streaming pipelines the examples touched, and flow instances:")
    for pipeline in requests.get(urls["enos"] + "/_emulator/enos/pipelines", timeout=10).json():
        if pipeline["pipelineId"] == "pl-demo-1":
            print(f"  pipeline {pipeline['pipelineId']:<16} {pipeline['status']}")
    for instance in requests.get(urls["enos"] + "/_emulator/enos/flow-instances", timeout=10).json():
        print(f"  flow instance {instance['flowInstId']:<28} {instance['statusDesc']}")


def main(only: list[str]) -> int:
    """Run every example DAG file, or only those named (``example_cdap`` or ``example_cdap.py``)."""
    paths = [p for p in sorted(EXAMPLES.glob("example_*.py")) if not only or p.stem in only or p.name in only]
    if not paths:
        raise SystemExit(f"no example DAG file named {only}")
    emulators, urls = start_emulators()
    results: dict[str, dict[str, str]] = {}
    try:
        prepare_airflow(urls)
        for path in paths:
            print(f"\n=== {path.name} ===", flush=True)
            started = time.time()
            results.update(run_examples(path))
            print(f"=== {path.name}: {time.time() - started:.1f}s ===", flush=True)
        print_emulator_runs(urls)
    finally:
        emulators.terminate()
        emulators.wait(timeout=10)
    print("\nFinal task states:")
    failed = 0
    for dag_id, states in results.items():
        for task_id, state in sorted(states.items()):
            print(f"  {dag_id:<26} {task_id:<28} {state}")
            failed += state != "success"
    print(
        "\nDemo OK: every task succeeded."
        if not failed
        else f"\nDemo FAILED: {failed} task(s) did not succeed."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
