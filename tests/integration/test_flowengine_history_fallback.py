"""FlowEngine without ``GET …/pipeline/{historyId}/get``: runs are read from the pipeline's history."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.hooks.flowengine import HISTORY_PAGE_SIZE, FlowEngineHook
from airflow_provider_pipelines.triggers.flowengine import FlowEnginePipelineRunTrigger
from tests.dag_runner import run_dag

IMPORTS = """
from airflow_provider_pipelines.operators.flowengine import FlowEngineStartPipelineOperator
from airflow_provider_pipelines.sensors.flowengine import FlowEnginePipelineRunSensor
"""
RUN_ID = "{{ ti.xcom_pull(task_ids='start', key='run_id') }}"
MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])


def requests(emulator: Any, route: str) -> int:
    return int(emulator.stats()["requests"].get(f"GET {route}", 0))


@pytest.fixture
def no_get(flowengine: Any) -> Any:
    """The FlowEngine emulator answering HTTP 404 to the run's ``get``, as an engine without the call."""
    flowengine.config.serves_run_get = False
    return flowengine


def start(pipeline_id: int, deferrable: bool, extra: str = "") -> str:
    return (
        f"FlowEngineStartPipelineOperator(task_id='start', pipeline_id={pipeline_id}, "
        f"deferrable={deferrable}, poll_interval=0.1{', ' + extra if extra else ''})"
    )


def test_the_emulator_option_answers_404_for_get(no_get: Any) -> None:
    hook = FlowEngineHook()
    record = hook.start_pipeline(1)
    assert record is not None
    with pytest.raises(PipelineApiError) as missing:
        hook.get_run(record["id"])
    assert missing.value.status == 404 and missing.value.call == "get run"
    assert hook.run_history(1)[0]["id"] == record["id"], "the history still shows the run"


@MODES
def test_a_run_succeeds_without_get(no_get: Any, deferrable: bool) -> None:
    no_get.config.running_seconds = 1.0
    result = run_dag(start(1, deferrable), imports=IMPORTS)
    assert result.states == {"start": "success"}
    (run,) = no_get.runs()
    assert result.xcom("start") == run["id"] and run["status"] == "success"
    gets, histories = requests(no_get, "get_run"), requests(no_get, "history_list")
    # One 404 per hook (the worker's, the trigger's), not one per poll.
    assert 1 <= gets <= 3, gets
    assert histories >= 8 > gets, histories


@MODES
def test_a_run_fails_without_get_naming_the_failed_node(
    no_get: Any, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(start(2, deferrable), imports=IMPORTS)
    assert result.states == {"start": "failed"}
    out = "".join(capfd.readouterr())
    assert "ended failed" in out
    assert "node node_bad: failed: Simulated failure in bad_step" in out
    assert requests(no_get, "get_run") <= 4


@pytest.mark.parametrize("pipeline_id", [1, 2], ids=["success", "failure"])
def test_sensor_without_get(no_get: Any, pipeline_id: int) -> None:
    result = run_dag(
        f"""
        s = {start(pipeline_id, False, "wait_for_completion=False")}
        w = FlowEnginePipelineRunSensor(task_id="wait", pipeline_id={pipeline_id}, run_id="{RUN_ID}",
                                        mode="reschedule", poke_interval=0.1, timeout=60)
        s >> w
        """,
        imports=IMPORTS,
    )
    assert result.states == {"start": "success", "wait": "success" if pipeline_id == 1 else "failed"}


def test_the_hook_remembers_that_get_is_missing(no_get: Any) -> None:
    hook = FlowEngineHook()
    record = hook.start_pipeline(1)
    assert record is not None
    ref = hook.run_ref(1, record["id"])
    first = hook.get_run_status(ref)
    assert first.raw_state in ("init", "running")
    assert (requests(no_get, "get_run"), requests(no_get, "history_list")) == (1, 1)
    for _ in range(3):
        hook.get_run_status(ref)
    assert (requests(no_get, "get_run"), requests(no_get, "history_list")) == (1, 4)
    # Another hook learns it once for itself.
    FlowEngineHook().get_run_status(ref)
    assert requests(no_get, "get_run") == 2


def test_a_run_the_history_does_not_show_is_a_404_and_proves_nothing(no_get: Any) -> None:
    hook = FlowEngineHook()
    with pytest.raises(PipelineApiError) as unknown:
        hook.get_run_status(hook.run_ref(1, 999))
    assert unknown.value.not_found and unknown.value.call == "get run"
    with pytest.raises(PipelineApiError):
        hook.get_run_status(hook.run_ref(1, 999))
    assert requests(no_get, "get_run") == 2, "not remembered: get is tried again"

    record = hook.start_pipeline(1)
    assert record is not None
    hook.get_run_status(hook.run_ref(1, record["id"]))  # learns it here
    with pytest.raises(PipelineApiError) as still_unknown:
        hook.get_run_status(hook.run_ref(1, 999))
    assert still_unknown.value.not_found and "not in the history of pipeline 1" in str(still_unknown.value)
    assert requests(no_get, "get_run") == 3


def test_the_history_is_paged_to_find_an_older_run(no_get: Any) -> None:
    no_get.config.running_seconds = 60.0
    hook = FlowEngineHook()
    oldest = hook.start_pipeline(1)
    assert oldest is not None
    for _ in range(HISTORY_PAGE_SIZE):
        hook.start_pipeline(1)
    before = requests(no_get, "history_list")
    status = hook.get_run_status(hook.run_ref(1, oldest["id"]))
    assert status.raw_state in ("init", "running")
    assert requests(no_get, "history_list") - before == 2, "the oldest run is on page 2"


def test_with_get_served_the_history_is_not_read(flowengine: Any) -> None:
    hook = FlowEngineHook()
    record = hook.start_pipeline(2)
    assert record is not None
    ref = hook.run_ref(2, record["id"])
    hook.get_run_status(ref)
    assert requests(flowengine, "history_list") == 0 and requests(flowengine, "get_run") == 1


def test_the_trigger_reads_the_history_without_get(no_get: Any) -> None:
    record = FlowEngineHook().start_pipeline(2)
    assert record is not None
    trigger = FlowEnginePipelineRunTrigger(
        conn_id="flowengine_default", run_ref=FlowEngineHook.run_ref(2, record["id"]), poll_interval=0.05
    )

    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "failed" and event["raw_state"] == "failed"
    assert event["details"]["nodes"] == {"failed": 1, "success": 1}
    assert requests(no_get, "get_run") == 1, "the trigger tried get once"
    assert requests(no_get, "history_list") >= 3
