"""CDAP operators, sensor and trigger through real Airflow task runs (dag.test), in both wait modes."""

from __future__ import annotations

import json
import re

import pytest

from airflow_provider_pipelines.emulators.cdap import CdapEmulatorHandle
from tests.dag_runner import run_dag

IMPORTS = """
from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator, CdapStopPipelineOperator
from airflow_provider_pipelines.sensors.cdap import CdapPipelineRunSensor
"""
RUN_ID = "{{ ti.xcom_pull(task_ids='start', key='run_id') }}"

MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])


def start_task(pipeline: str, deferrable: bool, extra: str = "") -> str:
    return (
        f'CdapStartPipelineOperator(task_id="start", pipeline_name="{pipeline}", '
        f"deferrable={deferrable}, poll_interval=0.1{', ' + extra if extra else ''})"
    )


@MODES
def test_batch_pipeline_succeeds(cdap: CdapEmulatorHandle, deferrable: bool) -> None:
    result = run_dag(start_task("sales", deferrable, 'runtime_args={"day": "{{ ds }}"}'), imports=IMPORTS)

    assert result.states == {"start": "success"}
    runs = cdap.runs("default", "sales")
    assert len(runs) == 1
    assert result.xcom("start") == runs[0]["runid"]
    assert result.xcom("start", "run_id") == runs[0]["runid"]
    assert result.xcom("start", "cdap_pipeline_url") == "http://cdap-ui:11011/pipelines/ns/default/view/sales"
    args = json.loads(runs[0]["properties"]["runtimeArgs"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", args["day"]), "runtime_args are templated"
    assert args["airflow.pipelines.task"] == f"{result.dag_id}/{result.run_id}/start/-1"


@MODES
def test_failed_run_fails_the_task_and_shows_the_log_tail(
    cdap: CdapEmulatorHandle, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(start_task("nightly-fail", deferrable), imports=IMPORTS)

    assert result.states == {"start": "failed"}
    out = "".join(capfd.readouterr())
    assert "ended FAILED" in out
    assert "Pipeline 'nightly-fail' failed" in out  # a line of the CDAP run log, in the task log


@MODES
def test_killed_run_fails_the_task(cdap: CdapEmulatorHandle, deferrable: bool) -> None:
    result = run_dag(start_task("cleanup-killed", deferrable), imports=IMPORTS)
    assert result.states == {"start": "failed"}
    assert cdap.runs("default", "cleanup-killed")[0]["status"] == "KILLED"


def test_per_item_start_error_fails_with_cdaps_message(
    cdap: CdapEmulatorHandle, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(start_task("missing-app", False), imports=IMPORTS)

    assert result.states == {"start": "failed"}
    out = "".join(capfd.readouterr())
    assert "CDAP start pipeline failed (HTTP 404)" in out
    assert "App: missing-app not found" in out
    assert "KeyError" not in out


@MODES
def test_run_not_visible_right_after_start_is_waited_out(cdap: CdapEmulatorHandle, deferrable: bool) -> None:
    cdap.config.not_found_seconds = 0.5
    result = run_dag(start_task("late-record", deferrable), imports=IMPORTS)
    assert result.states == {"start": "success"}


@MODES
def test_server_errors_while_waiting_are_retried(cdap: CdapEmulatorHandle, deferrable: bool) -> None:
    cdap.add_fault("GET", r"/runs/[^/]+$", 503, times=3)
    cdap.add_fault("GET", r"/runs/[^/]+$", "drop", times=1)
    result = run_dag(start_task("flaky-reads", deferrable), imports=IMPORTS)
    assert result.states == {"start": "success"}


def test_lost_start_reply_is_recovered_without_a_second_run(cdap: CdapEmulatorHandle) -> None:
    cdap.add_fault("POST", r"/start$", "drop", times=1)
    result = run_dag(start_task("lost-reply", False), imports=IMPORTS)
    assert result.states == {"start": "success"}
    assert len(cdap.runs("default", "lost-reply")) == 1


@MODES
def test_timeout_stops_the_remote_run(cdap: CdapEmulatorHandle, deferrable: bool) -> None:
    result = run_dag(start_task("long-etl", deferrable, "timeout=0.6"), imports=IMPORTS)

    assert result.states == {"start": "failed"}
    run = cdap.runs("default", "long-etl")[0]
    assert run["status"] in ("STOPPING", "KILLED")
    stats = cdap.stats()
    assert sum(stats["run_stops"].values()) == 1
    assert stats["program_level_stops"] == 0


@MODES
def test_retry_reattaches_to_the_run_it_started(cdap: CdapEmulatorHandle, deferrable: bool) -> None:
    cdap.configure_pipeline("reattach", running_seconds=1.0)
    # One non-retryable error while waiting fails the first try; the run itself goes on.
    cdap.add_fault("GET", r"/apps/reattach/.*/runs/[^/]+$", 403, times=1)
    result = run_dag(
        start_task("reattach", deferrable, "retries=1, retry_delay=timedelta(seconds=0)"), imports=IMPORTS
    )

    assert result.states == {"start": "success"}
    assert result.tries == {"start": 2}
    runs = cdap.runs("default", "reattach")
    assert len(runs) == 1, "the retry started a second run"
    assert result.xcom("start") == runs[0]["runid"]


def test_reattach_can_be_turned_off(cdap: CdapEmulatorHandle) -> None:
    cdap.configure_pipeline("fresh-each-try", running_seconds=1.0)
    cdap.add_fault("GET", r"/apps/fresh-each-try/.*/runs/[^/]+$", 403, times=1)
    result = run_dag(
        start_task(
            "fresh-each-try", False, "retries=1, retry_delay=timedelta(seconds=0), reattach_on_retry=False"
        ),
        imports=IMPORTS,
    )
    assert result.states == {"start": "success"}
    assert result.tries == {"start": 2}
    assert len(cdap.runs("default", "fresh-each-try")) == 2


def test_a_failed_run_is_not_reattached(cdap: CdapEmulatorHandle) -> None:
    result = run_dag(
        start_task("always-fail", False, "retries=1, retry_delay=timedelta(seconds=0)"), imports=IMPORTS
    )
    assert result.states == {"start": "failed"}
    assert len(cdap.runs("default", "always-fail")) == 2


@MODES
def test_streaming_pipeline_succeeds_once_running_and_stops(
    cdap: CdapEmulatorHandle, deferrable: bool
) -> None:
    result = run_dag(
        f"""
        start = CdapStartPipelineOperator(
            task_id="start", pipeline_name="clicks", pipeline_type="streaming",
            deferrable={deferrable}, poll_interval=0.1,
        )
        stop = CdapStopPipelineOperator(
            task_id="stop", pipeline_name="clicks", pipeline_type="streaming", run_id="{RUN_ID}",
        )
        start >> stop
        """,
        imports=IMPORTS,
    )

    assert result.states == {"start": "success", "stop": "success"}
    run = cdap.runs("default", "clicks")[0]
    assert run["status"] in ("STOPPING", "KILLED")
    assert cdap.stats()["program_level_stops"] == 0


@pytest.mark.parametrize(
    ("mode", "deferrable"),
    [("poke", False), ("reschedule", False), ("poke", True)],
    ids=["poke", "reschedule", "deferrable"],
)
@pytest.mark.parametrize("pipeline", ["orders", "orders-fail"])
def test_sensor_waits_for_the_run(
    cdap: CdapEmulatorHandle, mode: str, deferrable: bool, pipeline: str
) -> None:
    cdap.configure_pipeline(pipeline, running_seconds=0.6)
    result = run_dag(
        f"""
        start = CdapStartPipelineOperator(
            task_id="start", pipeline_name="{pipeline}", wait_for_completion=False,
        )
        wait = CdapPipelineRunSensor(
            task_id="wait", pipeline_name="{pipeline}", run_id="{RUN_ID}",
            mode="{mode}", deferrable={deferrable}, poke_interval=0.1, timeout=60,
        )
        start >> wait
        """,
        imports=IMPORTS,
    )

    expected = "failed" if "fail" in pipeline else "success"
    assert result.states == {"start": "success", "wait": expected}
    assert len(cdap.runs("default", pipeline)) == 1


def test_bearer_token_never_reaches_logs_or_xcom(
    cdap_emulator_factory: object, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    token = "s3cr3t-cdap-token-6f1e"
    emulator = cdap_emulator_factory(token=token)  # type: ignore[operator]
    conn = {"conn_type": "cdap", "host": emulator.url, "password": token}
    monkeypatch.setenv("AIRFLOW_CONN_CDAP_DEFAULT", json.dumps(conn))

    result = run_dag(
        """
        CdapStartPipelineOperator(task_id="start", pipeline_name="secure", deferrable=True, poll_interval=0.1)
        CdapStartPipelineOperator(task_id="bad", pipeline_name="secure-fail", poll_interval=0.1)
        """,
        imports=IMPORTS,
    )

    assert result.states == {"start": "success", "bad": "failed"}
    out = "".join(capfd.readouterr())
    assert token not in out
    for key in ("return_value", "run_id", "cdap_pipeline_url"):
        assert token not in json.dumps(result.xcom("start", key))


def test_extra_link_points_at_the_pipeline_page(cdap: CdapEmulatorHandle) -> None:
    from airflow_provider_pipelines.links.cdap import CdapPipelineLink

    result = run_dag(start_task("web-events", False), imports=IMPORTS)
    assert result.states == {"start": "success"}

    expected = "http://cdap-ui:11011/pipelines/ns/default/view/web-events"
    try:
        from airflow.models.taskinstancekey import TaskInstanceKey
    except ImportError:  # pragma: no cover - moved in later versions
        from airflow.sdk.types import TaskInstanceKey  # type: ignore[no-redef]
    from airflow_provider_pipelines.core.compat import AIRFLOW_3

    if AIRFLOW_3:  # Airflow 3 resolves links on the worker when the task ends, and stores them
        assert result.xcom("start", "_link_CdapPipelineLink") == expected
    else:  # Airflow 2 resolves them in the webserver, from the task's XCom
        key = TaskInstanceKey(result.dag_id, "start", result.run_id, 1, -1)
        assert CdapPipelineLink().get_link(None, ti_key=key) == expected


def test_stopping_a_run_that_already_ended_succeeds(cdap: CdapEmulatorHandle) -> None:
    result = run_dag(
        f"""
        start = CdapStartPipelineOperator(task_id="start", pipeline_name="quick", poll_interval=0.1)
        stop = CdapStopPipelineOperator(task_id="stop", pipeline_name="quick", run_id="{RUN_ID}")
        start >> stop
        """,
        imports=IMPORTS,
    )
    assert result.states == {"start": "success", "stop": "success"}
    assert cdap.runs("default", "quick")[0]["status"] == "COMPLETED"


def test_stopping_an_unknown_run_fails(cdap: CdapEmulatorHandle, capfd: pytest.CaptureFixture[str]) -> None:
    result = run_dag(
        'CdapStopPipelineOperator(task_id="stop", pipeline_name="quick", run_id="no-such-run")',
        imports=IMPORTS,
    )
    assert result.states == {"stop": "failed"}
    assert "CDAP stop run failed (HTTP 404)" in "".join(capfd.readouterr())


def test_the_kept_run_is_dropped_once_the_task_concludes(cdap: CdapEmulatorHandle) -> None:
    from airflow.utils.session import create_session
    from sqlalchemy import text

    cdap.configure_pipeline("kept", running_seconds=0.5)
    cdap.add_fault("GET", r"/apps/kept/.*/runs/[^/]+$", 403, times=1)
    result = run_dag(
        start_task("kept", False, "retries=1, retry_delay=timedelta(seconds=0)"), imports=IMPORTS
    )
    assert result.states == {"start": "success"}
    assert result.tries == {"start": 2}
    with create_session() as session:
        leftovers = session.execute(
            text("SELECT key FROM variable WHERE key LIKE 'airflow_provider_pipelines.run:%'")
        ).fetchall()
    assert leftovers == []


@MODES
def test_mapped_task_instances_each_conclude_on_their_own_run(
    cdap: CdapEmulatorHandle, deferrable: bool
) -> None:
    """Every instance of a mapped task pushes its run id: each resumes with its own, not the others'."""
    body = (
        'CdapStartPipelineOperator.partial(task_id="start", poll_interval=0.1, '
        f"deferrable={deferrable}).expand(pipeline_name=['mapped-a', 'mapped-b', 'mapped-c'])"
    )
    result = run_dag(body, imports=IMPORTS)

    assert result.states == {"start[0]": "success", "start[1]": "success", "start[2]": "success"}
    assert [len(cdap.runs("default", name)) for name in ("mapped-a", "mapped-b", "mapped-c")] == [1, 1, 1]
