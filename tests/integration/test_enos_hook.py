"""EnosHook against the EnOS emulator over real HTTP: signed calls, tokens, envelope codes, paging."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from airflow_provider_pipelines.core.apim_auth import params_data
from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError
from airflow_provider_pipelines.hooks.enos import EnosHook
from airflow_provider_pipelines.triggers.enos import EnosFlowInstanceTrigger
from tests.integration.conftest import enos_connection


def test_signed_calls_with_one_cached_token(enos: Any) -> None:
    hook = EnosHook()
    count, first_page = hook.list_pipelines(1, 10)
    assert count > 10 and len(first_page) == 10
    last = first_page[-1]["pipelineId"]
    assert hook.get_pipeline("pl-demo-1")["status"] == "PUBLISHED"
    hook.get_offset_lag("pl-demo-1")
    stats = enos.stats()
    assert stats["tokens_issued"] == 1
    assert stats["signature_failures"] == 0
    assert last


def test_status_is_found_by_walking_the_pages(enos: Any) -> None:
    hook = EnosHook()
    entries = []
    page = 1
    while True:
        count, pipelines = hook.list_pipelines(page, 10)
        entries += pipelines
        if len(entries) >= count:
            break
        page += 1
    last = entries[-1]["pipelineId"]
    assert hook.get_pipeline(last)["pipelineId"] == last
    with pytest.raises(PipelineApiError) as missing:
        hook.get_pipeline("pl-does-not-exist")
    assert missing.value.status == 404


def test_start_stop_and_error_codes(enos: Any) -> None:
    hook = EnosHook()
    hook.start_pipeline("pl-demo-1")
    deadline = time.time() + 5
    while hook.get_pipeline("pl-demo-1")["status"] != "RUNNING" and time.time() < deadline:
        time.sleep(0.05)
    assert hook.get_pipeline("pl-demo-1")["status"] == "RUNNING"
    hook.stop_pipeline("pl-demo-1")

    with pytest.raises(PipelineApiError) as missing:
        hook.start_pipeline("pl-nope")
    assert "code 61108: the stream processing pipeline does not exist" in str(missing.value)
    with pytest.raises(PipelineApiError) as no_cluster:
        hook.start_pipeline("pl-nocluster-6", execution_mode="cluster")
    assert "61128" in str(no_cluster.value)


def test_token_errors_get_a_fresh_token_once(enos: Any) -> None:
    enos.config.reject_first_token_use = 1
    hook = EnosHook()
    assert hook.get_pipeline("pl-demo-1")
    assert enos.stats()["tokens_issued"] == 2


def test_a_wrong_secret_never_leaks(enos_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = enos_connection(enos_emulator)
    conn["password"] = "wrong-secret-0a1b2c"
    monkeypatch.setenv("AIRFLOW_CONN_ENOS_DEFAULT", json.dumps(conn))
    with pytest.raises(PipelineError) as refused:
        EnosHook().get_pipeline("pl-demo-1")
    assert "wrong-secret-0a1b2c" not in str(refused.value)
    assert "refused the app key" in str(refused.value)


def test_batch_flow_trigger_get_cancel(enos: Any) -> None:
    hook = EnosHook()
    instance = hook.trigger_flow(901, {"day": "2024-05-01"})
    record = hook.get_flow_instance(instance)
    assert record["flowId"] == 901
    hook.cancel_flow_instance(instance)
    assert hook.get_run_status(hook.flow_ref(instance)).raw_state == "CANCEL"


def test_signing_text() -> None:
    assert params_data({"b": "2", "a": "1"}, b'{"x":1}') == 'a1b2{"x":1}'


def test_flow_trigger_reports_failed_tasks(enos: Any) -> None:
    hook = EnosHook()
    instance = hook.trigger_flow(401)
    trigger = EnosFlowInstanceTrigger(
        conn_id="enos_default", run_ref=hook.flow_ref(instance), poll_interval=0.05
    )
    _, kwargs = trigger.serialize()
    assert "secret" not in json.dumps(kwargs)

    async def first_event() -> dict[str, Any]:
        async for event in EnosFlowInstanceTrigger(**kwargs).run():
            return event.payload
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "failed" and event["raw_state"] == "INTERNAL_ERROR"
    assert any("INTERNAL_ERROR" in line for line in hook.explain_failure(hook.flow_ref(instance)))


def test_streaming_tasks_take_state_overrides() -> None:
    # Streaming tasks refused success_states / failure_states before issue #18; they take them now
    # (what they mean: tests/integration/test_enos_state_overrides.py).
    from airflow_provider_pipelines.operators.enos import EnosStartStreamingPipelineOperator
    from airflow_provider_pipelines.sensors.enos import EnosStreamingPipelineSensor

    start = EnosStartStreamingPipelineOperator(task_id="s", pipeline_id="p", success_states=["PAUSED"])
    assert start.success_states == ["PAUSED"]
    sensor = EnosStreamingPipelineSensor(task_id="w", pipeline_id="p", failure_states=["STOPPED"])
    assert sensor.failure_states == ["STOPPED"]
