"""EnOS's plans fed replies by hand: the calls they make and what they read of the replies (no HTTP)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.states import RunState
from airflow_provider_pipelines.hooks.enos import EnosHook, flow_instance_id
from tests.plans.driver import Driver, api_error, drive

PIPELINE = "/streaming/v2.0/streaming/pipeline/p-1"
PIPELINES = "/streaming/v2.0/streaming/pipelines"
FLOWS = "/batch-processing-service/v2.1/flows"
INSTANCES = "/batch-processing-service/v2.1/flowInstances"
INSTANCE = flow_instance_id(2791, 0)
FLOW_REF = EnosHook.flow_ref(INSTANCE)
STREAM_REF = EnosHook.streaming_ref("p-1")  # watched until RUNNING, no settling


@pytest.fixture
def hook() -> EnosHook:
    hook = EnosHook(enos_conn_id="x")  # no connection: plans read only its options
    hook.options = {"org_id": "o-1", "user_id": "u-1"}
    return hook


def ok(data: Any) -> dict[str, Any]:
    """EnOS's envelope: code 0 and the data."""
    return {"code": 0, "msg": "OK", "requestId": "q", "data": data}


def refused(code: int, msg: str = "refused") -> dict[str, Any]:
    """An EnOS service error: under HTTP 200, a code and a message."""
    return {"code": code, "msg": msg, "requestId": "q", "data": None}


def listing(*pipelines: dict[str, Any], count: int | None = None) -> dict[str, Any]:
    return ok({"count": len(pipelines) if count is None else count, "pipelines": list(pipelines)})


def call(method: str, path: str, params: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "method": method,
        "path": path,
        "params": {**params, "orgId": "o-1"},
        "json": None,
        "idempotent": True,
        **more,
    }


def page(number: int) -> dict[str, Any]:
    return call("GET", PIPELINES, {"pageSize": 100, "pageNo": number})


GET_INSTANCE = call("GET", INSTANCES, {"action": "get", "userId": "u-1", "flowInstId": INSTANCE})


# -- start ------------------------------------------------------------------------------------------


def test_a_streaming_start_is_never_repeated_blindly(hook: EnosHook) -> None:
    body = {"executionMode": 1, "kafkaRate": 500}
    result, calls = drive(hook.pipeline_action_plan("p-1", "start", body), ok(""))
    assert result == ""
    assert calls == [call("POST", PIPELINE, {"action": "start"}, json=body, idempotent=False)]


@pytest.mark.parametrize("action", ["stop", "pause"])
def test_stop_and_pause_may_be_repeated(hook: EnosHook, action: str) -> None:
    _, calls = drive(hook.pipeline_action_plan("p-1", action), ok(None))
    assert calls == [call("POST", PIPELINE, {"action": action}, json={})]


@pytest.mark.parametrize(
    ("parameters", "action", "body"),
    [
        (None, "trigger", {"flowId": 2791, "triggerTime": 0}),
        (
            {"day": "2024-01-02", "n": 3},
            "updateAndTrigger",
            {
                "flowId": 2791,
                "triggerTime": 0,
                "parameters": [{"key": "day", "value": "2024-01-02"}, {"key": "n", "value": "3"}],
            },
        ),
    ],
)
def test_a_flow_trigger_carries_its_trigger_time_and_is_never_repeated_blindly(
    hook: EnosHook, parameters: Any, action: str, body: dict[str, Any]
) -> None:
    instance, calls = drive(hook.trigger_flow_plan("2791", parameters, 0), ok({"flowInstanceId": INSTANCE}))
    assert instance == INSTANCE == "2791-19700101000000"
    assert calls == [call("POST", FLOWS, {"action": action, "userId": "u-1"}, json=body, idempotent=False)]


def test_flows_need_the_user_id(hook: EnosHook) -> None:
    hook.options = {"org_id": "o-1", "user_id": None}
    with pytest.raises(PipelineApiError, match="user_id") as caught:
        Driver(hook.trigger_flow_plan(2791, None, 0))
    assert caught.value.platform == "EnOS"


@pytest.mark.parametrize(
    "reply",
    [
        None,
        [],
        "OK",
        {"data": {"flowInstanceId": INSTANCE}},  # no code
        ok(None),
        ok({"flowInstanceId": None}),
        ok({"flowInstanceId": [INSTANCE]}),
        ok(INSTANCE),
    ],
)
def test_a_malformed_trigger_reply_is_an_error_naming_enos(hook: EnosHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.trigger_flow_plan(2791, None, 0)).reply(reply)
    assert (caught.value.platform, caught.value.call) == ("EnOS", "trigger flow")


