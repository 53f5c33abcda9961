"""The example platform's example DAG (a real platform's is ``example_dags/example_<platform>.py``)."""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

from tests.example_platform.operator import ExampleRunOperator
from tests.example_platform.sensor import ExampleRunSensor

with DAG(dag_id="example_example", schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:
    # Wait in the triggerer; cancel the run if it is still going after an hour.
    ExampleRunOperator(task_id="run_daily", job="daily", deferrable=True, timeout=3600)
    # Start without waiting, and wait in a sensor.
    start = ExampleRunOperator(task_id="start_nightly", job="nightly", wait_for_completion=False)
    wait = ExampleRunSensor(
        task_id="wait_nightly", run_id="{{ ti.xcom_pull(task_ids='start_nightly', key='run_id') }}"
    )
    start >> wait
