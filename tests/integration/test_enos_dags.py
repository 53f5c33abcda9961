"""EnOS operators, sensors and triggers through real Airflow task runs (dag.test), in both wait modes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dag_runner import run_dag

IMPORTS = """
from airflow_provider_pipelines.operators.enos import (
    EnosPauseStreamingPipelineOperator, EnosStartStreamingPipelineOperator,
    EnosStopStreamingPipelineOperator, EnosTriggerFlowOperator,
)
from airflow_provider_pipelines.sensors.enos import EnosFlowInstanceSensor, EnosStreamingPipelineSensor
"""
MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])


@MODES
def test_start_waits_for_running_then_stop_waits_for_stopped(enos: Any, deferrable: bool) -> None:
    result = run_dag(
        f"""
        start = EnosStartStreamingPipelineOperator(task_id="start", pipeline_id="pl-demo-1",
                                                   deferrable={deferrable}, poll_interval=0.1)
        stop = EnosStopStreamingPipelineOperator(task_id="stop", pipeline_id="pl-demo-1",
                                                 deferrable={deferrable}, poll_interval=0.1)
        start >> stop
        """,
        imports=IMPORTS,
    )
    assert result.states == {"start": "success", "stop": "success"}
    assert result.xcom("start") == "pl-demo-1" == result.xcom("start", "run_id")
    assert enos.pipeline("pl-demo-1")["status"] == "STOPPED"


@MODES
def test_a_pipeline_falling_back_to_stopped_fails_the_start(enos: Any, deferrable: bool) -> None:
    result = run_dag(
        f"""
        EnosStartStreamingPipelineOperator(task_id="start", pipeline_id="pl-crash-2", deferrable={deferrable},
                                           poll_interval=0.1, start_grace=0.6)
        """,
        imports=IMPORTS,
    )
    assert result.states == {"start": "failed"}


def test_busy_organization_is_retried_later(enos: Any) -> None:
    enos.config.busy_starts = 1
    result = run_dag(
        'EnosStartStreamingPipelineOperator(task_id="start", pipeline_id="pl-demo-1", poll_interval=0.1)',
        imports=IMPORTS,
    )
    assert result.states == {"start": "success"}
    assert enos.stats()["starts"] >= 1


@MODES
@pytest.mark.parametrize(("flow_id", "expected"), [(101, "success"), (401, "failed"), (701, "failed")])
def test_trigger_flow_waits_for_the_instance(
    enos: Any, deferrable: bool, flow_id: int, expected: str, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(
        f"""
        EnosTriggerFlowOperator(task_id="flow", flow_id={flow_id}, parameters={{"day": "{{{{ ds }}}}"}},
                                deferrable={deferrable}, poll_interval=0.1)
        """,
        imports=IMPORTS,
    )
    assert result.states == {"flow": expected}
    (instance,) = enos.flow_instances()
    assert result.xcom("flow", "run_id") == instance["flowInstId"]
    if expected == "failed":
        assert "task load" in "".join(capfd.readouterr())


@MODES
def test_timeout_cancels_the_flow_instance(enos: Any, deferrable: bool) -> None:
    result = run_dag(
        f'EnosTriggerFlowOperator(task_id="flow", flow_id=901, deferrable={deferrable}, '
        f"poll_interval=0.1, timeout=0.5)",
        imports=IMPORTS,
    )
    assert result.states == {"flow": "failed"}
    assert enos.stats()["flow_cancels"] == 1


@pytest.mark.parametrize(("mode", "deferrable"), [("poke", False), ("reschedule", False), ("poke", True)])
def test_sensors(enos: Any, mode: str, deferrable: bool) -> None:
    result = run_dag(
        f"""
        f = EnosTriggerFlowOperator(task_id="flow", flow_id=101, wait_for_completion=False)
        wf = EnosFlowInstanceSensor(
            task_id="wait_flow", flow_instance_id="{{{{ ti.xcom_pull('flow', key='run_id') }}}}",
            mode="{mode}", deferrable={deferrable}, poke_interval=0.1, timeout=60,
        )
        s = EnosStartStreamingPipelineOperator(
            task_id="start", pipeline_id="pl-demo-1", wait_for_running=False
        )
        ws = EnosStreamingPipelineSensor(
            task_id="wait_running", pipeline_id="pl-demo-1",
            mode="{mode}", deferrable={deferrable}, poke_interval=0.1, timeout=60,
        )
        p = EnosPauseStreamingPipelineOperator(task_id="pause", pipeline_id="pl-demo-1")
        f >> wf
        s >> ws >> p
        """,
        imports=IMPORTS,
    )
    assert set(result.states.values()) == {"success"}
    assert enos.pipeline("pl-demo-1")["status"] == "PAUSED"


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])
def test_starting_a_running_pipeline_attaches_unless_told_to_fail(
    enos: Any, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    start = (
        f'EnosStartStreamingPipelineOperator(task_id="start", pipeline_id="pl-demo-1", '
        f"deferrable={deferrable}, poll_interval=0.1{{extra}})"
    )
    assert run_dag(start.format(extra=""), imports=IMPORTS).states == {"start": "success"}
    capfd.readouterr()
    again = run_dag(start.format(extra=""), imports=IMPORTS)
    assert again.states == {"start": "success"}
    assert "already starting or running: following it" in "".join(capfd.readouterr())
    refused = run_dag(start.format(extra=', if_running="fail"'), imports=IMPORTS)
    assert refused.states == {"start": "failed"}
    assert "61165" in "".join(capfd.readouterr())
    assert enos.pipeline("pl-demo-1")["status"] == "RUNNING"


def test_stopping_a_stopped_pipeline_succeeds_and_says_so(
    enos: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(
        'EnosStopStreamingPipelineOperator(task_id="stop", pipeline_id="pl-demo-1", poll_interval=0.1)',
        imports=IMPORTS,
    )
    assert result.states == {"stop": "success"}
    out = "".join(capfd.readouterr())
    assert "already STOPPED: nothing to stop" in out or "already PUBLISHED: nothing to stop" in out
    assert "Started EnOS" not in out