@pytest.mark.parametrize(
    ("code", "retryable", "meaning"),
    [
        (61165, False, "cannot be started"),
        (61121, True, "another user is starting a job"),
        (62101, False, "userId or orgId is invalid"),
        (99999, False, "code 99999: refused"),
    ],
)
def test_an_error_code_is_named_by_its_meaning(
    hook: EnosHook, code: int, retryable: bool, meaning: str
) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.pipeline_action_plan("p-1", "start", {})).reply(refused(code))
    error = caught.value
    assert (error.platform, error.status, error.code, error.retryable) == ("EnOS", 200, str(code), retryable)
    assert meaning in error.message
    assert error.sent is not retryable  # "try again later": the start surely did nothing


# -- status: flow instances -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "raw", "state"),
    [
        (0, "INIT", RunState.PENDING),
        (5, "WAIT", RunState.PENDING),
        (6, "READY", RunState.PENDING),
        (2, "RUNNING", RunState.RUNNING),
        (9, "RERUN", RunState.RUNNING),
        (3, "SUSPEND", RunState.RUNNING),
        (1, "SUCCESS", RunState.SUCCESS),
        ("1", "SUCCESS", RunState.SUCCESS),
        (10, "SKIP", RunState.SUCCESS),
        (-1, "FAIL", RunState.FAILED),
        (4, "INTERNAL_ERROR", RunState.FAILED),
        (7, "TIMEOUT", RunState.FAILED),
        (8, "CANCEL", RunState.FAILED),
        (11, "STATUS_11", RunState.UNKNOWN),  # a code EnOS may add: keep waiting, never success
        ("DONE", "DONE", RunState.UNKNOWN),
        (None, "None", RunState.UNKNOWN),
    ],
)
def test_a_flow_instances_status_code_is_mapped(hook: EnosHook, code: Any, raw: str, state: RunState) -> None:
    tasks = [{"taskId": "t1", "status": 1}, {"taskId": "t2", "status": 2}, "x"]
    instance = {"status": code, "statusDesc": "desc", "graph": {"tasks": tasks}}
    status, calls = drive(hook.run_status_plan(FLOW_REF), ok(instance))
    assert calls == [GET_INSTANCE]
    assert (status.raw_state, status.state) == (raw, state)
    assert status.details == {"statusDesc": "desc"}
    assert status.progress == "1 RUNNING, 1 SUCCESS"


@pytest.mark.parametrize("reply", [None, [], {"data": {}}, ok(None), ok([1]), refused(62109)])
def test_a_malformed_or_refused_instance_read_is_an_error_naming_enos(hook: EnosHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.run_status_plan(FLOW_REF)).reply(reply)
    assert (caught.value.platform, caught.value.call) == ("EnOS", "get flow instance")


# -- status: streaming pipelines --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "raw", "state"),
    [
        (STREAM_REF, "RUNNING", RunState.SUCCESS),
        (STREAM_REF, "running", RunState.SUCCESS),
        (STREAM_REF, "STARTING", RunState.RUNNING),
        (STREAM_REF, "STOPPED", RunState.RUNNING),  # without settling: someone may start it
        (STREAM_REF, "DEPLOYING", RunState.UNKNOWN),  # a status EnOS may add: never success
        (STREAM_REF, "", RunState.UNKNOWN),
        (EnosHook.streaming_ref("p-1", "RUNNING", time.time() + 3600), "STOPPED", RunState.PENDING),
        (EnosHook.streaming_ref("p-1", "RUNNING", time.time() + 3600), "PUBLISHED", RunState.PENDING),
        (EnosHook.streaming_ref("p-1", "RUNNING", time.time() - 1), "STOPPED", RunState.FAILED),
        (EnosHook.streaming_ref("p-1", "STOPPED"), "STOPPED", RunState.SUCCESS),
        (EnosHook.streaming_ref("p-1", "STOPPED"), "PUBLISHED", RunState.SUCCESS),
        (EnosHook.streaming_ref("p-1", "STOPPED"), "STOPPING", RunState.RUNNING),
        (EnosHook.streaming_ref("p-1", "PAUSED"), "PAUSED", RunState.SUCCESS),
    ],
)
def test_a_streaming_pipeline_is_watched_until_it_reaches_its_target(
    hook: EnosHook, ref: dict[str, Any], raw: str, state: RunState
) -> None:
    entry = {"pipelineId": "p-1", "pipelineName": "clean", "status": raw}
    status, calls = drive(hook.run_status_plan(ref), listing({"pipelineId": "p-0"}, entry))
    assert calls == [page(1)]
    assert (status.raw_state, status.state) == (raw.upper(), state)
    assert status.details == {"pipelineName": "clean"}


