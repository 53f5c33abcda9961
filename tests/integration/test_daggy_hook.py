"""DaggyHook against the Daggy emulator over real HTTP: every endpoint, errors, auth headers, the trigger."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.hooks.daggy import DaggyHook, format_counts, tag_with_marker
from airflow_provider_pipelines.triggers.daggy import DaggyRunTrigger

SPEC = {
    "tag": "hooktest",
    "parameters": {"JOBNO": ["1", "2"]},
    "tasks": {
        "simple": {"job": {"command": ["/usr/bin/python3", "script.py", "{{JOBNO}}"]}, "children": ["after"]},
        "after": {"job": {"command": ["echo", "done"]}},
    },
}


def wait_for(hook: DaggyHook, run_id: int, states: tuple[str, ...], timeout: float = 10) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = hook.get_run_state(run_id)
        if state in states:
            return state
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {states}")


@pytest.fixture
def hook(daggy: Any) -> DaggyHook:
    return DaggyHook()


def test_ready_validate_submit_and_read_every_view_of_a_run(hook: DaggyHook) -> None:
    assert hook.ready() == {"msg": "Ya like DAGs?"}
    hook.validate_dag(SPEC)
    run_id = hook.submit_dag(SPEC)
    assert isinstance(run_id, int)

    assert wait_for(hook, run_id, ("COMPLETED",)) == "COMPLETED"
    run = hook.get_run(run_id)
    assert set(run["taskStates"]) == {"simple_0", "simple_1", "after"}
    assert run["tasks"]["simple_1"]["job"]["command"][-1] == "2"
    assert all(
        isinstance(a["startTime"], str) and len(a["startTime"]) == 19 for a in run["taskAttempts"]["after"]
    )
    assert hook.get_task(run_id, "simple_0")["job"]["command"][-1] == "1"
    assert hook.get_task_state(run_id, "after") == "COMPLETED"
    listed = {r["runID"]: r for r in hook.list_runs()}
    assert listed[run_id]["taskCounts"] == {"COMPLETED": 3}

    status = hook.get_run_status(hook.run_ref(run_id))
    assert status.raw_state == "COMPLETED" and status.terminal
    assert status.progress == "3 COMPLETED"


def test_kill_and_requeue_a_run_and_a_task(hook: DaggyHook, daggy: Any) -> None:
    run_id = hook.submit_dag({"tag": "k", "tasks": {"slow": {"job": {"command": ["sleep", "long"]}}}})
    wait_for(hook, run_id, ("RUNNING",))
    hook.kill_task(run_id, "slow")
    assert hook.get_task_state(run_id, "slow") == "KILLED"
    hook.set_task_state(run_id, "slow", "QUEUED")
    assert hook.get_task_state(run_id, "slow") in ("QUEUED", "RUNNING")
    hook.kill_run(run_id)
    assert wait_for(hook, run_id, ("KILLED",)) == "KILLED"
    hook.set_run_state(run_id, "QUEUED")
    assert hook.get_run_state(run_id) in ("QUEUED", "RUNNING")
    stats = daggy.stats()
    assert stats["task_kills"] == 1 and stats["run_kills"] == 1 and stats["requeues"] == 2


def test_failure_explanation_names_failed_tasks_with_their_last_attempt(hook: DaggyHook) -> None:
    spec = {"tag": "f", "tasks": {"bad": {"job": {"command": ["python", "fail.py"]}, "maxRetries": 1}}}
    run_id = hook.submit_dag(spec)
    assert wait_for(hook, run_id, ("ERRORED",)) == "ERRORED"
    lines = hook.explain_failure(hook.run_ref(run_id))
    assert lines[0] == "task bad: ERRORED, attempt 2, rc 1"
    assert any("simulated failure in bad" in line for line in lines)
    assert lines[-1] == "failed tasks: bad (ERRORED, rc 1)"


def test_invalid_dag_and_unknown_run_give_clear_errors(hook: DaggyHook) -> None:
    with pytest.raises(PipelineApiError) as invalid:
        hook.validate_dag({"tag": "x", "tasks": {}})
    assert invalid.value.platform == "Daggy" and invalid.value.call == "validate DAG"
    assert invalid.value.status == 400

    with pytest.raises(PipelineApiError) as unknown:
        hook.get_run(987654)
    assert unknown.value.status == 404
    assert str(unknown.value).startswith("Daggy get run failed (HTTP 404)")


def test_find_run_by_tag_marker(hook: DaggyHook) -> None:
    hook.submit_dag({**SPEC, "tag": tag_with_marker("nightly", "d/r/t/-1")})
    second = hook.submit_dag({**SPEC, "tag": tag_with_marker("nightly", "d/r/t/-1")})
    hook.submit_dag({**SPEC, "tag": tag_with_marker("nightly", "other/r/t/-1")})
    assert hook.find_run({}, "d/r/t/-1") == {"run_id": second}
    assert hook.find_run({}, "nobody") is None


def test_headers_from_extras_reach_the_server_and_stay_secret(
    daggy_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "proxy-token-8c1d2e"
    emulator = daggy_emulator_factory(required_headers={"X-Proxy-Token": secret})
    conn = {"conn_type": "daggy", "host": emulator.url, "extra": {"headers": {"X-Proxy-Token": secret}}}
    monkeypatch.setenv("AIRFLOW_CONN_DAGGY_DEFAULT", json.dumps(conn))
    assert DaggyHook().ready()["msg"]
    assert secret not in repr(DaggyHook().client.auth)

    conn["extra"] = {"headers": json.dumps({"X-Proxy-Token": "wrong-" + secret})}
    monkeypatch.setenv("AIRFLOW_CONN_DAGGY_DEFAULT", json.dumps(conn))
    with pytest.raises(PipelineApiError) as denied:
        DaggyHook().ready()
    assert denied.value.status == 401
    assert secret not in str(denied.value)


def test_bare_host_gets_the_default_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DAGGY_DEFAULT", json.dumps({"conn_type": "daggy", "host": "daggy.internal"})
    )
    assert DaggyHook().client.settings.base_url == "http://daggy.internal:2503"


def test_trigger_reports_progress_and_success(
    daggy: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    run_id = DaggyHook().submit_dag(SPEC)
    trigger = DaggyRunTrigger(conn_id="daggy_default", run_ref={"run_id": run_id}, poll_interval=0.05)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_pipelines.triggers.daggy.DaggyRunTrigger"
    json.dumps(kwargs)

    async def first_event() -> dict[str, Any]:
        async for event in DaggyRunTrigger(**kwargs).run():
            return event.payload
        raise AssertionError("no event")

    with caplog.at_level("INFO"):
        event = asyncio.run(first_event())
    assert event["status"] == "success" and event["run"] == {"run_id": run_id}
    assert event["details"]["task_counts"] == {"COMPLETED": 3}
    # Airflow 2 logs through logging, Airflow 3 through structlog: look at both.
    logged = [r.getMessage() for r in caplog.records] + "".join(capfd.readouterr()).splitlines()
    assert any("-> COMPLETED" in line and "3 COMPLETED" in line for line in logged)


def test_format_counts() -> None:
    assert format_counts({"COMPLETED": 2, "RUNNING": 1}) == "2 COMPLETED, 1 RUNNING"
    assert format_counts({}) == "no tasks"
