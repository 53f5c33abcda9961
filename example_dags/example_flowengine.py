"""
FlowEngine (4Paradigm) offline pipelines: run a pipeline with per-node parameters and wait
(deferrable and classic), watch a run with a sensor, stop and resume a run, change a pipeline and
turn its schedule off.

Connection ``flowengine_default``: the host is ``fl_url``; extras ``engine_key`` and ``user_id``::

    {"conn_type": "flowengine", "host": "https://flowengine.example.com",
     "extra": {"engine_key": "...", "user_id": "1"}}

(``make demo`` points it at the local emulator, whose pipeline 1 is ``daily_features``.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow_provider_pipelines.operators.flowengine import (
    FlowEngineResumeRunOperator,
    FlowEngineSchedulePipelineOperator,
    FlowEngineStartPipelineOperator,
    FlowEngineStopRunOperator,
    FlowEngineUpdatePipelineOperator,
)
from airflow_provider_pipelines.sensors.flowengine import FlowEnginePipelineRunSensor

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

# The run's day; Airflow 3 runs triggered without a logical date have no ``ds``, so fall back to
# the time the run was due.
DAY = "{{ (logical_date if logical_date is defined else dag_run.run_after) | ds }}"

POLL_INTERVAL = 1
PIPELINE_ID = 1

with DAG(
    dag_id="example_flowengine",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "flowengine"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
) as dag:
    # [START howto_flowengine_update_schedule]
    # Airflow drives this pipeline from now on: describe it so, and turn its own crontab off.
    describe = FlowEngineUpdatePipelineOperator(
        task_id="describe", pipeline_id=PIPELINE_ID, changes={"data": {"describe": "scheduled by Airflow"}}
    )
    unschedule = FlowEngineSchedulePipelineOperator(
        task_id="unschedule", pipeline_id=PIPELINE_ID, enabled=False
    )
    # [END howto_flowengine_update_schedule]

    # [START howto_flowengine_start_deferrable]
    # Nodes named by their name ("feature_sql") or id ("node_train"); waits in the triggerer.
    features = FlowEngineStartPipelineOperator(
        task_id="features",
        pipeline_id=PIPELINE_ID,
        node_params={"feature_sql": {"day": DAY}, "node_train": {"epochs": "3"}},
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=2),
    )
    # [END howto_flowengine_start_deferrable]
    # [START howto_flowengine_start_classic]
    # Waits on the worker.
    rerun = FlowEngineStartPipelineOperator(
        task_id="rerun", pipeline_id=PIPELINE_ID, deferrable=False, poll_interval=POLL_INTERVAL
    )
    # [END howto_flowengine_start_classic]

    # [START howto_flowengine_start_then_sensor]
    # Start without waiting, watch with a sensor.
    start_nowait = FlowEngineStartPipelineOperator(
        task_id="start_nowait", pipeline_id=PIPELINE_ID, wait_for_completion=False
    )
    watch = FlowEnginePipelineRunSensor(
        task_id="watch",
        pipeline_id=PIPELINE_ID,
        run_id="{{ ti.xcom_pull(task_ids='start_nowait', key='run_id') }}",
        deferrable=True,
        poke_interval=POLL_INTERVAL,
    )
    # [END howto_flowengine_start_then_sensor]

    describe >> unschedule >> features >> rerun
    start_nowait >> watch


with DAG(
    dag_id="example_flowengine_resume",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "flowengine"],
) as resume_dag:
    # [START howto_flowengine_stop_resume]
    run_id = "{{ ti.xcom_pull(task_ids='start', key='run_id') }}"
    start = FlowEngineStartPipelineOperator(
        task_id="start", pipeline_id=PIPELINE_ID, wait_for_completion=False
    )
    stop = FlowEngineStopRunOperator(task_id="stop", run_id=run_id)
    resume = FlowEngineResumeRunOperator(
        task_id="resume", pipeline_id=PIPELINE_ID, run_id=run_id, deferrable=True, poll_interval=POLL_INTERVAL
    )
    # [END howto_flowengine_stop_resume]
    start >> stop >> resume
