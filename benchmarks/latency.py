"""Latency from a run's terminal state in the emulator to the Airflow task resuming.

A deferrable ``CdapStartPipelineOperator`` runs through ``dag.test()`` (the trigger serialised, run
and its event handed back to the task, as the triggerer does) against an in-process CDAP emulator
whose runs last ``--run-seconds``. The emulator knows when each run reached its final state; the
task notes when ``execute_complete`` began. ``python -m benchmarks.latency`` prints one JSON object.
It sets up its own ``AIRFLOW_HOME`` (a migrated SQLite database in a temporary directory), unless
``--reuse-airflow-home`` says the current one is migrated already (the test suite's).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

DAG_FILE = '''
import json, os, time
from datetime import datetime

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator


class TimedCdapStart(CdapStartPipelineOperator):
    """Notes when the task resumes from the trigger's event."""

    def execute_complete(self, context, event=None):
        resumed = time.time()
        with open(os.environ["BENCH_LATENCY_LOG"], "a") as log:
            log.write(json.dumps({"run_id": (event or {}).get("run", {}).get("run_id"), "resumed": resumed}))
            log.write("\\n")
        return super().execute_complete(context, event)


with DAG("bench_latency", schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:
    TimedCdapStart(
        task_id="start",
        pipeline_name="latency",
        deferrable=True,
        poll_interval=float(os.environ["BENCH_POLL_INTERVAL"]),
    )
'''


def _airflow_home(reuse: bool) -> Path:
    """A private AIRFLOW_HOME with a migrated database; set before Airflow is imported."""
    home = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    (home / "dags").mkdir()
    if reuse:
        shutil.copy(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db", home / "airflow.db")
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES_REGEXP": "airflow_provider_pipelines.*",
            # dag.test() has no executor race to guard against. In a deployment a run ending sooner
            # than the guard after its task deferred is reported when the guard ends (PERFORMANCE.md).
            "AIRFLOW__PIPELINES__RESUME_GUARD_SECONDS": "0",
        }
    )
    if not reuse:
        airflow = Path(sys.executable).parent / "airflow"
        subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
    return home


def measure(
    runs: int = 5, poll_interval: float = 2.0, run_seconds: float = 3.0, reuse_home: bool = False
) -> dict[str, Any]:
    home = _airflow_home(reuse_home)
    try:
        import importlib.util

        from airflow_provider_pipelines.emulators.cdap import CdapEmulatorConfig, CdapEmulatorHandle

        emulator = CdapEmulatorHandle.start(
            CdapEmulatorConfig(
                pending_seconds=0.0,
                starting_seconds=0.0,
                running_seconds=run_seconds,
                not_found_seconds=0.0,
                stop_seconds=0.1,
            )
        )
        log = home / "resumed.jsonl"
        os.environ.update(
            {
                "AIRFLOW_CONN_CDAP_DEFAULT": json.dumps({"conn_type": "cdap", "host": emulator.url}),
                "BENCH_LATENCY_LOG": str(log),
                "BENCH_POLL_INTERVAL": str(poll_interval),
            }
        )
        path = home / "dags" / "bench_latency.py"
        path.write_text(textwrap.dedent(DAG_FILE))
        spec = importlib.util.spec_from_file_location("bench_latency", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        states = [str(module.dag.test().state) for _ in range(runs)]
        ends = emulator.run_ends()
        emulator.stop()
        latencies = []
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            latencies.append(entry["resumed"] - ends[entry["run_id"]])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {
        "poll_interval": poll_interval,
        "run_seconds": run_seconds,
        "dag_run_states": states,
        "latencies_s": [round(value, 2) for value in latencies],
        "max_s": round(max(latencies), 2),
        "mean_s": round(sum(latencies) / len(latencies), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--poll-interval", type=float, default=2.0)
    parser.add_argument("--run-seconds", type=float, default=3.0)
    parser.add_argument("--reuse-airflow-home", action="store_true", help="AIRFLOW_HOME has a migrated db")
    args = parser.parse_args()
    print(json.dumps(measure(args.runs, args.poll_interval, args.run_seconds, args.reuse_airflow_home)))


if __name__ == "__main__":
    main()
