"""CDAP's plans fed replies by hand: the calls they make and what they read from the replies (no HTTP)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.states import RunState
from airflow_provider_pipelines.hooks.cdap import MARKER_ARG, CdapHook
from tests.plans.driver import Driver, api_error, drive, shape

RUN_PATH = "/v3/namespaces/default/apps/daily/workflows/DataPipelineWorkflow/runs/r-1"
RUNS_PATH = "/v3/namespaces/default/apps/daily/workflows/DataPipelineWorkflow/runs"


@pytest.fixture
def hook() -> CdapHook:
    return CdapHook(cdap_conn_id="x")  # no connection: plans read nothing from it


def ref(pipeline_type: str = "batch") -> dict[str, Any]:
    return CdapHook.run_ref("daily", "r-1", "default", pipeline_type)


def record(status: str, marker: str | None = None, run_id: Any = "r-1", **more: Any) -> dict[str, Any]:
    args = {"a": "1"} if marker is None else {"a": "1", MARKER_ARG: marker}
    return {"runid": run_id, "status": status, "properties": {"runtimeArgs": json.dumps(args)}, **more}


# -- start ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pipeline_type", "program_type", "program_id"),
    [("batch", "workflow", "DataPipelineWorkflow"), ("streaming", "spark", "DataStreamsSparkStreaming")],
)
def test_start_posts_one_batch_start_that_is_never_repeated_blindly(
    hook: CdapHook, pipeline_type: str, program_type: str, program_id: str
) -> None:
    args = {"text": "x", "number": 3, "flag": True, "nested": {"a": 1}, MARKER_ARG: "m-1"}
    run_id, calls = drive(
        hook.start_plan("daily", "ns 1", args, pipeline_type),
        [{"appId": "daily", "runId": "r-1", "statusCode": 200}],
    )
    assert run_id == "r-1"
    assert calls == [
        {
            "method": "POST",
            "path": "/v3/namespaces/ns%201/start",
            "params": {},
            "json": [
                {
                    "appId": "daily",
                    "programType": program_type,
                    "programId": program_id,
                    "runtimeargs": {
                        "text": "x",
                        "number": "3",
                        "flag": "true",
                        "nested": '{"a":1}',
                        MARKER_ARG: "m-1",
                    },
                }
            ],
            "idempotent": False,
        }
    ]


def test_a_refused_start_item_is_the_error_of_its_status(hook: CdapHook) -> None:
    plan = Driver(hook.start_plan("daily"))
    with pytest.raises(PipelineApiError) as caught:
        plan.reply([{"appId": "daily", "statusCode": 404, "error": "App 'daily' was not found"}])
    assert (caught.value.platform, caught.value.status) == ("CDAP", 404)
    assert "daily: App 'daily' was not found" in caught.value.message


@pytest.mark.parametrize(
    "reply",
    [
        None,
        {},
        [],
        ["r-1"],
        {"runId": "r-1"},  # an object where CDAP answers a list
        [{"statusCode": 200}],  # no run id
        [{"runId": ["r-1"], "statusCode": 200}],
        [{"runId": True, "statusCode": 200}],
        [{"runId": "  ", "statusCode": 200}],
    ],
)
def test_a_malformed_start_reply_is_an_error_naming_cdap(hook: CdapHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.start_plan("daily")).reply(reply)
    assert caught.value.platform == "CDAP"
    assert caught.value.call == "start pipeline"
    assert "CDAP" in str(caught.value)


# -- status -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("PENDING", RunState.PENDING),
        ("STARTING", RunState.PENDING),
        ("RUNNING", RunState.RUNNING),
        ("SUSPENDED", RunState.RUNNING),
        ("RESUMING", RunState.RUNNING),
        ("STOPPING", RunState.RUNNING),
        ("COMPLETED", RunState.SUCCESS),
        ("completed", RunState.SUCCESS),
        ("FAILED", RunState.FAILED),
        ("KILLED", RunState.FAILED),
        ("REJECTED", RunState.FAILED),
        ("DEPROVISIONED", RunState.UNKNOWN),  # a state CDAP may add: keep waiting, never success
        ("", RunState.UNKNOWN),
        (None, RunState.UNKNOWN),
    ],
)
def test_status_reads_the_run_record_and_maps_its_state(hook: CdapHook, raw: Any, state: RunState) -> None:
    status, calls = drive(hook.run_status_plan(ref()), {"runid": "r-1", "status": raw, "start": 1700000000})
    assert calls == [{"method": "GET", "path": RUN_PATH, "params": {}, "json": None, "idempotent": True}]
    assert status.state is state
    assert status.raw_state == (raw or "")
    assert status.details == {"start": 1700000000}


def test_unknown_states_are_never_success() -> None:
    hook = CdapHook(cdap_conn_id="x")
    for raw in ("SUCCEEDED", "SUCCESS", "DONE", "OK"):
        status, _ = drive(hook.run_status_plan(ref()), {"status": raw})
        assert status.state is RunState.UNKNOWN and not status.terminal


def test_status_of_a_streaming_run_reads_the_spark_program(hook: CdapHook) -> None:
    status, calls = drive(hook.run_status_plan(ref("streaming")), {"status": "RUNNING"})
    assert calls[0]["path"] == "/v3/namespaces/default/apps/daily/spark/DataStreamsSparkStreaming/runs/r-1"
    assert status.state is RunState.RUNNING


@pytest.mark.parametrize("reply", [None, [], ["RUNNING"], "RUNNING", 3])
def test_a_malformed_run_record_is_an_error_naming_cdap(hook: CdapHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.run_status_plan(ref())).reply(reply)
    assert caught.value.platform == "CDAP"


def test_a_status_read_error_is_left_to_the_watcher(hook: CdapHook) -> None:
    missing = api_error(404, platform="CDAP")
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.run_status_plan(ref())).fail(missing)
    assert caught.value is missing


# -- cancel and stop --------------------------------------------------------------------------------


def test_cancel_is_the_run_level_stop(hook: CdapHook) -> None:
    result, calls = drive(hook.cancel_plan(ref()), None)
    assert result is None
    assert calls == [
        {"method": "POST", "path": RUN_PATH + "/stop", "params": {}, "json": None, "idempotent": True}
    ]


def test_an_accepted_stop_returns_none(hook: CdapHook) -> None:
    result, calls = drive(hook.stop_plan(ref()), None)
    assert result is None
    assert [call["path"] for call in calls] == [RUN_PATH + "/stop"]


@pytest.mark.parametrize("raw", ["COMPLETED", "KILLED", "FAILED", "STOPPING"])
def test_a_refused_stop_of_a_run_already_stopped_or_stopping_counts_as_stopped(
    hook: CdapHook, raw: str
) -> None:
    result, calls = drive(hook.stop_plan(ref()), api_error(400, platform="CDAP"), {"status": raw})
    assert result == raw
    assert [call["path"] for call in calls] == [RUN_PATH + "/stop", RUN_PATH]


@pytest.mark.parametrize("raw", ["RUNNING", "PENDING", "SOMETHING_NEW"])
def test_a_refused_stop_of_a_running_run_is_the_stops_error(hook: CdapHook, raw: str) -> None:
    refused = api_error(400, "cannot stop", platform="CDAP")
    plan = Driver(hook.stop_plan(ref())).fail(refused)
    with pytest.raises(PipelineApiError) as caught:
        plan.reply({"status": raw})
    assert caught.value is refused


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_stop_refused_for_auth_or_a_missing_run_is_not_checked_against_the_state(
    hook: CdapHook, status: int
) -> None:
    refused = api_error(status, platform="CDAP")
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.stop_plan(ref())).fail(refused)
    assert caught.value is refused


def test_a_refused_stop_whose_state_cannot_be_read_is_the_stops_error(hook: CdapHook) -> None:
    refused = api_error(409, "conflict", platform="CDAP")
    plan = Driver(hook.stop_plan(ref())).fail(refused)
    with pytest.raises(PipelineApiError) as caught:
        plan.fail(api_error(500, platform="CDAP"))
    assert caught.value is refused


# -- lost start replies -----------------------------------------------------------------------------


def test_start_facts_note_nothing_and_call_nothing(hook: CdapHook) -> None:
    facts, calls = drive(hook.start_facts_plan({"pipeline_name": "daily"}))
    assert (facts, calls) == ({}, [])


SPEC = {"pipeline_name": "daily", "namespace": "default", "pipeline_type": "batch"}
ATTEMPT = {"marker": "m-1", "sent_at": 1700000000.0}


@pytest.mark.parametrize(
    ("runs", "found"),
    [
        ([record("RUNNING", "m-1")], "r-1"),
        ([record("RUNNING", "other"), record("FAILED", "m-1", run_id="r-0")], "r-0"),
        ([record("COMPLETED", "m-1", run_id=12)], "12"),  # an integer id, as a string
        (  # runtime args as an object rather than a JSON string
            [{"runid": "r-2", "status": "RUNNING", "properties": {"runtimeArgs": {MARKER_ARG: "m-1"}}}],
            "r-2",
        ),
        ([], None),
        ([record("RUNNING", "other"), record("RUNNING")], None),
        ([record("RUNNING", "m-1", run_id=None)], None),  # no usable id: not a run to follow
        ([record("RUNNING", "m-1", run_id=["r-1"])], None),
        ([{"runid": "r-3", "properties": {"runtimeArgs": "{not json"}}], None),
        ([{"runid": "r-3", "properties": "runtimeArgs"}], None),
        (["r-1", 3, None], None),  # entries that are not records are skipped
    ],
)
def test_the_lost_reply_lookup_finds_the_run_carrying_the_attempts_marker(
    hook: CdapHook, runs: list[Any], found: str | None
) -> None:
    result, calls = drive(hook.find_started_run_plan(SPEC, ATTEMPT), runs)
    assert calls == [
        {"method": "GET", "path": RUNS_PATH, "params": {"limit": 25}, "json": None, "idempotent": True}
    ]
    assert result == (None if found is None else CdapHook.run_ref("daily", found, "default", "batch"))


def test_the_lookup_of_a_streaming_pipeline_reads_its_spark_runs(hook: CdapHook) -> None:
    spec = {"pipeline_name": "live", "namespace": "ns", "pipeline_type": "streaming"}
    result, calls = drive(hook.find_started_run_plan(spec, ATTEMPT), [record("RUNNING", "m-1")])
    assert calls[0]["path"] == "/v3/namespaces/ns/apps/live/spark/DataStreamsSparkStreaming/runs"
    assert result == CdapHook.run_ref("live", "r-1", "ns", "streaming")


@pytest.mark.parametrize("reply", [{}, {"runs": []}, "[]", None])
def test_a_malformed_run_list_is_an_error_naming_cdap_not_no_run(hook: CdapHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.find_started_run_plan(SPEC, ATTEMPT)).reply(reply)
    assert caught.value.platform == "CDAP"


def test_a_lookup_error_is_left_to_start_once(hook: CdapHook) -> None:
    unreachable = api_error(None, platform="CDAP")
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.find_started_run_plan(SPEC, ATTEMPT)).fail(unreachable)
    assert caught.value is unreachable


# -- failure explanation ----------------------------------------------------------------------------


def test_the_failure_is_explained_by_the_last_20_lines_of_the_runs_log(hook: CdapHook) -> None:
    log = "\n".join(f"line {n}" for n in range(1, 31)) + "\n\n   \nERROR boom\n"
    lines, calls = drive(hook.failure_plan(ref(), {}), log)
    assert calls == [
        {
            "method": "GET",
            "path": RUN_PATH + "/logs",
            "params": {"format": "text"},
            "json": None,
            "idempotent": True,
        }
    ]
    assert lines == [f"line {n}" for n in range(12, 31)] + ["ERROR boom"]
    assert Driver(hook.failure_plan(ref(), {})).call.expect == "text"


@pytest.mark.parametrize("log", ["", None])
def test_an_empty_log_explains_nothing(hook: CdapHook, log: Any) -> None:
    lines, _ = drive(hook.failure_plan(ref(), {}), log)
    assert lines == []


def test_plan_calls_are_shaped_for_the_shared_drivers(hook: CdapHook) -> None:
    """The stop's reply is not read (``expect="none"``), the start's is JSON."""
    assert Driver(hook.cancel_plan(ref())).call.expect == "none"
    assert shape(Driver(hook.start_plan("daily")).call)["idempotent"] is False
