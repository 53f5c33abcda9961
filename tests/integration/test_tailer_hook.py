"""TailerHook against the Tailer emulator over real HTTP: every action, auth, errors and the trigger."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError
from airflow_provider_pipelines.hooks.tailer import TailerHook, identity, with_environment_suffix
from airflow_provider_pipelines.triggers.tailer import TailerJobRunTrigger

JOB = identity("000099", "DEV", "table-to-table", "000099_sales_DEV")


def wait_for_status(hook: TailerHook, run_id: str, wanted: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        record = hook.check_run_status(JOB, "gbq-to-gbq|000099_sales_DEV", run_id)
        if record and record["status"] == wanted:
            return record
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {wanted}")


def test_launch_check_and_list_runs(tailer: Any) -> None:
    hook = TailerHook()
    run_id = hook.launch_job(JOB, execution_date="2024-05-01")
    assert hook.check_run_status(JOB, "gbq-to-gbq|000099_sales_DEV", run_id) is None  # not recorded yet
    record = wait_for_status(hook, run_id, "SUCCESS")
    assert record["configuration_id"] == "000099_sales_DEV"

    second = hook.launch_job(JOB)
    wait_for_status(hook, second, "SUCCESS")
    latest = hook.get_last_status(JOB, limit=1)
    assert [r["run_id"] for r in latest] == [second]
    assert [r["run_id"] for r in hook.get_last_status(JOB, execution_date="2024-05-01")] == [run_id]
    assert {r["run_id"] for r in hook.get_by_status("000099", "table-to-table", status="SUCCESS")} >= {run_id}

    hook.set_run_status(JOB, run_id, "CHECKED")
    assert hook.get_last_status(JOB, execution_date="2024-05-01")[0]["status"] == "CHECKED"


def test_workflow_reset_and_configuration_status(tailer: Any) -> None:
    hook = TailerHook()
    workflow = identity("000099", "DEV", "workflow", "000099-load-pda")
    assert hook.reset_workflow_status(workflow)["message"] == "ok"
    hook.set_configuration_status(JOB, activated=False)
    with pytest.raises(PipelineApiError) as refused:
        hook.launch_job(JOB)
    assert refused.value.status == 409
    hook.set_configuration_status(JOB, activated=True)
    assert hook.launch_job(JOB)
    stats = tailer.stats()
    assert stats["workflow_resets"] == 1 and stats["configuration_changes"] == 2


def test_api_errors_name_tailer_the_action_and_the_reason(tailer: Any) -> None:
    hook = TailerHook()
    with pytest.raises(PipelineApiError) as missing_suffix:
        hook.launch_job(identity("000099", "DEV", "table-to-table", "000099_sales"))
    assert missing_suffix.value.status == 404
    assert str(missing_suffix.value).startswith("Tailer launch job failed (HTTP 404)")
    with pytest.raises(PipelineApiError) as not_launchable:
        hook.launch_job(identity("000099", "DEV", "storage-to-storage", "copy-files"))
    assert not_launchable.value.status == 400
    with pytest.raises(PipelineApiError):
        hook.reset_workflow_status(JOB)  # not a workflow


def test_environment_suffix_rule() -> None:
    assert with_environment_suffix("table-to-table", "000099_x", "DEV") == "000099_x_DEV"
    assert with_environment_suffix("table-to-table", "000099_x_DEV", "DEV") == "000099_x_DEV"
    assert with_environment_suffix("storage-to-storage", "copy", "DEV") == "copy"


def test_refresh_token_auth_renews_before_expiry(tailer: Any) -> None:
    tailer.config.token_seconds = 300  # within the 300 s renewal margin: stale at once
    hook = TailerHook()
    for _ in range(3):
        hook.get_last_status(JOB)
    assert tailer.stats()["token_refreshes"] == 3
    assert "emulator-refresh-token" not in repr(hook.client.auth)


def test_pasted_jwt(tailer_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def hook_with(token: str) -> TailerHook:
        conn = {"conn_type": "tailer", "host": tailer_emulator.url, "password": token}
        monkeypatch.setenv("AIRFLOW_CONN_TAILER_DEFAULT", json.dumps(conn))
        return TailerHook()

    assert hook_with(tailer_emulator.mint_jwt(60)).get_last_status(JOB) == []

    expired = tailer_emulator.mint_jwt(-1)
    with pytest.raises(PipelineError, match="expired at") as stale:
        hook_with(expired).get_last_status(JOB)
    assert expired not in str(stale.value)
    assert tailer_emulator.stats()["requests"].get("POST dag_status", 0) == 1, (
        "an expired JWT is not even sent"
    )

    forged = tailer_emulator.mint_jwt(60)[:-4] + "AAAA"
    with pytest.raises(PipelineApiError) as denied:
        hook_with(forged).get_last_status(JOB)
    assert denied.value.status == 401
    assert forged not in str(denied.value)


def test_connection_without_credentials_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TAILER_DEFAULT", json.dumps({"conn_type": "tailer"}))
    with pytest.raises(PipelineError, match="set a JWT in the password"):
        TailerHook().get_last_status(JOB)


def test_default_url_is_the_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "tailer", "password": "x.y.z"}
    monkeypatch.setenv("AIRFLOW_CONN_TAILER_DEFAULT", json.dumps(conn))
    assert TailerHook().client.settings.base_url == "https://tailer-api-nqonovswsq-ew.a.run.app"


def test_trigger_waits_through_the_empty_status_and_reports_success(tailer: Any) -> None:
    tailer.config.pending_seconds = 0.3
    hook = TailerHook()
    run_id = hook.launch_job(JOB)
    ref = TailerHook.run_ref(JOB, "gbq-to-gbq|000099_sales_DEV", run_id)
    trigger = TailerJobRunTrigger(
        conn_id="tailer_default", run_ref=ref, poll_interval=0.05, not_found_until=time.time() + 30
    )
    _, kwargs = trigger.serialize()
    assert "refresh" not in json.dumps(kwargs)

    async def first_event() -> dict[str, Any]:
        async for event in TailerJobRunTrigger(**kwargs).run():
            return event.payload
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "success"
    assert event["run"]["run_id"] == run_id
    assert event["details"]["run_id"] == run_id


def test_ok_ko_replies(tailer: Any) -> None:
    hook = TailerHook()
    assert hook._ok("x", "OK") == {"message": "OK"}
    assert hook._ok("x", '{"code": 200, "data": {}, "message": "ok"}')["message"] == "ok"
    with pytest.raises(PipelineApiError, match="answered KO"):
        hook._ok("x", "KO")
    with pytest.raises(PipelineApiError) as coded:
        hook._ok("x", {"code": 500, "message": "boom"})
    assert coded.value.status == 500
