"""The one success policy (issue #18): each hook says which states end a wait, per run kind; the
operator, the sensor and the trigger ask it and nothing else."""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_pipelines.core.states import RunState, RunStatus
from airflow_provider_pipelines.core.watch import RunWatcher
from airflow_provider_pipelines.hooks.cdap import CdapHook
from airflow_provider_pipelines.hooks.daggy import DaggyHook
from airflow_provider_pipelines.hooks.enos import EnosHook
from airflow_provider_pipelines.hooks.flowengine import FlowEngineHook
from airflow_provider_pipelines.hooks.tailer import TailerHook
from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator
from airflow_provider_pipelines.operators.enos import (
    EnosStartStreamingPipelineOperator,
    EnosStopStreamingPipelineOperator,
)
from airflow_provider_pipelines.sensors.cdap import CdapPipelineRunSensor
from airflow_provider_pipelines.sensors.enos import EnosStreamingPipelineSensor
from airflow_provider_pipelines.triggers.cdap import CdapPipelineRunTrigger
from airflow_provider_pipelines.triggers.enos import EnosStreamingPipelineTrigger

ENOS = EnosHook()
STREAMING = EnosHook.streaming_ref("pl-1")  # waits for RUNNING
STOPPING = EnosHook.streaming_ref("pl-1", "STOPPED")
SETTLING = EnosHook.streaming_ref("pl-1", "RUNNING", time.time() + 3600)
SETTLED = EnosHook.streaming_ref("pl-1", "RUNNING", time.time() - 1)


def cdap_run(pipeline_type: str) -> dict[str, Any]:
    return CdapHook.run_ref("p", "r-1", "default", pipeline_type)


@pytest.mark.parametrize(
    ("hook", "run", "expected"),
    [
        (CdapHook(), cdap_run("batch"), None),
        (CdapHook(), cdap_run("streaming"), ["RUNNING"]),
        (ENOS, EnosHook.flow_ref("f-1"), None),
        (ENOS, STREAMING, ["RUNNING"]),
        (ENOS, STOPPING, ["STOPPED", "PUBLISHED"]),
        (ENOS, EnosHook.streaming_ref("pl-1", "paused"), ["PAUSED"]),
        (DaggyHook(), DaggyHook.run_ref(1), None),
        (FlowEngineHook(), FlowEngineHook.run_ref(1, 2), None),
        (TailerHook(), {"run_id": "r"}, None),
    ],
)
def test_each_hook_names_its_success_states_per_run_kind(hook: Any, run: Any, expected: Any) -> None:
    assert hook.success_states(run) == expected


def streaming(raw: str, run: dict[str, Any]) -> RunStatus:
    return RunStatus(raw, ENOS.streaming_state(raw, run))


@pytest.mark.parametrize(
    ("raw", "run", "success", "failure", "expected"),
    [
        # The target and the default success states agree: the platform's reading, unchanged.
        ("RUNNING", STREAMING, ["RUNNING"], None, RunState.SUCCESS),
        ("PAUSED", STREAMING, ["RUNNING"], None, RunState.RUNNING),
        ("STOPPED", STREAMING, ["RUNNING"], None, RunState.RUNNING),  # a sensor waits on
        ("STOPPED", SETTLING, ["RUNNING"], None, RunState.PENDING),  # a start not shown yet
        ("STOPPED", SETTLED, ["RUNNING"], None, RunState.FAILED),  # a start that did not take
        ("PUBLISHED", STOPPING, ["STOPPED", "PUBLISHED"], None, RunState.SUCCESS),
        ("WHATEVER", STREAMING, ["RUNNING"], None, RunState.UNKNOWN),
        # success_states replace the target, which is then waited through.
        ("PAUSED", STREAMING, ["RUNNING", "paused"], None, RunState.SUCCESS),
        ("RUNNING", STREAMING, ["PAUSED"], None, RunState.RUNNING),
        ("PUBLISHED", STOPPING, ["STOPPED"], None, RunState.RUNNING),
        ("WHATEVER", STREAMING, ["whatever"], None, RunState.SUCCESS),
        # failure_states end the wait, but not while a start settles.
        ("STOPPED", STREAMING, ["RUNNING"], ["stopped"], RunState.FAILED),
        ("PAUSED", SETTLING, ["RUNNING"], ["PAUSED"], RunState.PENDING),
        ("PAUSED", SETTLED, ["RUNNING"], ["PAUSED"], RunState.FAILED),
        ("RUNNING", STREAMING, ["RUNNING"], ["RUNNING"], RunState.SUCCESS),  # success wins, as in StateMap
        # A trigger serialized with no success states reads the platform's state.
        ("RUNNING", STREAMING, None, None, RunState.SUCCESS),
        ("PAUSED", STREAMING, None, ["PAUSED"], RunState.FAILED),
    ],
)
def test_enos_streaming_overrides(
    raw: str, run: dict[str, Any], success: Any, failure: Any, expected: RunState
) -> None:
    assert ENOS.run_state(streaming(raw, run), run, success, failure) is expected


