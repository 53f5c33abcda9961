"""FlowEngine's plans fed replies by hand: the calls they make and what they read of the replies (no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.start import CannotTell
from airflow_provider_pipelines.core.states import RunState
from airflow_provider_pipelines.hooks.flowengine import HISTORY_PAGE_SIZE, FlowEngineHook
from tests.plans.driver import Driver, api_error, drive, shape

KEY = {"engineKey": "key-1"}
KERNEL = "/engine/e-1/kernel/v1"
REF = FlowEngineHook.run_ref(7, 99)


def ok(data: Any) -> dict[str, Any]:
    """FlowEngine's envelope: status 0 and the data."""
    return {"status": 0, "msg": "success", "data": data}


def kernel(method: str, path: str, *, params: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    return {
        "method": method,
        "path": KERNEL + path,
        "params": {**(params or {}), **KEY},
        "json": None,
        "idempotent": True,
        **more,
    }


GET_RUN = kernel("GET", "/pipeline/99/get")


def history(page: int = 1, size: int = 20) -> dict[str, Any]:
    return kernel("GET", "/pipeline/7/historyList", params={"page": page, "size": size, "engineId": "42"})


def new_hook() -> FlowEngineHook:
    hook = FlowEngineHook(flowengine_conn_id="x")  # no connection: plans read only its options
    hook.options = {"engine_key": "key-1"}
    return hook


@pytest.fixture
def hook() -> FlowEngineHook:
    """A hook that has found its engine (steps 01 and 02, once per hook)."""
    hook = new_hook()
    drive(hook.engine_plan(), ok({"url": "/engine/e-1/"}), ok({"engineId": 42}))
    return hook


# -- engine discovery -------------------------------------------------------------------------------


def test_the_engine_is_found_once_per_hook_with_the_engine_key() -> None:
    hook = new_hook()
    engine, calls = drive(hook.engine_plan(), ok({"url": "engine/e-1"}), ok({"engineId": "42"}))
    assert (engine.path, engine.engine_id) == ("/engine/e-1", "42")
    assert calls == [
        {
            "method": "GET",
            "path": "/engine-manager/v1/k8s/info/",
            "params": KEY,
            "json": None,
            "idempotent": True,
        },
        kernel("GET", "/system/getParam"),
    ]
    assert drive(hook.engine_plan()) == (engine, [])  # no call the second time


@pytest.mark.parametrize(
    "replies",
    [
        [{"data": {"url": "/e"}}],  # no status
        [{"status": 1, "msg": "engine key unknown"}],
        [ok({"url": "/"})],
        [ok(None)],
        [ok({"url": "/e"}), ok({"engineId": None})],
        [ok({"url": "/e"}), ok(["42"])],
    ],
)
def test_a_malformed_discovery_reply_is_an_error_naming_flowengine(replies: list[Any]) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(new_hook().engine_plan()).answer(replies)
    assert caught.value.platform == "FlowEngine"


# -- start ------------------------------------------------------------------------------------------


def test_start_posts_the_node_parameters_once_never_repeated_blindly(hook: FlowEngineHook) -> None:
    params = {"node-1": {"date": "2024-01-02"}}
    record, calls = drive(hook.start_plan(7, params), ok({"id": 99, "status": "init"}))
    assert record == {"id": 99, "status": "init"}
    assert calls == [kernel("POST", "/pipeline/42/7/start", json=params, idempotent=False)]


@pytest.mark.parametrize("data", [None, {}, {"id": None}, {"id": [99]}, [99], "99"])
def test_a_start_reply_naming_no_run_is_none(hook: FlowEngineHook, data: Any) -> None:
    """The operator then looks for the new run in the history (find_new_run_plan)."""
    assert drive(hook.start_plan(7), ok(data))[0] is None


@pytest.mark.parametrize(
    "reply", [None, [], "ok", {"data": {"id": 99}}, {"status": 500, "msg": "no such pipeline"}]
)
def test_a_malformed_or_refused_start_reply_is_an_error_naming_flowengine(
    hook: FlowEngineHook, reply: Any
) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.start_plan(7)).reply(reply)
    assert (caught.value.platform, caught.value.call) == ("FlowEngine", "start pipeline")


def test_the_run_a_start_reply_did_not_name_is_the_one_new_run_with_its_parameters(
    hook: FlowEngineHook,
) -> None:
    runs = [{"id": 101, "params": {"n": {"a": 2}}}, {"id": 100, "params": {"n": {"a": 1}}}, {"id": 1}]
    record, calls = drive(hook.find_new_run_plan(7, [1], {"n": {"a": 1}}), ok(runs))
    assert calls == [history(size=20)]
    assert record["id"] == 100
    with pytest.raises(PipelineApiError, match="2 new runs, none told apart"):
        Driver(hook.find_new_run_plan(7, [1], {"n": {"a": 3}})).reply(ok(runs))


