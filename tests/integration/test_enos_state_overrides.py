"""EnOS streaming tasks with success_states / failure_states (issue #18), through real task runs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dag_runner import run_dag

IMPORTS = """
from airflow_provider_pipelines.operators.enos import EnosStartStreamingPipelineOperator
from airflow_provider_pipelines.sensors.enos import EnosStreamingPipelineSensor
"""
MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])


@MODES
def test_a_failure_state_ends_the_sensors_wait(enos: Any, deferrable: bool) -> None:
    # Waiting for RUNNING, a PAUSED pipeline keeps a sensor waiting until its timeout; not when told.
    result = run_dag(
        f"""
        EnosStreamingPipelineSensor(task_id="wait", pipeline_id="pl-paused-4", failure_states=["paused"],
                                    deferrable={deferrable}, poke_interval=0.1, timeout=30)
        """,
        imports=IMPORTS,
    )
    assert result.states == {"wait": "failed"}


@MODES
def test_success_states_replace_the_target(enos: Any, deferrable: bool) -> None:
    result = run_dag(
        f"""
        EnosStreamingPipelineSensor(task_id="either", pipeline_id="pl-paused-4",
                                    success_states=["RUNNING", "PAUSED"], deferrable={deferrable},
                                    poke_interval=0.1, timeout=30)
        EnosStreamingPipelineSensor(task_id="not_the_target", pipeline_id="pl-running-3",
                                    success_states=["PAUSED"], deferrable={deferrable},
                                    poke_interval=0.1, timeout=1)
        """,
        imports=IMPORTS,
    )
    # RUNNING, the target no longer named, is waited through: the second sensor times out.
    assert result.states == {"either": "success", "not_the_target": "failed"}


@MODES
def test_failure_states_wait_for_the_start_to_show(enos: Any, deferrable: bool) -> None:
    # The pipeline shows PUBLISHED until the start takes effect: within start_grace a listed failure
    # status means "not started yet", as PUBLISHED and STOPPED do.
    result = run_dag(
        f"""
        EnosStartStreamingPipelineOperator(task_id="start", pipeline_id="pl-demo-1",
                                           failure_states=["PUBLISHED", "PAUSED"], deferrable={deferrable},
                                           poll_interval=0.1)
        EnosStartStreamingPipelineOperator(task_id="crash", pipeline_id="pl-crash-2",
                                           failure_states=["PAUSED"], deferrable={deferrable},
                                           poll_interval=0.1, start_grace=0.6)
        """,
        imports=IMPORTS,
    )
    assert result.states == {"start": "success", "crash": "failed"}
    assert enos.pipeline("pl-demo-1")["status"] == "RUNNING"
