"""FlowEngine operators, sensor and trigger through real Airflow task runs (dag.test), in both wait modes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.dag_runner import run_dag

IMPORTS = """
from airflow_provider_pipelines.operators.flowengine import (
    FlowEngineCreatePipelineOperator, FlowEngineResumeRunOperator, FlowEngineSchedulePipelineOperator,
    FlowEngineStartPipelineOperator, FlowEngineStopRunOperator, FlowEngineUpdatePipelineOperator,
    FlowEngineUploadFileOperator,
)
from airflow_provider_pipelines.sensors.flowengine import FlowEnginePipelineRunSensor
"""
RUN_ID = "{{ ti.xcom_pull(task_ids='start', key='run_id') }}"
MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])


def start(pipeline_id: int = 1, deferrable: bool = False, extra: str = "") -> str:
    return (
        f"FlowEngineStartPipelineOperator(task_id='start', pipeline_id={pipeline_id}, "
        f"deferrable={deferrable}, poll_interval=0.1{', ' + extra if extra else ''})"
    )


@MODES
def test_start_with_node_params_by_name_and_wait(flowengine: Any, deferrable: bool) -> None:
    result = run_dag(
        start(1, deferrable, "node_params={'feature_sql': {'day': '{{ ds }}'}}"), imports=IMPORTS
    )
    assert result.states == {"start": "success"}
    (run,) = flowengine.runs()
    assert result.xcom("start") == run["id"] == result.xcom("start", "run_id")
    assert list(run["params"]) == ["node_sql"] and len(run["params"]["node_sql"]["day"]) == 10
    assert flowengine.stats()["engine_info_calls"] <= 2, "one lookup per hook, not per poll"


@MODES
def test_failed_run_fails_with_the_failed_node(
    flowengine: Any, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(start(2, deferrable), imports=IMPORTS)
    assert result.states == {"start": "failed"}
    assert "Simulated failure in bad_step" in "".join(capfd.readouterr())


def test_start_reply_without_id_finds_the_run_in_history(flowengine: Any) -> None:
    flowengine.config.start_reply_has_id = False
    result = run_dag(start(1), imports=IMPORTS)
    assert result.states == {"start": "success"}
    assert result.xcom("start") == flowengine.runs()[0]["id"]


@MODES
def test_other_status_words_are_configurable_and_unknown_is_never_success(
    flowengine: Any, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    flowengine.config.status_words = {"success": "DONE_OK"}
    result = run_dag(
        f"""
        {start(1, deferrable, "success_statuses=['done_ok']")}
        FlowEngineStartPipelineOperator(task_id="strict", pipeline_id=1, deferrable={deferrable},
                                        poll_interval=0.1, timeout=1.5)
        """,
        imports=IMPORTS,
    )
    assert result.states == {"start": "success", "strict": "failed"}
    assert "which this provider does not know" in "".join(capfd.readouterr())


@MODES
def test_timeout_stops_the_run(flowengine: Any, deferrable: bool) -> None:
    flowengine.config.running_seconds = 30
    result = run_dag(start(1, deferrable, "timeout=0.5"), imports=IMPORTS)
    assert result.states == {"start": "failed"}
    assert flowengine.stats()["run_stops"] == 1


def test_stop_then_resume(flowengine: Any) -> None:
    flowengine.config.running_seconds = 1.0
    result = run_dag(
        f"""
        s = {start(1, extra="wait_for_completion=False")}
        stop = FlowEngineStopRunOperator(task_id="stop", run_id="{RUN_ID}")
        resume = FlowEngineResumeRunOperator(task_id="resume", pipeline_id=1, run_id="{RUN_ID}",
                                             deferrable=True, poll_interval=0.1)
        s >> stop >> resume
        """,
        imports=IMPORTS,
    )
    assert result.states == {"start": "success", "stop": "success", "resume": "success"}
    assert flowengine.stats()["resumes"] == 1


@pytest.mark.parametrize(
    ("mode", "deferrable"),
    [("poke", False), ("reschedule", False), ("poke", True)],
    ids=["poke", "reschedule", "deferrable"],
)
@pytest.mark.parametrize("pipeline_id", [1, 2], ids=["success", "failure"])
def test_sensor(flowengine: Any, mode: str, deferrable: bool, pipeline_id: int) -> None:
    result = run_dag(
        f"""
        s = {start(pipeline_id, extra="wait_for_completion=False")}
        w = FlowEnginePipelineRunSensor(task_id="wait", pipeline_id={pipeline_id}, run_id="{RUN_ID}",
                                        mode="{mode}", deferrable={deferrable}, poke_interval=0.1, timeout=60)
        s >> w
        """,
        imports=IMPORTS,
    )
    assert result.states == {"start": "success", "wait": "success" if pipeline_id == 1 else "failed"}


def test_create_update_schedule_and_upload(flowengine: Any, tmp_path: Path) -> None:
    template = {
        "pipelineKey": "made_by_airflow",
        "data": {
            "name": "made_by_airflow",
            "describe": "x",
            "nodes": [{"nodeId": "start_node", "type": "START"}],
        },
    }
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    job = tmp_path / "job.py"
    job.write_text("print(1)\n")
    result = run_dag(
        f"""
        c = FlowEngineCreatePipelineOperator(task_id="create", template={str(path)!r})
        u = FlowEngineUpdatePipelineOperator(task_id="update", pipeline_id="{{{{ ti.xcom_pull('create') }}}}",
                                             changes={{"data": {{"describe": "nightly"}}}})
        on = FlowEngineSchedulePipelineOperator(
            task_id="schedule", pipeline_id="{{{{ ti.xcom_pull('create') }}}}", enabled=True
        )
        up = FlowEngineUploadFileOperator(task_id="upload", path={str(job)!r})
        c >> u >> on
        """,
        imports=IMPORTS,
    )
    assert result.states == {
        "create": "success",
        "update": "success",
        "schedule": "success",
        "upload": "success",
    }
    created = next(p for p in flowengine.pipelines() if p["pipelineKey"] == "made_by_airflow")
    assert created["data"]["describe"] == "nightly"
    assert flowengine.stats()["schedule_changes"] == 1