# -- status -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("init", RunState.PENDING),
        ("pending", RunState.PENDING),
        ("waiting", RunState.PENDING),
        ("running", RunState.RUNNING),
        ("stopping", RunState.RUNNING),
        ("success", RunState.SUCCESS),
        ("SUCCEEDED", RunState.SUCCESS),
        ("finished", RunState.SUCCESS),
        ("completed", RunState.SUCCESS),
        ("failed", RunState.FAILED),
        ("error", RunState.FAILED),
        ("killed", RunState.FAILED),
        ("stopped", RunState.FAILED),
        ("paused", RunState.UNKNOWN),  # a state not seen yet: keep waiting, never success
        ("", RunState.UNKNOWN),
        (None, RunState.UNKNOWN),
    ],
)
def test_status_reads_the_run_record_and_maps_its_state(
    hook: FlowEngineHook, raw: Any, state: RunState
) -> None:
    nodes = [{"nodeId": "a", "status": "success"}, {"nodeId": "b", "status": "running"}, "x"]
    status, calls = drive(hook.run_status_plan(REF), ok({"id": 99, "status": raw, "nodes": nodes}))
    assert calls == [GET_RUN]
    assert (status.raw_state, status.state) == (raw or "", state)
    assert status.details == {"nodes": {"success": 1, "running": 1}}
    assert status.progress == "1 running, 1 success"


def test_an_engine_without_the_run_get_call_is_read_from_the_history_from_then_on(
    hook: FlowEngineHook,
) -> None:
    missing = api_error(404, platform="FlowEngine")
    page = [{"id": 100, "status": "running"}, {"id": 99, "status": "running"}]
    status, calls = drive(hook.run_status_plan(REF), missing, ok(page))
    assert calls == [GET_RUN, history(1, HISTORY_PAGE_SIZE)]
    assert status.state is RunState.RUNNING
    status, calls = drive(hook.run_status_plan(REF), ok([{"id": 99, "status": "success"}]))
    assert calls == [history(1, HISTORY_PAGE_SIZE)]
    assert status.state is RunState.SUCCESS


def test_a_run_neither_get_nor_the_history_shows_is_the_runs_404(hook: FlowEngineHook) -> None:
    missing = api_error(404, platform="FlowEngine")
    plan = Driver(hook.run_status_plan(REF)).fail(missing)
    with pytest.raises(PipelineApiError) as caught:
        plan.reply(ok([{"id": 100}]))
    assert caught.value is missing
    _, calls = drive(hook.run_status_plan(REF), ok({"status": "running"}))
    assert calls == [GET_RUN]  # the engine still has get


def test_the_history_is_read_page_by_page_until_a_short_or_repeated_page(hook: FlowEngineHook) -> None:
    full = [{"id": n} for n in range(1000, 1000 + HISTORY_PAGE_SIZE)]
    plan = Driver(hook.run_status_plan(REF)).fail(api_error(404, platform="FlowEngine"))
    with pytest.raises(PipelineApiError):
        plan.reply(ok(full)).reply(ok(full))  # an engine that ignores ``page``
    assert [shape(call) for call in plan.calls] == [
        GET_RUN,
        history(1, HISTORY_PAGE_SIZE),
        history(2, HISTORY_PAGE_SIZE),
    ]
    record, calls = drive(
        hook.history_record_plan(7, 99), ok({"list": full}), ok({"records": [{"id": "99", "status": "x"}]})
    )
    assert record == {"id": "99", "status": "x"}
    assert calls == [history(1, HISTORY_PAGE_SIZE), history(2, HISTORY_PAGE_SIZE)]


@pytest.mark.parametrize("reply", [None, [], {"data": {}}, {"status": "1", "msg": "no"}, ok(None), ok([1])])
def test_a_malformed_run_record_is_an_error_naming_flowengine(hook: FlowEngineHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.run_status_plan(REF)).reply(reply)
    assert caught.value.platform == "FlowEngine"
    assert caught.value.call == "get run"


# -- cancel and stop --------------------------------------------------------------------------------

STOP = kernel("DELETE", "/pipeline/99/stopHistory", params={"engineId": "42"})


def test_cancel_stops_the_run(hook: FlowEngineHook) -> None:
    result, calls = drive(hook.cancel_plan(REF), ok(None))
    assert result is None
    assert calls == [STOP]


@pytest.mark.parametrize("raw", ["stopped", "STOPPING", "success", "failed"])
def test_a_refused_stop_of_a_run_already_stopped_or_stopping_counts_as_stopped(
    hook: FlowEngineHook, raw: str
) -> None:
    refused = {"status": 30001, "msg": "run is not running"}
    result, calls = drive(hook.stop_plan(REF), refused, ok({"status": raw}))
    assert result == raw
    assert calls == [STOP, GET_RUN]


@pytest.mark.parametrize("raw", ["running", "init", "paused"])
def test_a_refused_stop_of_a_running_run_is_the_stops_error(hook: FlowEngineHook, raw: str) -> None:
    plan = Driver(hook.stop_plan(REF))
    plan.reply({"status": 30001, "msg": "busy"})
    with pytest.raises(PipelineApiError, match="status 30001: busy") as caught:
        plan.reply(ok({"status": raw}))
    assert caught.value.call == "stop run"


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_stop_refused_for_auth_or_a_missing_run_is_not_checked(hook: FlowEngineHook, status: int) -> None:
    refused = api_error(status, platform="FlowEngine")
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.stop_plan(REF)).fail(refused)
    assert caught.value is refused


