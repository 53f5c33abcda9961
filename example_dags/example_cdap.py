"""
CDAP / Cloud Data Fusion: start batch pipelines (deferrable and classic), watch a run with a sensor,
and stop a running streaming pipeline.

Connection ``cdap_default``: for the local emulator, ``make demo`` sets it to
``{"conn_type": "cdap", "host": "http://127.0.0.1:11015"}``. For Cloud Data Fusion, set the host to
the instance's ``apiEndpoint`` and ``"extra": {"auth_type": "google"}``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator, CdapStopPipelineOperator
from airflow_provider_pipelines.sensors.cdap import CdapPipelineRunSensor

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

# The run's day; Airflow 3 runs triggered without a logical date have no ``ds``, so fall back to
# the time the run was due.
DAY = "{{ (logical_date if logical_date is defined else dag_run.run_after) | ds }}"
DAY_NODASH = "{{ (logical_date if logical_date is defined else dag_run.run_after) | ds_nodash }}"

# Pipelines on the emulator take a few seconds; real ones take minutes, where 10-60 s is typical.
POLL_INTERVAL = 2

with DAG(
    dag_id="example_cdap",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "cdap"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
) as dag:
    # [START howto_cdap_start_deferrable]
    # Waits in the triggerer: no worker slot is held while the pipeline runs.
    daily_sales = CdapStartPipelineOperator(
        task_id="daily_sales",
        pipeline_name="daily-sales",
        runtime_args={
            "input.path": "gs://example-bucket/sales/" + DAY + "/",
            "output.table": "sales_" + DAY_NODASH,
        },
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=2),
    )
    # [END howto_cdap_start_deferrable]

    # [START howto_cdap_start_classic]
    # Waits on the worker, polling.
    inventory_sync = CdapStartPipelineOperator(
        task_id="inventory_sync",
        pipeline_name="inventory-sync",
        deferrable=False,
        poll_interval=POLL_INTERVAL,
    )
    # [END howto_cdap_start_classic]

    # [START howto_cdap_start_then_sensor]
    # Start without waiting, then wait with a sensor (for example in another DAG, or after other work).
    start_orders_export = CdapStartPipelineOperator(
        task_id="start_orders_export",
        pipeline_name="orders-export",
        wait_for_completion=False,
    )
    wait_for_orders_export = CdapPipelineRunSensor(
        task_id="wait_for_orders_export",
        pipeline_name="orders-export",
        run_id="{{ ti.xcom_pull(task_ids='start_orders_export', key='run_id') }}",
        deferrable=True,
        poke_interval=POLL_INTERVAL,
        timeout=3600,
    )
    # [END howto_cdap_start_then_sensor]

    # [START howto_cdap_streaming_start_stop]
    # A streaming pipeline succeeds once it is RUNNING; stop that run afterwards.
    start_clickstream = CdapStartPipelineOperator(
        task_id="start_clickstream",
        pipeline_name="clickstream-events",
        pipeline_type="streaming",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    stop_clickstream = CdapStopPipelineOperator(
        task_id="stop_clickstream",
        pipeline_name="clickstream-events",
        pipeline_type="streaming",
        run_id="{{ ti.xcom_pull(task_ids='start_clickstream', key='run_id') }}",
    )
    # [END howto_cdap_streaming_start_stop]

    daily_sales >> inventory_sync
    start_orders_export >> wait_for_orders_export
    start_clickstream >> stop_clickstream
