"""
Cloud Data Fusion, end to end: create an instance, deploy a pipeline to it, run the pipeline, delete
the pipeline, delete the instance. Every CDAP task addresses the instance by project, location and
name; the Google Cloud connection ``google_cloud_default`` signs the calls.

On Cloud Composer, ``google_cloud_default`` already exists (the environment's service account). With
the local emulators, ``make demo`` points ``[pipelines] datafusion_api_url`` and ``google_iam_url``
at the Data Fusion emulator and stores a service-account key it accepts in ``google_cloud_default``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow_provider_pipelines.operators.cdap import (
    CdapCreateInstanceOperator,
    CdapCreatePipelineOperator,
    CdapDeleteInstanceOperator,
    CdapDeletePipelineOperator,
    CdapStartPipelineOperator,
)

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]

PROJECT_ID = os.environ.get("DATAFUSION_PROJECT", "emulator-project")
LOCATION = os.environ.get("DATAFUSION_LOCATION", "europe-west1")
# One instance per DAG run, so that two runs never share (or delete) each other's instance.
RUN_TIME = "(logical_date if logical_date is defined else dag_run.run_after)"
INSTANCE = "example-{{ " + RUN_TIME + ".strftime('%Y%m%d%H%M%S%f') }}"
# Instances take 10-20 minutes to create on Google Cloud; a second or two on the emulator.
POLL_INTERVAL = 2

# [START howto_datafusion_pipeline_json]
# A batch pipeline as the Studio exports it: GCS text files into a BigQuery table.
PIPELINE = {
    "name": "gcs-to-bigquery",
    "description": "Daily orders from GCS to BigQuery",
    "artifact": {"name": "cdap-data-pipeline", "version": "6.10.1", "scope": "SYSTEM"},
    "config": {
        "resources": {"memoryMB": 2048, "virtualCores": 1},
        "stages": [
            {
                "name": "orders",
                "plugin": {
                    "name": "GCSFile",
                    "type": "batchsource",
                    "properties": {"path": "gs://example-bucket/orders/${day}/", "format": "csv"},
                },
            },
            {
                "name": "warehouse",
                "plugin": {
                    "name": "BigQueryTable",
                    "type": "batchsink",
                    "properties": {"project": PROJECT_ID, "dataset": "sales", "table": "orders"},
                },
            },
        ],
        "connections": [{"from": "orders", "to": "warehouse"}],
        "schedule": "0 * * * *",
        "engine": "spark",
    },
}
# [END howto_datafusion_pipeline_json]

with DAG(
    dag_id="example_datafusion",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "cdap", "datafusion"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
) as dag:
    instance = {"project_id": PROJECT_ID, "location": LOCATION, "instance_name": INSTANCE}

    # [START howto_datafusion_create_instance]
    create_instance = CdapCreateInstanceOperator(
        task_id="create_instance",
        **instance,
        instance={"type": "BASIC", "labels": {"team": "data"}},
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    # [END howto_datafusion_create_instance]

    # [START howto_datafusion_deploy_run_delete]
    deploy = CdapCreatePipelineOperator(
        task_id="deploy_pipeline", **instance, pipeline_name="gcs-to-bigquery", pipeline=PIPELINE
    )
    run = CdapStartPipelineOperator(
        task_id="run_pipeline",
        **instance,
        pipeline_name="gcs-to-bigquery",
        runtime_args={"day": "{{ (logical_date if logical_date is defined else dag_run.run_after) | ds }}"},
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    delete_pipeline = CdapDeletePipelineOperator(
        task_id="delete_pipeline", **instance, pipeline_name="gcs-to-bigquery", trigger_rule="all_done"
    )
    # [END howto_datafusion_deploy_run_delete]

    # [START howto_datafusion_delete_instance]
    delete_instance = CdapDeleteInstanceOperator(
        task_id="delete_instance",
        **instance,
        trigger_rule="all_done",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    # [END howto_datafusion_delete_instance]

    create_instance >> deploy >> run >> delete_pipeline >> delete_instance
