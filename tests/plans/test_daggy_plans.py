"""Daggy's plans fed replies by hand: the calls they make and what they read from the replies (no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.states import RunState
from airflow_provider_pipelines.hooks.daggy import DaggyHook, tag_with_marker
from tests.plans.driver import Driver, api_error, drive

STATE = {"method": "GET", "path": "/v1/dagrun/7/state", "params": {}, "json": None, "idempotent": True}
DOCUMENT = {"method": "GET", "path": "/v1/dagrun/7", "params": {}, "json": None, "idempotent": True}
REF = {"run_id": 7}


@pytest.fixture
def hook() -> DaggyHook:
    return DaggyHook(daggy_conn_id="x")  # no connection: plans read nothing from it


def document(*task_states: str, changes: list[Any] | None = None) -> dict[str, Any]:
    return {
        "runID": 7,
        "taskStates": {f"task-{n}": state for n, state in enumerate(task_states)},
        "dagStateChanges": changes or [],
    }


# -- start ------------------------------------------------------------------------------------------


def test_start_submits_the_dag_once_never_repeated_blindly(hook: DaggyHook) -> None:
    spec = {"tag": tag_with_marker("nightly", "m-1"), "tasks": {"a": {"job": {"command": ["true"]}}}}
    run_id, calls = drive(hook.submit_plan(spec), {"runID": 7})
    assert run_id == 7
    assert calls == [
        {"method": "POST", "path": "/v1/dagrun", "params": {}, "json": spec, "idempotent": False}
    ]
    assert spec["tag"] == "nightly [airflow:m-1]"


@pytest.mark.parametrize(("reply", "run_id"), [({"runID": 7}, 7), ({"runID": "12"}, 12), ({"runID": 0}, 0)])
def test_the_run_id_is_read_as_an_integer(hook: DaggyHook, reply: Any, run_id: int) -> None:
    assert drive(hook.submit_plan({}), reply)[0] == run_id


@pytest.mark.parametrize(
    "reply",
    [None, [], [7], "7", {}, {"runID": -1}, {"runID": True}, {"runID": 2.5}, {"runID": "seven"}, {"id": 7}],
)
def test_a_malformed_submit_reply_is_an_error_naming_daggy(hook: DaggyHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.submit_plan({})).reply(reply)
    assert (caught.value.platform, caught.value.call) == ("Daggy", "submit DAG")


def test_validation_posts_the_spec_and_names_the_servers_reason(hook: DaggyHook) -> None:
    result, calls = drive(hook.validate_plan({"tasks": {}}), {"valid": True})
    assert result is None
    assert calls == [
        {
            "method": "POST",
            "path": "/v1/dagrun/validate",
            "params": {},
            "json": {"tasks": {}},
            "idempotent": True,
        }
    ]
    with pytest.raises(PipelineApiError, match="the DAG is not valid: cycle at a"):
        Driver(hook.validate_plan({})).reply({"valid": False, "error": "cycle at a"})


# -- status -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("QUEUED", RunState.PENDING),
        ("RUNNING", RunState.RUNNING),
        ("RETRY", RunState.RUNNING),
        ("PAUSED", RunState.RUNNING),
        ("COMPLETED", RunState.SUCCESS),
        ("ERRORED", RunState.FAILED),
        ("KILLED", RunState.FAILED),
        ("DISABLED", RunState.UNKNOWN),  # a state Daggy may add: keep waiting, never success
        ("SUCCESS", RunState.UNKNOWN),
    ],
)
def test_status_reads_the_light_state_then_the_document_once_per_state(
    hook: DaggyHook, raw: str, state: RunState
) -> None:
    status, calls = drive(hook.run_status_plan(REF), {"state": raw}, document("COMPLETED", "RUNNING"))
    assert calls == [STATE, DOCUMENT]
    assert (status.raw_state, status.state) == (raw, state)
    assert status.details == {"task_counts": {"COMPLETED": 1, "RUNNING": 1}}
    assert status.progress == "1 COMPLETED, 1 RUNNING"


def test_a_poll_that_finds_the_state_unchanged_reads_only_the_state(hook: DaggyHook) -> None:
    drive(hook.run_status_plan(REF), {"state": "RUNNING"}, document("RUNNING"))
    status, calls = drive(hook.run_status_plan(REF), {"state": "RUNNING"})
    assert calls == [STATE]
    assert (status.raw_state, status.state, status.progress) == ("RUNNING", RunState.RUNNING, None)
    status, calls = drive(hook.run_status_plan(REF), {"state": "COMPLETED"}, document("COMPLETED"))
    assert calls == [STATE, DOCUMENT]
    assert status.state is RunState.SUCCESS


def test_without_a_state_the_documents_last_state_change_gives_it(hook: DaggyHook) -> None:
    changes = [{"state": "RUNNING"}, {"state": "ERRORED", "time": 1}]
    status, _ = drive(hook.run_status_plan(REF), {"state": ""}, document("ERRORED", changes=changes))
    assert (status.raw_state, status.state) == ("ERRORED", RunState.FAILED)


def test_no_state_anywhere_is_unknown_never_success(hook: DaggyHook) -> None:
    status, _ = drive(hook.run_status_plan(REF), {}, document(changes=["COMPLETED"]))
    assert (status.raw_state, status.state, status.terminal) == ("", RunState.UNKNOWN, False)
    assert status.progress == "no tasks"


def test_an_unusable_document_costs_only_the_counts(hook: DaggyHook) -> None:
    unusable = api_error(200, "reply over max_reply_bytes", platform="Daggy")
    status, calls = drive(hook.run_status_plan(REF), {"state": "RUNNING"}, unusable)
    assert calls == [STATE, DOCUMENT]
    assert (status.raw_state, status.state, dict(status.details), status.progress) == (
        "RUNNING",
        RunState.RUNNING,
        {},
        None,
    )


def test_any_other_error_reading_the_document_is_the_status_reads_error(hook: DaggyHook) -> None:
    gone = api_error(404, platform="Daggy")
    plan = Driver(hook.run_status_plan(REF)).reply({"state": "RUNNING"})
    with pytest.raises(PipelineApiError) as caught:
        plan.fail(gone)
    assert caught.value is gone


@pytest.mark.parametrize("reply", [None, [], ["RUNNING"], "RUNNING"])
def test_a_malformed_state_reply_is_an_error_naming_daggy(hook: DaggyHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.run_status_plan(REF)).reply(reply)
    assert (caught.value.platform, caught.value.call) == ("Daggy", "get run state")


# -- cancel, stop and resume ------------------------------------------------------------------------


def test_cancel_kills_the_run(hook: DaggyHook) -> None:
    result, calls = drive(hook.cancel_plan(REF), None)
    assert result is None
    assert calls == [{**DOCUMENT, "method": "DELETE"}]
    assert Driver(hook.cancel_plan(REF)).call.expect == "none"


@pytest.mark.parametrize("raw", ["COMPLETED", "ERRORED", "KILLED"])
def test_a_refused_kill_of_a_run_that_is_over_counts_as_stopped(hook: DaggyHook, raw: str) -> None:
    result, calls = drive(hook.stop_plan(REF), api_error(400, platform="Daggy"), {"state": raw}, document())
    assert result == raw
    assert [call["method"] for call in calls] == ["DELETE", "GET", "GET"]


@pytest.mark.parametrize("raw", ["RUNNING", "QUEUED", "SOMETHING_NEW"])
def test_a_refused_kill_of_a_running_run_is_the_kills_error(hook: DaggyHook, raw: str) -> None:
    refused = api_error(409, platform="Daggy")
    plan = Driver(hook.stop_plan(REF)).fail(refused).reply({"state": raw})
    with pytest.raises(PipelineApiError) as caught:
        plan.reply(document())
    assert caught.value is refused


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_kill_refused_for_auth_or_a_missing_run_is_not_checked(hook: DaggyHook, status: int) -> None:
    refused = api_error(status, platform="Daggy")
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.stop_plan(REF)).fail(refused)
    assert caught.value is refused


def test_resuming_a_failed_run_requeues_it(hook: DaggyHook) -> None:
    _, calls = drive(hook.resume_failed_plan(REF), None)
    assert calls == [{**STATE, "method": "PATCH", "path": "/v1/dagrun/7/state/QUEUED"}]


# -- lost start replies -----------------------------------------------------------------------------

ATTEMPT = {"marker": "m-1", "sent_at": 1700000000.0}
LIST = {"method": "GET", "path": "/v1/dagruns", "params": {"all": 1}, "json": None, "idempotent": True}


def test_start_facts_note_nothing_and_call_nothing(hook: DaggyHook) -> None:
    assert drive(hook.start_facts_plan({})) == ({}, [])


@pytest.mark.parametrize(
    ("runs", "found"),
    [
        ([{"runID": 3, "tag": "nightly [airflow:m-1]"}], 3),
        ([{"runID": "4", "tag": "[airflow:m-1]"}], 4),
        (  # a start repeated after a look-up that found nothing: the newest run
            [{"runID": 3, "tag": "[airflow:m-1]"}, {"runID": 9, "tag": "[airflow:m-1]"}],
            9,
        ),
        ([{"runID": 3, "tag": "[airflow:m-2]"}, {"runID": 5, "tag": "nightly"}], None),
        ([{"runID": 3, "tag": "[airflow:m-1] copy"}], None),  # the marker ends the tag
        ([{"runID": -1, "tag": "[airflow:m-1]"}, {"runID": None, "tag": "[airflow:m-1]"}], None),
        ([{"runID": 3}, "run 3", None], None),
        ([], None),
    ],
)
def test_the_lost_reply_lookup_finds_the_run_tagged_with_the_attempts_marker(
    hook: DaggyHook, runs: list[Any], found: int | None
) -> None:
    result, calls = drive(hook.find_started_run_plan({}, ATTEMPT), runs)
    assert calls == [LIST]
    assert result == (None if found is None else {"run_id": found})


@pytest.mark.parametrize("reply", [None, {}, {"runs": []}, "[]"])
def test_a_malformed_run_list_is_an_error_naming_daggy_not_no_run(hook: DaggyHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.find_started_run_plan({}, ATTEMPT)).reply(reply)
    assert (caught.value.platform, caught.value.call) == ("Daggy", "list runs")


# -- failure explanation ----------------------------------------------------------------------------


def test_the_failure_is_explained_by_the_failed_tasks_and_their_last_attempts(hook: DaggyHook) -> None:
    doc = {
        "taskStates": {"load": "ERRORED", "extract": "COMPLETED", "clean": "KILLED"},
        "taskAttempts": {
            "load": [
                {"rc": 1, "errorLog": "first try"},
                {"rc": 2, "errorLog": "\n".join(f"e{n}" for n in range(15)), "outputLog": "out\n\n"},
            ],
            "clean": "not a list",
        },
    }
    lines, calls = drive(hook.failure_plan(REF, {}), doc)
    assert calls == [DOCUMENT]
    assert lines == [
        "task clean: KILLED, attempt 0, rc None",
        "task load: ERRORED, attempt 2, rc 2",
        *[f"task load errorLog: e{n}" for n in range(5, 15)],
        "task load outputLog: out",
        "failed tasks: clean (KILLED), load (ERRORED, rc 2)",
    ]


@pytest.mark.parametrize(
    "doc", [{}, {"taskStates": "ERRORED"}, {"taskStates": {"a": "COMPLETED"}, "taskAttempts": []}]
)
def test_a_run_without_failed_tasks_says_so(hook: DaggyHook, doc: dict[str, Any]) -> None:
    lines, _ = drive(hook.failure_plan(REF, {}), doc)
    assert lines == ["failed tasks: none reported"]


def test_a_malformed_document_is_an_error_naming_daggy(hook: DaggyHook) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.failure_plan(REF, {})).reply(["not", "a", "document"])
    assert caught.value.platform == "Daggy"
