"""
``make demo``: start the emulators, run every example DAG end to end with ``dag.test()``, print each
task's final state, stop the emulators. Exits non-zero when a task did not succeed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "example_dags"
HOME = ROOT / ".demo" / "airflow"
BIN = Path(sys.executable).parent


def start_emulators() -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_pipelines.emulators",
            "all",
            "--host",
            "127.0.0.1",
            "--cdap-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    urls: dict[str, str] = {}
    assert process.stdout is not None
    deadline = time.time() + 30
    while len(urls) < 1 and time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        print(line.rstrip())
        name, _, url = line.strip().partition(" emulator listening on ")
        if url:
            urls[name] = url
    if "cdap" not in urls:
        process.terminate()
        raise SystemExit("the emulators did not start")
    return process, urls


def prepare_airflow(urls: dict[str, str]) -> None:
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_CDAP_DEFAULT": json.dumps(
                {"conn_type": "cdap", "host": urls["cdap"], "extra": {"ui_url": "http://localhost:11011"}}
            ),
        }
    )
    print("Migrating the demo's Airflow database ...", flush=True)
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], check=True, capture_output=True)


def run_example(path: Path) -> dict[str, str]:
    spec = importlib.util.spec_from_file_location(f"demo_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag_run = module.dag.test()
    return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in dag_run.get_task_instances()}


def print_emulator_runs(urls: dict[str, str]) -> None:
    """What the platforms saw: each run the example DAGs started, and how it ended."""
    import requests

    runs = requests.get(urls["cdap"] + "/_emulator/cdap/runs", timeout=10).json()
    print("\nRuns on the CDAP emulator:")
    for run in runs:
        print(f"  {run.get('app', '?'):<22} {run['runid']}  {run['status']}")


def main() -> int:
    emulators, urls = start_emulators()
    results: dict[str, dict[str, str]] = {}
    try:
        prepare_airflow(urls)
        for path in sorted(EXAMPLES.glob("example_*.py")):
            print(f"\n=== {path.name} ===", flush=True)
            started = time.time()
            results[path.stem] = run_example(path)
            print(f"=== {path.name}: {time.time() - started:.1f}s ===", flush=True)
        print_emulator_runs(urls)
    finally:
        emulators.terminate()
        emulators.wait(timeout=10)
    print("\nFinal task states:")
    failed = 0
    for dag_id, states in results.items():
        for task_id, state in sorted(states.items()):
            print(f"  {dag_id:<22} {task_id:<26} {state}")
            failed += state != "success"
    print(
        "\nDemo OK: every task succeeded."
        if not failed
        else f"\nDemo FAILED: {failed} task(s) did not succeed."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
