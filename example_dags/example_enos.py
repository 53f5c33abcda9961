"""
EnOS (Envision): start a stream processing pipeline and wait until it runs, pause and stop it, and
trigger a batch data flow (deferrable and classic) and watch an instance with a sensor.

Connection ``enos_default``: the API gateway, the app key and secret, the organization (and the
user for batch flows)::

    {"conn_type": "enos", "host": "https://apim-ppe1.envisioniot.com", "login": "<app key>",
     "password": "<app secret>", "extra": {"org_id": "o15589...", "user_id": "u15589..."}}

(``make demo`` points it at the local emulator.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow_provider_pipelines.operators.enos import (
    EnosPauseStreamingPipelineOperator,
    EnosStartStreamingPipelineOperator,
    EnosStopStreamingPipelineOperator,
    EnosTriggerFlowOperator,
)
from airflow_provider_pipelines.sensors.enos import EnosFlowInstanceSensor, EnosStreamingPipelineSensor

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

# The run's day; Airflow 3 runs triggered without a logical date have no ``ds``, so fall back to
# the time the run was due.
DAY = "{{ (logical_date if logical_date is defined else dag_run.run_after) | ds }}"

POLL_INTERVAL = 1

with DAG(
    dag_id="example_enos",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "enos"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
) as dag:
    # [START howto_enos_streaming]
    # Streaming: start, wait until the pipeline list shows RUNNING, pause, then stop and wait for STOPPED.
    start = EnosStartStreamingPipelineOperator(
        task_id="start_pipeline",
        pipeline_id="pl-demo-1",
        execution_mode="standalone",
        kafka_rate=1000,
        resource_config={"server": 1},
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(minutes=15),
    )
    running = EnosStreamingPipelineSensor(
        task_id="is_running", pipeline_id="pl-demo-1", poke_interval=POLL_INTERVAL, timeout=600
    )
    pause = EnosPauseStreamingPipelineOperator(task_id="pause_pipeline", pipeline_id="pl-demo-1")
    stop = EnosStopStreamingPipelineOperator(
        task_id="stop_pipeline", pipeline_id="pl-demo-1", deferrable=True, poll_interval=POLL_INTERVAL
    )
    # [END howto_enos_streaming]

    # [START howto_enos_flow_deferrable]
    # Batch data flows (v2.1): trigger with parameters and wait; trigger another and watch it with a sensor.
    daily_flow = EnosTriggerFlowOperator(
        task_id="daily_flow",
        flow_id=101,
        parameters={"day": DAY},
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=2),
    )
    # [END howto_enos_flow_deferrable]
    # [START howto_enos_flow_classic]
    hourly_flow = EnosTriggerFlowOperator(
        task_id="hourly_flow", flow_id=102, deferrable=False, poll_interval=POLL_INTERVAL
    )
    # [END howto_enos_flow_classic]
    # [START howto_enos_flow_then_sensor]
    trigger_nowait = EnosTriggerFlowOperator(task_id="trigger_nowait", flow_id=103, wait_for_completion=False)
    watch_flow = EnosFlowInstanceSensor(
        task_id="watch_flow",
        flow_instance_id="{{ ti.xcom_pull(task_ids='trigger_nowait', key='run_id') }}",
        deferrable=True,
        poke_interval=POLL_INTERVAL,
    )
    # [END howto_enos_flow_then_sensor]

    start >> running >> pause >> stop
    daily_flow >> hourly_flow
    trigger_nowait >> watch_flow