def test_resuming_a_failed_run_is_not_repeated_blindly(hook: FlowEngineHook) -> None:
    _, calls = drive(hook.resume_failed_plan(REF), ok(None))
    assert calls == [
        kernel("POST", "/pipeline/99/resumeHistory", params={"engineId": "42"}, idempotent=False)
    ]


# -- lost start replies -----------------------------------------------------------------------------

SPEC = {"pipeline_id": 7}


def test_start_facts_note_the_latest_runs_before_the_start(hook: FlowEngineHook) -> None:
    runs = [{"id": 98}, {"id": "97"}, {"id": None}, {"name": "no id"}]
    facts, calls = drive(hook.start_facts_plan(SPEC), ok({"list": runs}))
    assert calls == [history()]
    assert facts == {"known_runs": ["98", "97"]}


def test_a_resume_notes_nothing(hook: FlowEngineHook) -> None:
    assert drive(hook.start_facts_plan({"pipeline_id": 7, "resume_run_id": 99})) == ({}, [])


def attempt(known: list[Any], **more: Any) -> dict[str, Any]:
    return {"marker": "m-1", "sent_at": 1700000000.0, "known_runs": known, **more}


@pytest.mark.parametrize(
    ("runs", "start", "found"),
    [
        ([{"id": 99}, {"id": 98}], attempt(["98"]), 99),
        ([{"id": 98}], attempt(["98"]), None),
        ([], attempt([]), None),
        ([{"id": None}, {"id": [1]}, {"id": 98}], attempt(["98"]), None),
        # told apart by the parameters this start sent
        (
            [{"id": 100, "params": {"n": 2}}, {"id": 99, "params": {"n": 1}}],
            attempt([], params={"n": 1}),
            99,
        ),
        ([{"id": 100, "params": {"n": 2}}], attempt([], params={"n": 1}), None),
        ([{"id": 99}], attempt([], params={"n": 1}), 99),  # a history that shows no parameters
    ],
)
def test_the_lost_reply_lookup_finds_the_one_new_run(
    hook: FlowEngineHook, runs: list[Any], start: dict[str, Any], found: int | None
) -> None:
    result, calls = drive(hook.find_started_run_plan(SPEC, start), ok(runs))
    assert calls == [history()]
    assert result == (None if found is None else FlowEngineHook.run_ref(7, found))


@pytest.mark.parametrize(
    ("runs", "start"),
    [
        ([{"id": 100}, {"id": 99}, {"id": 98}], attempt(["98"])),
        ([{"id": 100, "params": {"n": 1}}, {"id": 99}], attempt([], params={"n": 1})),
    ],
)
def test_several_new_runs_cannot_be_told_apart(
    hook: FlowEngineHook, runs: list[Any], start: dict[str, Any]
) -> None:
    with pytest.raises(CannotTell) as caught:
        Driver(hook.find_started_run_plan(SPEC, start)).reply(ok(runs))
    assert "2 new runs" in caught.value.reason
    assert caught.value.check == FlowEngineHook.start_check


@pytest.mark.parametrize(("raw", "found"), [("running", True), ("init", True), ("failed", False)])
def test_a_lost_resume_took_effect_once_the_run_no_longer_shows_a_failed_state(
    hook: FlowEngineHook, raw: str, found: bool
) -> None:
    spec = {"pipeline_id": 7, "resume_run_id": 99}
    result, calls = drive(hook.find_started_run_plan(spec, attempt([])), ok({"status": raw}))
    assert calls == [GET_RUN]
    assert result == (REF if found else None)


@pytest.mark.parametrize("reply", [None, {"data": []}, {"status": 1, "msg": "no pipeline"}])
def test_a_malformed_history_is_an_error_naming_flowengine_not_no_run(
    hook: FlowEngineHook, reply: Any
) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.find_started_run_plan(SPEC, attempt([]))).reply(reply)
    assert (caught.value.platform, caught.value.call) == ("FlowEngine", "list run history")


# -- failure explanation ----------------------------------------------------------------------------


def test_the_failure_is_explained_by_the_failed_nodes(hook: FlowEngineHook) -> None:
    nodes = [
        {"nodeId": "a", "status": "success"},
        {"nodeId": "b", "status": "FAILED", "msg": "division by zero"},
        {"nodeId": "c", "status": "killed"},
        {"nodeId": "d", "status": "error"},
    ]
    lines, calls = drive(hook.failure_plan(REF, {}), ok({"status": "failed", "nodes": nodes}))
    assert calls == [GET_RUN]
    assert lines == ["node b: FAILED: division by zero", "node c: killed", "node d: error"]


def test_a_failure_without_failed_nodes_names_the_runs_end(hook: FlowEngineHook) -> None:
    lines, _ = drive(hook.failure_plan(REF, {}), ok({"status": "stopped", "nodes": "none"}))
    assert lines == ["run 99 ended stopped"]