def test_the_pipeline_list_is_read_page_by_page(hook: EnosHook) -> None:
    first = [{"pipelineId": f"q-{n}", "status": "RUNNING"} for n in range(100)]
    status, calls = drive(
        hook.run_status_plan(STREAM_REF),
        listing(*first, count=101),
        listing({"pipelineId": "p-1", "status": "STARTING"}, count=101),
    )
    assert calls == [page(1), page(2)]
    assert status.state is RunState.RUNNING


@pytest.mark.parametrize(
    "replies",
    [
        [listing({"pipelineId": "p-0"})],
        [listing({"pipelineId": "p-0"}, count=5), listing({"pipelineId": "p-0"}, count=5)],  # page ignored
        [ok(None)],
    ],
)
def test_a_pipeline_missing_from_the_list_is_a_404(hook: EnosHook, replies: list[Any]) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.run_status_plan(STREAM_REF)).answer(replies)
    assert (caught.value.platform, caught.value.status) == ("EnOS", 404)


@pytest.mark.parametrize("reply", [None, [], {"data": {}}, ok([]), ok("pipelines"), refused(62101)])
def test_a_malformed_pipeline_list_is_an_error_naming_enos(hook: EnosHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.run_status_plan(STREAM_REF)).reply(reply)
    assert (caught.value.platform, caught.value.call, caught.value.status) == ("EnOS", "list pipelines", 200)


# -- cancel and stop --------------------------------------------------------------------------------

CANCEL = call("POST", INSTANCES, {"action": "cancel", "userId": "u-1"}, json={"flowInstId": INSTANCE})


def test_cancel_of_a_flow_instance(hook: EnosHook) -> None:
    assert drive(hook.cancel_plan(FLOW_REF), ok("")) == (None, [CANCEL])


def test_cancel_of_a_streaming_pipeline_stops_it(hook: EnosHook) -> None:
    assert drive(hook.cancel_plan(STREAM_REF), ok("")) == (
        None,
        [call("POST", PIPELINE, {"action": "stop"}, json={})],
    )


@pytest.mark.parametrize(("code", "raw"), [(1, "SUCCESS"), (8, "CANCEL"), (-1, "FAIL")])
def test_a_refused_cancel_of_an_instance_that_ended_counts_as_stopped(
    hook: EnosHook, code: int, raw: str
) -> None:
    result, calls = drive(hook.stop_plan(FLOW_REF), refused(62109, "has ended"), ok({"status": code}))
    assert result == raw
    assert calls == [CANCEL, GET_INSTANCE]


def test_a_refused_cancel_of_a_running_instance_is_the_cancels_error(hook: EnosHook) -> None:
    plan = Driver(hook.stop_plan(FLOW_REF)).reply(refused(62109, "cannot cancel"))
    with pytest.raises(PipelineApiError, match="cannot cancel") as caught:
        plan.reply(ok({"status": 2}))
    assert caught.value.call == "cancel flow instance"


@pytest.mark.parametrize("raw", ["STOPPED", "STOPPING", "PUBLISHED"])
def test_a_refused_stop_of_a_pipeline_stopped_or_stopping_counts_as_stopped(hook: EnosHook, raw: str) -> None:
    result, calls = drive(
        hook.stop_plan(STREAM_REF), refused(61152), listing({"pipelineId": "p-1", "status": raw})
    )
    assert result == raw
    assert calls == [call("POST", PIPELINE, {"action": "stop"}, json={}), page(1)]


def test_a_refused_stop_of_a_pipeline_that_is_now_running_is_the_stops_error(hook: EnosHook) -> None:
    plan = Driver(hook.stop_plan(STREAM_REF)).reply(refused(61152, "cannot change from [STARTING]"))
    with pytest.raises(PipelineApiError, match="STARTING"):
        plan.reply(listing({"pipelineId": "p-1", "status": "RUNNING"}))


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_stop_refused_for_auth_or_a_missing_run_is_not_checked(hook: EnosHook, status: int) -> None:
    refusal = api_error(status, platform="EnOS")
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.stop_plan(FLOW_REF)).fail(refusal)
    assert caught.value is refusal


# -- lost start replies -----------------------------------------------------------------------------


def test_a_flows_start_facts_fix_its_trigger_time_without_a_call(hook: EnosHook) -> None:
    before = int(time.time()) * 1000
    facts, calls = drive(hook.start_facts_plan({"flow_id": 2791}))
    assert calls == []
    assert set(facts) == {"trigger_time"}
    assert facts["trigger_time"] % 1000 == 0 and before <= facts["trigger_time"] <= time.time() * 1000


def test_a_streaming_action_notes_nothing(hook: EnosHook) -> None:
    assert drive(hook.start_facts_plan({"pipeline_id": "p-1", "action": "start", "start_grace": 60})) == (
        {},
        [],
    )


FLOW_SPEC = {"flow_id": 2791}
FLOW_ATTEMPT = {"marker": "m-1", "sent_at": 0.0, "trigger_time": 0}


