"""
Tailer: launch a table-to-table job and wait (deferrable and classic), watch a run with a sensor,
reset a workflow and re-activate a configuration (``example_tailer``); wait for another team's job
to succeed today before going on (``example_tailer_dependency``).

Connection ``tailer_default``, with a Firebase refresh token so long waits keep working::

    {"conn_type": "tailer", "extra": {"refresh_token": "...", "firebase_api_key": "..."}}

(``make demo`` points it at the local emulator and its token endpoint.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow_provider_pipelines.operators.tailer import (
    TailerLaunchJobOperator,
    TailerResetWorkflowOperator,
    TailerSetConfigurationStatusOperator,
)
from airflow_provider_pipelines.sensors.tailer import TailerJobRunSensor, TailerLastStatusSensor

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

# The run's day; Airflow 3 runs triggered without a logical date have no ``ds``, so fall back to
# the time the run was due.
DAY = "{{ (logical_date if logical_date is defined else dag_run.run_after) | ds }}"

POLL_INTERVAL = 1
# [START howto_tailer_job]
JOB = {"account": "000099", "environment": "DEV", "configuration_type": "table-to-table"}
# [END howto_tailer_job]

with DAG(
    dag_id="example_tailer",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "tailer"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
) as dag:
    # [START howto_tailer_launch_deferrable]
    # The id is written without its environment: the operator adds "_DEV" (and says so in the log).
    prepare = TailerLaunchJobOperator(
        task_id="prepare_pda",
        **JOB,
        configuration_id="000099_iowa_liquor_prepare_pda",
        execution_date=DAY,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=3),
    )
    # [END howto_tailer_launch_deferrable]

    # [START howto_tailer_launch_classic]
    load = TailerLaunchJobOperator(
        task_id="load_pda",
        **JOB,
        configuration_id="000099_iowa_liquor_load_pda_DEV",
        deferrable=False,
        poll_interval=POLL_INTERVAL,
    )
    # [END howto_tailer_launch_classic]

    # [START howto_tailer_launch_then_sensor]
    # Launch without waiting; watch that run with a sensor.
    launch_export = TailerLaunchJobOperator(
        task_id="launch_export",
        **JOB,
        configuration_id="000099_export_sales_DEV",
        wait_for_completion=False,
    )
    wait_export = TailerJobRunSensor(
        task_id="wait_export",
        **JOB,
        configuration_id="000099_export_sales_DEV",
        job_id="{{ ti.xcom_pull(task_ids='launch_export', key='job_id') }}",
        run_id="{{ ti.xcom_pull(task_ids='launch_export', key='run_id') }}",
        deferrable=True,
        poke_interval=POLL_INTERVAL,
        timeout=3600,
    )
    # [END howto_tailer_launch_then_sensor]

    # [START howto_tailer_reset_activate]
    # Start a workflow from scratch, and make sure a configuration is active.
    reset = TailerResetWorkflowOperator(
        task_id="reset_workflow", account="000099", environment="DEV", configuration_id="000099-load-pda"
    )
    activate = TailerSetConfigurationStatusOperator(
        task_id="activate_export", **JOB, configuration_id="000099_export_sales_DEV", activated=True
    )
    # [END howto_tailer_reset_activate]

    reset >> prepare >> load
    activate >> launch_export >> wait_export


# Another team's job must have succeeded today before this pipeline goes on.
with DAG(
    dag_id="example_tailer_dependency",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "tailer"],
) as dependency_dag:
    # [START howto_tailer_last_status]
    upstream = TailerLaunchJobOperator(  # on a real platform, the other team's schedule does this
        task_id="other_team_job",
        **JOB,
        configuration_id="000099_stores_referential_DEV",
        wait_for_completion=False,
    )
    wait_for_stores = TailerLastStatusSensor(
        task_id="wait_for_stores_referential",
        **JOB,
        configuration_id="000099_stores_referential_DEV",
        deferrable=True,
        poke_interval=POLL_INTERVAL,
        timeout=6 * 3600,
    )
    # [END howto_tailer_last_status]
    upstream >> wait_for_stores
