"""Tailer's plans fed replies by hand: the calls they make and what they read from the replies (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.start import CannotTell
from airflow_provider_pipelines.core.states import RunState
from airflow_provider_pipelines.hooks.tailer import NO_RUN_YET, TailerHook, job_identity
from tests.plans.driver import Driver, api_error, drive

JOB = job_identity("acme", "DEV", "table-to-table", "000099_sales")
JOB_ID = "gbq-to-gbq|000099_sales_DEV"
SENT = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
REF = TailerHook.run_ref(JOB, JOB_ID, "20240102-030406-abc")


@pytest.fixture
def hook() -> TailerHook:
    return TailerHook(tailer_conn_id="x")  # no connection: plans read nothing from it


def run_id(at: datetime, suffix: str = "u") -> str:
    return f"{at:%Y%m%d-%H%M%S}-{suffix}"


def status_call(action: str, **fields: Any) -> dict[str, Any]:
    body = {"action": action, **JOB, **fields}
    return {"method": "POST", "path": "/v1/dag/status", "params": {}, "json": body, "idempotent": True}


# -- start ------------------------------------------------------------------------------------------


def test_the_job_identity_carries_the_environment_for_table_to_table() -> None:
    assert JOB == {
        "account": "acme",
        "environment": "DEV",
        "configuration_type": "table-to-table",
        "configuration_id": "000099_sales_DEV",
    }


def test_launch_posts_the_job_once_never_repeated_blindly(hook: TailerHook) -> None:
    launched, calls = drive(
        hook.launch_job_plan(JOB, execution_date="2024-01-02", job_id=JOB_ID), {"run_id": REF["run_id"]}
    )
    assert launched == REF["run_id"]
    assert calls == [
        {
            "method": "POST",
            "path": "/v1/dag/launch",
            "params": {},
            "json": {"action": "launch_job", **JOB, "execution_date": "2024-01-02", "job_id": JOB_ID},
            "idempotent": False,
        }
    ]


def test_launch_leaves_out_the_fields_not_given(hook: TailerHook) -> None:
    _, calls = drive(hook.launch_job_plan(JOB), {"run_id": 12})
    assert calls[0]["json"] == {"action": "launch_job", **JOB}
    assert drive(hook.launch_job_plan(JOB), {"run_id": 12})[0] == "12"


@pytest.mark.parametrize(
    "reply", [None, [], "OK", {}, {"run_id": ""}, {"run_id": None}, {"run_id": ["r"]}, {"run_id": False}]
)
def test_a_malformed_launch_reply_is_an_error_naming_tailer(hook: TailerHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.launch_job_plan(JOB)).reply(reply)
    assert (caught.value.platform, caught.value.call) == ("Tailer", "launch job")


# -- status -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("RUNNING", RunState.RUNNING),
        ("SUCCESS", RunState.SUCCESS),
        ("success", RunState.SUCCESS),
        ("FAILED", RunState.FAILED),
        ("NO_MATCH", RunState.FAILED),
        ("CHECKED", RunState.FAILED),
        (NO_RUN_YET, RunState.PENDING),
        ("WAITING_FOR_DATA", RunState.UNKNOWN),  # a state Tailer may add: keep waiting, never success
        ("", RunState.UNKNOWN),
        (None, RunState.UNKNOWN),
    ],
)
def test_status_reads_the_run_record_and_maps_its_state(hook: TailerHook, raw: Any, state: RunState) -> None:
    record = {"run_id": REF["run_id"], "status": raw, "duration": 12, "job_id": JOB_ID}
    status, calls = drive(hook.run_status_plan(REF), {"results": [record]})
    assert calls == [status_call("check_run_status", job_id=JOB_ID, run_id=REF["run_id"])]
    assert (status.raw_state, status.state) == (raw or "", state)
    assert status.details["run_id"] == REF["run_id"]
    assert status.details["duration"] == 12


def test_no_record_right_after_a_launch_is_a_404_for_the_shared_grace(hook: TailerHook) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.run_status_plan(REF)).reply({"results": []})
    assert (caught.value.platform, caught.value.status) == ("Tailer", 404)


def test_the_latest_run_of_a_job_is_read_from_its_last_status(hook: TailerHook) -> None:
    latest = TailerHook.last_status_ref(JOB, "2024-01-02")
    status, calls = drive(hook.run_status_plan(latest), {"results": [{"status": "SUCCESS"}]})
    assert calls == [status_call("get_last_status", execution_date="2024-01-02", limit=1)]
    assert status.state is RunState.SUCCESS
    status, _ = drive(hook.run_status_plan(latest), {"results": []})
    assert (status.raw_state, status.state) == (NO_RUN_YET, RunState.PENDING)


@pytest.mark.parametrize("reply", [None, [], "OK", {}, {"results": None}, {"results": {"status": "SUCCESS"}}])
def test_a_malformed_status_reply_is_an_error_naming_tailer(hook: TailerHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.run_status_plan(REF)).reply(reply)
    assert (caught.value.platform, caught.value.call) == ("Tailer", "check run status")


# -- cancel and stop: Tailer cannot stop a run ------------------------------------------------------


def test_tailer_cannot_cancel_so_the_waits_never_ask_it_to(hook: TailerHook) -> None:
    assert TailerHook.can_cancel is False
    with pytest.raises(NotImplementedError):
        Driver(hook.cancel_plan(REF))
    with pytest.raises(NotImplementedError):
        Driver(hook.stop_plan(REF))  # no call is made: nothing to check against a state


# -- lost start replies -----------------------------------------------------------------------------

SPEC = {"job": JOB, "job_id": JOB_ID}
RECENT = status_call("get_last_status", limit=20)


def attempt(*known: str) -> dict[str, Any]:
    return {"marker": "m-1", "sent_at": SENT.timestamp(), "known_runs": list(known)}


def test_start_facts_note_the_latest_runs_before_the_launch(hook: TailerHook) -> None:
    runs = [{"run_id": "r-2"}, {"run_id": 1}, {"run_id": None}, {"run_id": ["r-0"]}, {}]
    facts, calls = drive(hook.start_facts_plan(SPEC), {"results": runs})
    assert calls == [RECENT]
    assert facts == {"known_runs": ["r-2", "1"]}


OLD = run_id(SENT - timedelta(days=1), "old")
MINE = run_id(SENT + timedelta(seconds=1), "mine")
THEIRS = run_id(SENT - timedelta(hours=2), "theirs")
ALSO_NEW = run_id(SENT + timedelta(seconds=2), "also")


@pytest.mark.parametrize(
    ("runs", "known", "found"),
    [
        ([{"run_id": MINE}, {"run_id": OLD}], [OLD], MINE),
        ([{"run_id": MINE, "job_id": JOB_ID}], [], MINE),
        ([{"run_id": OLD}], [OLD], None),
        ([], [], None),
        ([{"run_id": MINE, "job_id": "gbq-to-gbq|other"}], [], None),  # another job of the configuration
        # two new runs: the one launched before this launch (beyond the clock skew allowed) is not it
        ([{"run_id": MINE}, {"run_id": THEIRS}], [], MINE),
        ([{"run_id": None}, {"run_id": ["x"]}, "run", {"run_id": MINE}], [], MINE),
    ],
)
def test_the_lost_reply_lookup_finds_the_one_run_that_was_not_there_before(
    hook: TailerHook, runs: list[Any], known: list[str], found: str | None
) -> None:
    result, calls = drive(hook.find_started_run_plan(SPEC, attempt(*known)), {"results": runs})
    assert calls == [RECENT]
    assert result == (None if found is None else TailerHook.run_ref(JOB, JOB_ID, found))


def test_new_runs_launched_after_the_launch_cannot_be_told_apart(hook: TailerHook) -> None:
    plan = Driver(hook.find_started_run_plan(SPEC, attempt(OLD)))
    with pytest.raises(CannotTell) as caught:
        plan.reply({"results": [{"run_id": ALSO_NEW}, {"run_id": MINE}, {"run_id": OLD}]})
    assert "2 new runs" in caught.value.reason
    assert caught.value.check == TailerHook.start_check


def test_new_runs_whose_ids_carry_no_launch_time_cannot_be_told_apart(hook: TailerHook) -> None:
    plan = Driver(hook.find_started_run_plan(SPEC, attempt()))
    with pytest.raises(CannotTell):
        plan.reply({"results": [{"run_id": "run-b"}, {"run_id": "run-a"}]})


@pytest.mark.parametrize("reply", [None, [], {}, {"results": "none"}])
def test_a_malformed_run_list_is_an_error_naming_tailer_not_no_run(hook: TailerHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.find_started_run_plan(SPEC, attempt())).reply(reply)
    assert (caught.value.platform, caught.value.call) == ("Tailer", "get last status")


def test_a_lookup_error_is_left_to_start_once(hook: TailerHook) -> None:
    busy = api_error(503, platform="Tailer")
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.find_started_run_plan(SPEC, attempt())).fail(busy)
    assert caught.value is busy


# -- failure explanation ----------------------------------------------------------------------------


def test_the_failure_is_explained_from_the_last_status_without_a_call(hook: TailerHook) -> None:
    status = {"run_id": REF["run_id"], "duration": 0, "start_execution_date": "2024-01-02", "other": "x"}
    lines, calls = drive(hook.failure_plan(REF, status))
    assert calls == []
    assert lines == [
        "Tailer table-to-table 000099_sales_DEV (DEV)",
        f"run_id: {REF['run_id']}",
        "start_execution_date: 2024-01-02",
    ]


# -- "OK or KO" actions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "result"),
    [
        ("OK", {"message": "OK"}),
        ('"ok"', {"message": "ok"}),
        ("", {"message": "ok"}),
        ('{"code": 200, "message": "done"}', {"code": 200, "message": "done"}),
    ],
)
def test_an_ok_answer_sets_the_status(hook: TailerHook, reply: str, result: dict[str, Any]) -> None:
    answer, calls = drive(hook.set_run_status_plan(JOB, REF["run_id"], "CHECKED"), reply)
    assert answer == result
    assert calls == [status_call("set_run_status", run_id=REF["run_id"], status="CHECKED")]


@pytest.mark.parametrize(
    ("reply", "status"), [("KO", 200), ('{"code": 403, "message": "no"}', 403), ("<html>", 200)]
)
def test_a_ko_answer_is_an_error_naming_tailer(hook: TailerHook, reply: str, status: int) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.set_run_status_plan(JOB, REF["run_id"], "CHECKED")).reply(reply)
    assert (caught.value.platform, caught.value.status) == ("Tailer", status)