@pytest.mark.parametrize(
    ("reply", "found"),
    [
        (ok({"status": 2}), True),
        (ok({"status": 1}), True),  # adopted in whatever state it is in
        (refused(62109, "flow instance not found"), False),
        (ok(None), False),
    ],
)
def test_a_flows_lost_trigger_is_resolved_by_reading_the_instance_its_trigger_time_names(
    hook: EnosHook, reply: Any, found: bool
) -> None:
    result, calls = drive(hook.find_started_run_plan(FLOW_SPEC, FLOW_ATTEMPT), reply)
    assert calls == [GET_INSTANCE]
    assert result == (FLOW_REF if found else None)


@pytest.mark.parametrize(
    "error",
    [
        api_error(502, platform="EnOS"),
        api_error(None, platform="EnOS"),
        api_error(401, platform="EnOS"),
        api_error(403, platform="EnOS"),
    ],
)
def test_a_lookup_that_got_no_answer_is_left_to_start_once(hook: EnosHook, error: PipelineApiError) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.find_started_run_plan(FLOW_SPEC, FLOW_ATTEMPT)).fail(error)
    assert caught.value is error


def test_a_busy_lookup_is_left_to_start_once(hook: EnosHook) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.find_started_run_plan(FLOW_SPEC, FLOW_ATTEMPT)).reply(refused(61121))
    assert caught.value.retryable


@pytest.mark.parametrize("reply", [["unexpected"], {"data": {"status": 2}}])
def test_an_unreadable_lookup_reply_is_not_no_such_instance(hook: EnosHook, reply: Any) -> None:
    with pytest.raises(PipelineApiError):
        Driver(hook.find_started_run_plan(FLOW_SPEC, FLOW_ATTEMPT)).reply(reply)


START_SPEC = {"pipeline_id": "p-1", "action": "start", "start_grace": 60}
STOP_SPEC = {"pipeline_id": "p-1", "action": "stop"}


@pytest.mark.parametrize(
    ("spec", "raw", "target"),
    [
        (START_SPEC, "STARTING", "RUNNING"),
        (START_SPEC, "RUNNING", "RUNNING"),
        (START_SPEC, "STOPPED", None),
        (START_SPEC, "PUBLISHED", None),
        (STOP_SPEC, "STOPPING", "STOPPED"),
        (STOP_SPEC, "PUBLISHED", "STOPPED"),
        (STOP_SPEC, "RUNNING", None),
    ],
)
def test_a_streaming_actions_lost_reply_is_resolved_by_the_pipelines_status(
    hook: EnosHook, spec: dict[str, Any], raw: str, target: str | None
) -> None:
    result, calls = drive(
        hook.find_started_run_plan(spec, {"marker": "m-1", "sent_at": 0.0}),
        listing({"pipelineId": "p-1", "status": raw}),
    )
    assert calls == [page(1)]
    if target is None:
        assert result is None
    else:
        assert (result["run_id"], result["kind"], result["target"]) == ("p-1", "streaming", target)
        assert (result["settle_until"] is not None) is (target == "RUNNING")


def test_a_streaming_lookup_of_a_pipeline_not_listed_is_an_error_not_no_run(hook: EnosHook) -> None:
    with pytest.raises(PipelineApiError) as caught:
        Driver(hook.find_started_run_plan(START_SPEC, {"marker": "m-1"})).reply(listing())
    assert (caught.value.platform, caught.value.status) == ("EnOS", 404)


# -- failure explanation ----------------------------------------------------------------------------


def test_a_flows_failure_is_explained_by_its_failed_tasks_and_their_logs(hook: EnosHook) -> None:
    tasks = [
        {"name": "load", "status": -1, "log": "\n".join(f"l{n}" for n in range(12))},
        {"taskId": "t-2", "status": 7},
        {"name": "ok", "status": 1, "log": "fine"},
    ]
    lines, calls = drive(hook.failure_plan(FLOW_REF, {}), ok({"status": -1, "graph": {"tasks": tasks}}))
    assert calls == [GET_INSTANCE]
    assert lines == [
        "task load: FAIL",
        *[f"task load log: l{n}" for n in range(2, 12)],
        "task t-2: TIMEOUT",
    ]


def test_a_flow_without_failed_tasks_names_its_end(hook: EnosHook) -> None:
    lines, _ = drive(hook.failure_plan(FLOW_REF, {}), ok({"status": 8, "graph": None}))
    assert lines == [f"flow instance {INSTANCE} ended CANCEL"]


def test_a_streaming_failure_names_the_target_without_a_call(hook: EnosHook) -> None:
    assert drive(hook.failure_plan(STREAM_REF, {})) == (["pipeline p-1 did not reach RUNNING"], [])
