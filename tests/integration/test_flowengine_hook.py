"""FlowEngineHook against the FlowEngine emulator over real HTTP: all endpoints, envelope, headers."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.hooks.flowengine import FlowEngineHook
from airflow_provider_pipelines.triggers.flowengine import FlowEnginePipelineRunTrigger
from tests.integration.conftest import flowengine_connection


def wait_for(hook: FlowEngineHook, run_id: Any, wanted: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        record = hook.get_run(run_id)
        if str(record["status"]).lower() == wanted:
            return record
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {wanted}")


def test_engine_is_discovered_once_per_hook(flowengine: Any) -> None:
    hook = FlowEngineHook()
    engine = hook.engine()
    assert engine.path == "/engine/15/cess-data-3" and engine.engine_id == "6"
    hook.list_pipelines()
    hook.get_pipeline(1)
    hook.run_history(1)
    stats = flowengine.stats()
    assert stats["engine_info_calls"] == 1 and stats["engine_param_calls"] == 1


def test_pipeline_endpoints(flowengine: Any, tmp_path: Path) -> None:
    hook = FlowEngineHook()
    names = {p["name"] for p in hook.list_pipelines()}
    assert {"daily_features", "always_fail"} <= names

    detail = hook.get_pipeline(1)
    assert FlowEngineHook.node_ids_by_name(detail)["feature_sql"] == "node_sql"
    detail["data"]["describe"] = "changed"
    assert hook.update_pipeline(detail)["data"]["describe"] == "changed"

    template = {k: v for k, v in hook.get_pipeline(1).items() if k != "id"}
    template["pipelineKey"] = "copy_of_daily"
    template["data"]["name"] = "copy_of_daily"
    created = hook.create_pipeline(template)
    assert created["id"] not in (1, 2)

    hook.set_schedule(1, True)
    assert next(p for p in hook.list_pipelines() if p["id"] == 1)["cronEnabled"] is True
    hook.set_schedule(1, False)
    assert next(p for p in hook.list_pipelines() if p["id"] == 1)["cronEnabled"] is False

    job_file = tmp_path / "job.py"
    job_file.write_text("print('hi')\n")
    uploaded = hook.upload_file(job_file)
    assert uploaded["fileName"] == "job.py" and uploaded["size"] == job_file.stat().st_size


def test_runs_start_stop_resume_and_history(flowengine: Any) -> None:
    hook = FlowEngineHook()
    record = hook.start_pipeline(1, {"node_sql": {"day": "2024-05-01"}})
    assert record is not None and str(record["status"]).lower() in ("init", "running")
    run_id = record["id"]
    hook.stop_run(run_id)
    wait_for(hook, run_id, "stopped")
    hook.resume_run(run_id)
    wait_for(hook, run_id, "success")
    history = hook.run_history(1, page=1, size=5)
    assert history[0]["id"] == run_id
    status = hook.get_run_status(hook.run_ref(1, run_id))
    assert status.raw_state.lower() == "success" and status.terminal


def test_envelope_errors_are_provider_errors_with_the_message(
    flowengine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = FlowEngineHook()
    with pytest.raises(PipelineApiError) as unknown:
        hook.get_pipeline(999)
    assert unknown.value.platform == "FlowEngine" and unknown.value.call == "get pipeline"
    assert "status" in str(unknown.value)

    with pytest.raises(PipelineApiError, match="unknown node"):
        hook.resolve_node_params(1, {"no_such_node": {}})

    conn = flowengine_connection(flowengine, engine_key="wrong-engine")
    monkeypatch.setenv("AIRFLOW_CONN_FLOWENGINE_DEFAULT", json.dumps(conn))
    with pytest.raises(PipelineApiError, match="engineKey"):
        FlowEngineHook().engine()


def test_gateway_headers_are_sent_and_kept_secret(
    flowengine_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cookie = "session=77c0ffee-secret"
    emulator = flowengine_emulator_factory(required_headers={"Cookie": cookie})
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLOWENGINE_DEFAULT",
        json.dumps(flowengine_connection(emulator, headers={"Cookie": cookie})),
    )
    assert FlowEngineHook().engine().engine_id == "6"
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLOWENGINE_DEFAULT",
        json.dumps(flowengine_connection(emulator, headers={"Cookie": "nope"})),
    )
    with pytest.raises(PipelineApiError) as denied:
        FlowEngineHook().engine()
    assert denied.value.status == 401
    assert cookie not in str(denied.value)


def test_node_names_resolve_to_ids(flowengine: Any) -> None:
    hook = FlowEngineHook()
    assert hook.resolve_node_params(1, {"feature_sql": {"a": 1}, "node_train": {"b": 2}}) == {
        "node_sql": {"a": 1},
        "node_train": {"b": 2},
    }


def test_trigger_polls_with_one_engine_lookup(flowengine: Any) -> None:
    hook = FlowEngineHook()
    run_id = hook.start_pipeline(1)["id"]  # type: ignore[index]
    trigger = FlowEnginePipelineRunTrigger(
        conn_id="flowengine_default", run_ref=hook.run_ref(1, run_id), poll_interval=0.05
    )
    _, kwargs = trigger.serialize()

    async def first_event() -> dict[str, Any]:
        async for event in FlowEnginePipelineRunTrigger(**kwargs).run():
            return event.payload
        raise AssertionError("no event")

    before = flowengine.stats()["engine_info_calls"]
    event = asyncio.run(first_event())
    assert event["status"] == "success"
    assert flowengine.stats()["engine_info_calls"] == before + 1
