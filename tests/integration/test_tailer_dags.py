"""Tailer operators, sensors and trigger through real Airflow task runs (dag.test), in both wait modes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.dag_runner import run_dag
from tests.integration.conftest import tailer_connection

IMPORTS = """
from airflow_provider_pipelines.operators.tailer import (
    TailerLaunchJobOperator, TailerResetWorkflowOperator, TailerSetConfigurationStatusOperator,
)
from airflow_provider_pipelines.sensors.tailer import TailerJobRunSensor, TailerLastStatusSensor
"""
JOB = 'account="000099", environment="DEV", configuration_type="table-to-table"'
MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])


def launch(configuration_id: str, deferrable: bool = False, extra: str = "") -> str:
    return (
        f'TailerLaunchJobOperator(task_id="launch", {JOB}, configuration_id="{configuration_id}", '
        f"deferrable={deferrable}, poll_interval=0.1{', ' + extra if extra else ''})"
    )


@MODES
def test_launch_adds_the_environment_suffix_and_waits_for_success(
    tailer: Any, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(launch("000099_sales", deferrable, 'execution_date="{{ ds }}"'), imports=IMPORTS)

    assert result.states == {"launch": "success"}
    (run,) = tailer.runs()
    assert run["configuration_id"] == "000099_sales_DEV"
    assert result.xcom("launch") == run["run_id"] == result.xcom("launch", "run_id")
    assert result.xcom("launch", "job_id") == "gbq-to-gbq|000099_sales_DEV"
    assert "using 000099_sales_DEV" in "".join(capfd.readouterr())


@MODES
@pytest.mark.parametrize("configuration", ["000099_load_fail_DEV", "000099_files_nomatch_DEV"])
def test_unsuccessful_endings_fail_the_task(tailer: Any, deferrable: bool, configuration: str) -> None:
    result = run_dag(launch(configuration, deferrable), imports=IMPORTS)
    assert result.states == {"launch": "failed"}


def test_success_states_can_accept_no_match(tailer: Any) -> None:
    result = run_dag(
        launch("000099_files_nomatch_DEV", extra='success_states=["SUCCESS", "NO_MATCH"]'), imports=IMPORTS
    )
    assert result.states == {"launch": "success"}


@MODES
def test_empty_status_right_after_launch_is_waited_out(tailer: Any, deferrable: bool) -> None:
    tailer.config.pending_seconds = 0.6
    result = run_dag(launch("000099_late_DEV", deferrable), imports=IMPORTS)
    assert result.states == {"launch": "success"}


@MODES
def test_refresh_token_keeps_a_long_wait_working(tailer: Any, deferrable: bool) -> None:
    tailer.config.token_seconds = 300  # renewed on every call (tokens are renewed 300 s before expiry)
    tailer.config.running_seconds = 0.6
    result = run_dag(launch("000099_slow_DEV", deferrable), imports=IMPORTS)
    assert result.states == {"launch": "success"}
    stats = tailer.stats()
    # Every API call renewed the token, however many polls the machine's load allowed.
    assert stats["token_refreshes"] >= 2
    calls = stats["requests"]["POST dag_launch"] + stats["requests"]["POST dag_status"]
    assert stats["token_refreshes"] == calls, stats


def test_pasted_jwt_works_and_an_expired_one_fails_clearly(
    tailer_emulator: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    fresh, stale = tailer_emulator.mint_jwt(3600), tailer_emulator.mint_jwt(-60)
    for conn_id, token in (("fresh", fresh), ("stale", stale)):
        conn = {"conn_type": "tailer", "host": tailer_emulator.url, "password": token}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    result = run_dag(
        f"""
        TailerLaunchJobOperator(task_id="fresh", {JOB}, configuration_id="000099_a_DEV", poll_interval=0.1,
                                tailer_conn_id="fresh")
        TailerLaunchJobOperator(task_id="stale", {JOB}, configuration_id="000099_b_DEV", poll_interval=0.1,
                                tailer_conn_id="stale")
        """,
        imports=IMPORTS,
    )
    assert result.states == {"fresh": "success", "stale": "failed"}
    out = "".join(capfd.readouterr())
    assert "The JWT in Tailer connection 'stale' expired" in out
    assert stale not in out and fresh not in out
    assert len(tailer_emulator.runs()) == 1


@MODES
def test_timeout_fails_the_task_and_says_the_run_goes_on(
    tailer: Any, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(launch("000099_long_DEV", deferrable, "timeout=0.5"), imports=IMPORTS)
    assert result.states == {"launch": "failed"}
    assert "cannot stop runs" in "".join(capfd.readouterr())
    assert tailer.runs()[0]["status"] == "RUNNING"


@MODES
def test_retry_reattaches_to_the_launched_run(tailer: Any, deferrable: bool) -> None:
    tailer.config.running_seconds = 0.8
    tailer.add_fault("POST", r"^/v1/dag/status$", 403, times=1)
    result = run_dag(
        launch("000099_retry_DEV", deferrable, "retries=1, retry_delay=timedelta(seconds=0)"), imports=IMPORTS
    )
    assert result.states == {"launch": "success"}
    assert result.tries == {"launch": 2}
    assert tailer.stats()["launches"] == 1


@pytest.mark.parametrize(
    ("mode", "deferrable"),
    [("poke", False), ("reschedule", False), ("poke", True)],
    ids=["poke", "reschedule", "deferrable"],
)
@pytest.mark.parametrize("configuration", ["000099_ok_DEV", "000099_x_fail_DEV"], ids=["success", "failed"])
def test_job_run_sensor(tailer: Any, mode: str, deferrable: bool, configuration: str) -> None:
    result = run_dag(
        f"""
        l = {launch(configuration, extra="wait_for_completion=False")}
        s = TailerJobRunSensor(
            task_id="wait", {JOB}, configuration_id="{configuration}",
            job_id="{{{{ ti.xcom_pull(task_ids='launch', key='job_id') }}}}",
            run_id="{{{{ ti.xcom_pull(task_ids='launch', key='run_id') }}}}",
            mode="{mode}", deferrable={deferrable}, poke_interval=0.1, timeout=60,
        )
        l >> s
        """,
        imports=IMPORTS,
    )
    expected = "failed" if "fail" in configuration else "success"
    assert result.states == {"launch": "success", "wait": expected}


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])
def test_last_status_sensor_follows_another_teams_job(tailer: Any, deferrable: bool) -> None:
    result = run_dag(
        f"""
        l = {launch("000099_upstream_DEV", extra="wait_for_completion=False")}
        s = TailerLastStatusSensor(
            task_id="wait", {JOB}, configuration_id="000099_upstream_DEV",
            deferrable={deferrable}, poke_interval=0.1, timeout=60,
        )
        nothing = TailerLastStatusSensor(
            task_id="nothing_yet", {JOB}, configuration_id="000099_never_launched_DEV",
            deferrable={deferrable}, poke_interval=0.1, timeout=0.5,
        )
        l >> s
        """,
        imports=IMPORTS,
    )
    assert result.states == {"launch": "success", "wait": "success", "nothing_yet": "failed"}


def test_last_status_sensor_fails_when_the_latest_run_failed(tailer: Any) -> None:
    result = run_dag(
        f"""
        l = {launch("000099_up_fail_DEV", extra="wait_for_completion=False")}
        s = TailerLastStatusSensor(task_id="wait", {JOB}, configuration_id="000099_up_fail_DEV",
                                   poke_interval=0.1, timeout=60)
        l >> s
        """,
        imports=IMPORTS,
    )
    assert result.states == {"launch": "success", "wait": "failed"}


def test_reset_workflow_and_configuration_status(tailer: Any) -> None:
    result = run_dag(
        f"""
        r = TailerResetWorkflowOperator(task_id="reset", account="000099", environment="DEV",
                                        configuration_id="000099-load-pda")
        off = TailerSetConfigurationStatusOperator(
            task_id="disable", {JOB}, configuration_id="000099_off_DEV", activated=False
        )
        l = {launch("000099_off_DEV")}
        r >> off >> l
        """,
        imports=IMPORTS,
    )
    assert result.states == {"reset": "success", "disable": "success", "launch": "failed"}
    stats = tailer.stats()
    assert stats["workflow_resets"] == 1
    assert stats["configuration_changes"] == 1
    assert stats["launches"] == 0


def test_bad_refresh_token_fails_without_leaking_it(
    tailer_emulator: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    conn = tailer_connection(tailer_emulator, refresh_token="not-a-known-refresh-token-77")
    monkeypatch.setenv("AIRFLOW_CONN_TAILER_DEFAULT", json.dumps(conn))
    result = run_dag(launch("000099_x_DEV"), imports=IMPORTS)
    assert result.states == {"launch": "failed"}
    out = "".join(capfd.readouterr())
    assert "Firebase refused the refresh token (HTTP 400): INVALID_REFRESH_TOKEN" in out
    assert "not-a-known-refresh-token-77" not in out


def test_a_retry_after_a_timeout_waits_on_the_run_still_going(tailer: Any) -> None:
    """Tailer cannot stop a run: the retry of a timed-out task must not launch a second one."""
    tailer.config.running_seconds = 1.5
    result = run_dag(
        launch("000099_unstoppable_DEV", extra="timeout=0.4, retries=1, retry_delay=timedelta(seconds=0)"),
        imports=IMPORTS,
    )
    assert result.tries == {"launch": 2}
    assert tailer.stats()["launches"] == 1


def test_token_endpoint_faults_are_retried(tailer: Any) -> None:
    tailer.add_fault("POST", r"/firebase/v1/token$", 503, times=2)
    result = run_dag(launch("000099_tokens_DEV"), imports=IMPORTS)
    assert result.states == {"launch": "success"}
    assert tailer.stats()["requests"]["POST firebase_token"] >= 3, "two faults, then a token"
