"""
Daggy: submit a parameterised DAG and wait (deferrable and classic), watch a run with a sensor
(``example_daggy``), and kill a run, then resume it from Airflow (``example_daggy_resume``).

Connection ``daggy_default``: host and port of daggyd, e.g.
``{"conn_type": "daggy", "host": "daggy.example.com", "port": 2503}`` (``make demo`` points it at the
local emulator).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow_provider_pipelines.operators.daggy import (
    DaggyKillRunOperator,
    DaggyRequeueRunOperator,
    DaggySubmitDagOperator,
)
from airflow_provider_pipelines.sensors.daggy import DaggyRunSensor

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

# The run's day; Airflow 3 runs triggered without a logical date have no ``ds``, so fall back to
# the time the run was due.
DAY = "{{ (logical_date if logical_date is defined else dag_run.run_after) | ds }}"
DAY_NODASH = "{{ (logical_date if logical_date is defined else dag_run.run_after) | ds_nodash }}"

POLL_INTERVAL = 1

# [START howto_daggy_dag_spec]
# One task per JOBNO value (``extract_0``, ``extract_1``), then ``load`` once both are done.
# ``{{JOBNO}}`` is Daggy's parameter, left alone; ``DAY`` is an Airflow template, rendered before submitting.
EXTRACT_AND_LOAD = {
    "tag": "extract-load-" + DAY_NODASH,
    "parameters": {"JOBNO": ["1", "2"]},
    "tasks": {
        "extract": {
            "job": {"command": ["/usr/bin/python3", "extract.py", "--part", "{{JOBNO}}", "--day", DAY]},
            "maxRetries": 1,
            "children": ["load"],
        },
        "load": {"job": {"command": ["/usr/bin/python3", "load.py", "--day", DAY]}},
    },
}
# [END howto_daggy_dag_spec]

REPORT = {
    "tag": "report",
    "tasks": {
        "aggregate": {"job": {"command": ["/usr/bin/python3", "aggregate.py"]}, "children": ["publish"]},
        "publish": {"job": {"command": ["/usr/bin/python3", "publish.py"]}},
    },
}

with DAG(
    dag_id="example_daggy",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "daggy"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
) as dag:
    # [START howto_daggy_submit_deferrable]
    # Validated first (an invalid DAG fails here with Daggy's reason), then submitted; waits in the triggerer.
    extract_and_load = DaggySubmitDagOperator(
        task_id="extract_and_load",
        dag_spec=EXTRACT_AND_LOAD,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=1),
    )
    # [END howto_daggy_submit_deferrable]

    # [START howto_daggy_submit_classic]
    # Waits on the worker.
    report = DaggySubmitDagOperator(
        task_id="report", dag_spec=REPORT, deferrable=False, poll_interval=POLL_INTERVAL
    )
    # [END howto_daggy_submit_classic]

    # [START howto_daggy_sensor]
    # Submit without waiting, watch with a sensor.
    submit_nowait = DaggySubmitDagOperator(
        task_id="submit_nowait", dag_spec=REPORT, wait_for_completion=False
    )
    watch = DaggyRunSensor(
        task_id="watch",
        run_id="{{ ti.xcom_pull(task_ids='submit_nowait', key='run_id') }}",
        deferrable=True,
        poke_interval=POLL_INTERVAL,
    )
    # [END howto_daggy_sensor]

    extract_and_load >> report
    submit_nowait >> watch


# Kill a run, then resume it from Airflow: its killed tasks run again and the task waits for the end.
with DAG(
    dag_id="example_daggy_resume",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "daggy"],
) as resume_dag:
    # [START howto_daggy_kill_requeue]
    run_id = "{{ ti.xcom_pull(task_ids='submit', key='run_id') }}"
    submit = DaggySubmitDagOperator(task_id="submit", dag_spec=REPORT, wait_for_completion=False)
    kill = DaggyKillRunOperator(task_id="kill", run_id=run_id)
    resume = DaggyRequeueRunOperator(
        task_id="resume", run_id=run_id, deferrable=True, poll_interval=POLL_INTERVAL
    )
    # [END howto_daggy_kill_requeue]

    submit >> kill >> resume
