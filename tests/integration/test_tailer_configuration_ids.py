"""One rule decides the configuration id every Tailer operator and sensor sends (``<id>_<ENV>``)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pipelines.hooks.tailer import api_configuration_id, job_identity
from airflow_provider_pipelines.operators.tailer import (
    TailerLaunchJobOperator,
    TailerResetWorkflowOperator,
    TailerSetConfigurationStatusOperator,
)
from airflow_provider_pipelines.sensors.tailer import TailerJobRunSensor, TailerLastStatusSensor
from tests.dag_runner import run_dag

IMPORTS = """
from airflow_provider_pipelines.operators.tailer import (
    TailerLaunchJobOperator, TailerResetWorkflowOperator, TailerSetConfigurationStatusOperator,
)
from airflow_provider_pipelines.sensors.tailer import TailerJobRunSensor, TailerLastStatusSensor
"""
JOB = 'account="000099", environment="DEV", configuration_type="table-to-table"'
RUN_ID = "{{ ti.xcom_pull(task_ids='launch', key='run_id') }}"


def launch_and_sensors(configuration_id: str, mode: str, deferrable: bool) -> str:
    """A launch that does not wait, and both sensors given the very same ``configuration_id``."""
    waiting = f'mode="{mode}", deferrable={deferrable}, poke_interval=0.1, timeout=60'
    return f"""
    l = TailerLaunchJobOperator(task_id="launch", {JOB}, configuration_id="{configuration_id}",
                                wait_for_completion=False)
    run = TailerJobRunSensor(task_id="run", {JOB}, configuration_id="{configuration_id}",
                             run_id="{RUN_ID}", {waiting})
    last = TailerLastStatusSensor(task_id="last", {JOB}, configuration_id="{configuration_id}",
                                  {waiting})
    l >> [run, last]
    """


@pytest.mark.parametrize(
    ("mode", "deferrable"), [("poke", False), ("poke", True)], ids=["poke", "deferrable"]
)
def test_sensors_given_the_launch_tasks_id_find_its_run(tailer: Any, mode: str, deferrable: bool) -> None:
    result = run_dag(launch_and_sensors("000099_sales", mode, deferrable), imports=IMPORTS)

    assert result.states == {"launch": "success", "run": "success", "last": "success"}
    (run,) = tailer.runs()
    assert run["configuration_id"] == "000099_sales_DEV"
    assert run["status"] == "SUCCESS"
    assert result.xcom("launch", "job_id") == "gbq-to-gbq|000099_sales_DEV"
    assert tailer.stats()["launches"] == 1


def test_an_id_with_its_suffix_is_sent_as_given(tailer: Any) -> None:
    result = run_dag(launch_and_sensors("000099_ready_DEV", "poke", False), imports=IMPORTS)

    assert result.states == {"launch": "success", "run": "success", "last": "success"}
    assert [run["configuration_id"] for run in tailer.runs()] == ["000099_ready_DEV"]
    assert result.xcom("launch", "job_id") == "gbq-to-gbq|000099_ready_DEV"


def test_configuration_operators_send_the_id_the_launch_uses(tailer: Any) -> None:
    result = run_dag(
        f"""
        r = TailerResetWorkflowOperator(task_id="reset", account="000099", environment="DEV",
                                        configuration_id="000099-load-pda")
        off = TailerSetConfigurationStatusOperator(
            task_id="disable", {JOB}, configuration_id="000099_off", activated=False
        )
        on = TailerSetConfigurationStatusOperator(
            task_id="enable", {JOB}, configuration_id="000099_on_DEV", activated=True
        )
        l = TailerLaunchJobOperator(task_id="launch", {JOB}, configuration_id="000099_off")
        r >> off >> on >> l
        """,
        imports=IMPORTS,
    )

    # The launch was refused as inactive: the disable task addressed the configuration it launches.
    assert result.states == {
        "reset": "success",
        "disable": "success",
        "enable": "success",
        "launch": "failed",
    }
    configurations = {c["configuration_id"]: c for c in tailer.configurations()}
    assert set(configurations) == {"000099-load-pda", "000099_off_DEV", "000099_on_DEV"}
    assert configurations["000099_off_DEV"]["activated"] is False
    assert configurations["000099_on_DEV"]["activated"] is True
    assert configurations["000099-load-pda"]["configuration_type"] == "workflow"
    stats = tailer.stats()
    assert stats["workflow_resets_by_configuration"] == {"000099-load-pda": 1}
    assert stats["configuration_changes"] == 2
    assert stats["launches"] == 0


def test_the_rule() -> None:
    assert api_configuration_id("table-to-table", "000099_x", "DEV") == "000099_x_DEV"
    assert api_configuration_id("table-to-table", "000099_x_DEV", "DEV") == "000099_x_DEV"
    assert api_configuration_id("table-to-table", "000099_x_DEV", "PROD") == "000099_x_DEV_PROD"
    for other in ("table-to-storage", "storage-to-storage", "workflow"):
        assert api_configuration_id(other, "000099_x", "DEV") == "000099_x"
    assert job_identity("000099", "DEV", "table-to-table", "000099_x") == {
        "account": "000099",
        "environment": "DEV",
        "configuration_type": "table-to-table",
        "configuration_id": "000099_x_DEV",
    }


@pytest.mark.parametrize("configuration_id", ["000099_x", "000099_x_DEV"])
def test_every_operator_and_sensor_names_the_same_job(configuration_id: str) -> None:
    common: dict[str, Any] = {
        "account": "000099",
        "environment": "DEV",
        "configuration_type": "table-to-table",
        "configuration_id": configuration_id,
    }
    jobs = [
        TailerLaunchJobOperator(task_id="launch", **common).job(),
        TailerJobRunSensor(task_id="run", run_id="r1", **common).job(),
        TailerLastStatusSensor(task_id="last", **common).job(),
        TailerSetConfigurationStatusOperator(task_id="status", activated=True, **common).job(),
        TailerResetWorkflowOperator(task_id="reset", **common).job(),
    ]
    assert jobs == [job_identity("000099", "DEV", "table-to-table", "000099_x_DEV")] * len(jobs)
    assert TailerJobRunSensor(task_id="run", run_id="r1", **common).run_ref()["job_id"] == (
        "gbq-to-gbq|000099_x_DEV"
    )