@pytest.mark.parametrize(
    ("raw", "success", "failure", "expected"),
    [
        ("SUCCESS", None, None, RunState.SUCCESS),
        ("SKIP", ["SUCCESS"], None, RunState.FAILED),  # replaced: the map's success not listed
        ("SUSPEND", None, ["SUSPEND"], RunState.FAILED),
        ("RUNNING", None, None, RunState.RUNNING),
    ],
)
def test_enos_flows_read_like_every_platform(
    raw: str, success: Any, failure: Any, expected: RunState
) -> None:
    status = RunStatus(raw, ENOS.state_map.classify(raw))
    assert ENOS.run_state(status, EnosHook.flow_ref("f-1"), success, failure) is expected


def test_the_watcher_asks_the_hook() -> None:
    run = EnosHook.streaming_ref("pl-1", "RUNNING", time.time() + 3600)
    watcher = RunWatcher(
        "EnOS", run, ENOS.state_map, poll_interval=1, success_states=["RUNNING"], failure_states=["PAUSED"]
    )
    assert watcher.classify(streaming("PAUSED", run)) is RunState.FAILED  # the state map's reading
    watcher.policy = ENOS
    assert watcher.classify(streaming("PAUSED", run)) is RunState.PENDING  # EnOS's: a start settling


def test_operator_sensor_and_trigger_ask_the_hook() -> None:
    streaming_run = cdap_run("streaming")
    start = CdapStartPipelineOperator(task_id="s", pipeline_name="p", pipeline_type="streaming")
    sensor = CdapPipelineRunSensor(task_id="w", pipeline_name="p", run_id="r-1", pipeline_type="streaming")
    trigger = CdapPipelineRunTrigger("cdap_default", streaming_run)
    assert start.success_states_for(streaming_run) == ["RUNNING"]
    assert sensor.success_states_for(sensor.run_ref()) == ["RUNNING"]
    assert trigger.serialize()[1]["success_states"] == ["RUNNING"]
    mine = CdapStartPipelineOperator(task_id="m", pipeline_name="p", success_states=["COMPLETED"])
    assert mine.success_states_for(streaming_run) == ["COMPLETED"]  # the task's own win
    enos_run = EnosHook.streaming_ref("pl-1", "STOPPED")
    stop = EnosStopStreamingPipelineOperator(task_id="stop", pipeline_id="pl-1")
    assert stop.success_states_for(enos_run) == ["STOPPED", "PUBLISHED"]
    assert EnosStreamingPipelineTrigger("enos_default", enos_run).success_states == ["STOPPED", "PUBLISHED"]
    paused = EnosStreamingPipelineSensor(task_id="p", pipeline_id="pl-1", target_status="paused")
    assert paused.success_states_for(paused.run_ref()) == ["PAUSED"]
    assert EnosStartStreamingPipelineOperator(task_id="e", pipeline_id="pl-1").success_states is None
