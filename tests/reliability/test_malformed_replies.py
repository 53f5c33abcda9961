"""
Reliability scenario 6: malformed replies, generated with hypothesis, against every hook and trigger.

A loopback server (:mod:`tests.reliability.malformed_server`) answers what each example says: HTML
pages, truncated or wrong-typed JSON, missing fields, unknown states, huge bodies, bytes that are not
UTF-8, 3xx/4xx/5xx statuses with such bodies, and replies cut off in transit or with a lying
``Content-Encoding``. Against it:

- every hook call an operator, sensor or "Test connection" makes returns a well-formed result or
  raises :class:`PipelineError` naming the platform; never a raw ``KeyError``/``TypeError``/...;
- every trigger yields exactly one event, never raises, and the event loop keeps serving other
  coroutines;
- nothing built from garbage is a success (a run state, a started run's id);
- no error message shows a secret of the connection, or grows with the reply.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from airflow_provider_pipelines.core.errors import PipelineError
from airflow_provider_pipelines.core.hook import PipelineHook
from airflow_provider_pipelines.core.states import RunState, RunStatus
from airflow_provider_pipelines.core.trigger import PipelineRunTrigger
from airflow_provider_pipelines.hooks.cdap import CDAP_STATES, CdapHook
from airflow_provider_pipelines.hooks.daggy import DAGGY_STATES, DaggyHook
from airflow_provider_pipelines.hooks.enos import ENOS_STATES, FLOW_STATUS_NAMES, EnosHook
from airflow_provider_pipelines.hooks.flowengine import FLOWENGINE_STATES, FlowEngineHook
from airflow_provider_pipelines.hooks.tailer import TAILER_STATES, TailerHook
from airflow_provider_pipelines.triggers.cdap import CdapPipelineRunTrigger
from airflow_provider_pipelines.triggers.daggy import DaggyRunTrigger
from airflow_provider_pipelines.triggers.enos import EnosFlowInstanceTrigger, EnosStreamingPipelineTrigger
from airflow_provider_pipelines.triggers.flowengine import FlowEnginePipelineRunTrigger
from airflow_provider_pipelines.triggers.tailer import TailerJobRunTrigger
from tests.reliability import report
from tests.reliability.malformed_server import (
    CDAP_TOKEN,
    DAGGY_PROXY_TOKEN,
    ENOS_APP_SECRET,
    FIREBASE_TOKEN_PATH,
    FLOWENGINE_ACCESS_KEY,
    ISSUED_TOKENS,
    PLATFORM_SECRETS,
    TAILER_API_KEY,
    TAILER_REFRESH_TOKEN,
    MalformedServer,
    Reply,
    huge_replies,
    json_reply,
    replies,
    shapes_of,
)

# -- connections and their secrets -------------------------------------------------------------------

# What the connection itself holds: the other secrets are tokens the token endpoints issue later.
CONNECTION_SECRETS = {
    platform: tuple(s for s in secrets if s not in ISSUED_TOKENS)
    for platform, secrets in PLATFORM_SECRETS.items()
}
# The last guards (a plan failing on a reply's shape, a trigger failing unexpectedly) must not be what
# handles a malformed reply: each platform's parsing should.
LAST_GUARDS = ("could not read the reply (", "could not be watched: unexpected")
# Fast, short retries: a 5xx example must not sleep; any Retry-After above 10 ms gives up at once.
# The reply cap is below the largest huge bodies, so both "read it all" and "too large" are exercised.
EXTRAS = {
    "retry_attempts": 2,
    "retry_initial_wait": 0.001,
    "retry_max_wait": 0.002,
    "retry_max_retry_after": 0.01,
    "max_reply_bytes": 3_000_000,
    "connect_timeout": 5,
    "timeout": 10,
}
API_DOWN = Reply(500, "text/plain", b"the API must not be reached with a bad token")
MAX_MESSAGE = 1500  # an error message must not grow with the reply
RUNAWAY_CALLS = 60  # API requests one hook call may make here (retries, paging) before it is a loop


def connections(url: str) -> dict[str, dict[str, Any]]:
    return {
        "cdap": {"conn_type": "cdap", "host": url, "password": CDAP_TOKEN, "extra": EXTRAS},
        "daggy": {
            "conn_type": "daggy",
            "host": url,
            "extra": {**EXTRAS, "headers": {"X-Proxy-Token": DAGGY_PROXY_TOKEN}},
        },
        "tailer": {
            "conn_type": "tailer",
            "host": url,
            "extra": {
                **EXTRAS,
                "refresh_token": TAILER_REFRESH_TOKEN,
                "firebase_api_key": TAILER_API_KEY,
                "firebase_token_url": url + FIREBASE_TOKEN_PATH,
            },
        },
        "flowengine": {
            "conn_type": "flowengine",
            "host": url,
            "extra": {
                **EXTRAS,
                "engine_key": "engine-key",
                "user_id": "7",
                "headers": {"X-Access-Key": FLOWENGINE_ACCESS_KEY},
            },
        },
        "enos": {
            "conn_type": "enos",
            "host": url,
            "login": "enos-app-key",
            "password": ENOS_APP_SECRET,
            "extra": {**EXTRAS, "org_id": "o15", "user_id": "u7"},
        },
    }


def conn_id(platform: str) -> str:
    return f"malformed_{platform}"


SERVER = MalformedServer()


@dataclass
class Figures:
    generated: int = 0
    known: int = 0
    hook_calls: int = 0
    trigger_runs: int = 0
    uncaught: int = 0
    garbage_successes: int = 0
    failures: int = 0


FIGURES = Figures()


@pytest.fixture(scope="module", autouse=True)
def malformed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MalformedServer]:
    url = SERVER.start()
    saved = {}
    for platform, conn in connections(url).items():
        name = f"AIRFLOW_CONN_{conn_id(platform).upper()}"
        saved[name] = os.environ.get(name)
        os.environ[name] = json.dumps(conn)
    UPLOAD.append(tmp_path_factory.mktemp("upload") / "job.jar")
    UPLOAD[-1].write_bytes(b"PK\x03\x04 not really a jar")
    try:
        yield SERVER
    finally:
        SERVER.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        report.record(
            6,
            "Malformed replies (hypothesis)",
            f"{FIGURES.generated} generated replies (+{FIGURES.known} known bad ones) to {len(HOOK_CALLS)} "
            f"hook calls of 5 hooks and {len(TRIGGERS)} set-ups of all {len(TRIGGER_CLASSES)} triggers "
            f"({FIGURES.hook_calls} calls, {FIGURES.trigger_runs} trigger runs): "
            f"{FIGURES.uncaught} uncaught exceptions, {FIGURES.garbage_successes} success from garbage, "
            "all errors name the platform",
            "pass" if FIGURES.failures == 0 else f"FAIL: {FIGURES.failures} failing examples",
        )


UPLOAD: list[Path] = []

# -- what a legitimate success looks like, to tell it from garbage -----------------------------------


def scalar_leaves(body: bytes) -> list[Any]:
    """Every string and number inside a JSON body (none when the body is not JSON)."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return []
    leaves: list[Any] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            pending.extend(item.values())
            leaves.extend(item.keys())
        elif isinstance(item, list):
            pending.extend(item)
        elif item is not None:
            leaves.append(item)
    return leaves


def id_leaves(replies: list[Reply]) -> set[str]:
    """The values a start may legitimately return as a run id: strings and integers in the replies."""
    found: set[str] = set()
    for reply in replies:
        for leaf in scalar_leaves(reply.body):
            if isinstance(leaf, str) or (isinstance(leaf, int) and not isinstance(leaf, bool)):
                found.add(str(leaf))
    return found


ENOS_SUCCESS_CODES = {
    code for code, name in FLOW_STATUS_NAMES.items() if ENOS_STATES.classify(name) is RunState.SUCCESS
}


def success_shown(replies: list[Reply], names: Collection[str], codes: Collection[int] = ()) -> bool:
    """True when some reply really carries a success state (a name, or for EnOS flows a status code)."""
    upper = {n.upper() for n in names}
    for reply in replies:
        for leaf in scalar_leaves(reply.body):
            if isinstance(leaf, str) and leaf.upper() in upper:
                return True
            if isinstance(leaf, int) and not isinstance(leaf, bool) and leaf in codes:
                return True
    return False


# -- the hook calls ----------------------------------------------------------------------------------

ResultCheck = Callable[[Any, list[Reply]], None]


@dataclass(frozen=True)
class HookCall:
    platform: str
    name: str
    call: Callable[[Any], Any]
    check: ResultCheck | None = None
    healthy: tuple[tuple[str, Reply], ...] = ()  # paths answered well (the calls before the fuzzed one)
    shapes: tuple[int, ...] = ()  # the templates of its replies (malformed_server.TEMPLATES)


def expect_status(names: Collection[str], codes: Collection[int] = ()) -> ResultCheck:
    def check(result: Any, replies: list[Reply]) -> None:
        assert isinstance(result, RunStatus), result
        assert isinstance(result.raw_state, str)
        assert isinstance(result.state, RunState)
        assert isinstance(result.details, Mapping)
        json.dumps(dict(result.details), allow_nan=False)  # JSON, to travel in a trigger event
        assert result.progress is None or isinstance(result.progress, str)
        if result.state is RunState.SUCCESS and not success_shown(replies, names, codes):
            FIGURES.garbage_successes += 1
            raise AssertionError(f"success from garbage: {result!r}")

    return check


def expect_id(kind: type | tuple[type, ...], optional: bool = False) -> ResultCheck:
    """A start's run id (or, for FlowEngine, its run record's ``id``) must come from the reply as is."""

    def check(result: Any, replies: list[Reply]) -> None:
        if optional and result is None:
            return  # FlowEngine: the reply named no run; the operator then looks in the history
        value = result.get("id") if isinstance(result, Mapping) else result
        assert isinstance(value, kind) and not isinstance(value, bool), result
        if str(value).strip() == "" or str(value) not in id_leaves(replies):
            FIGURES.garbage_successes += 1
            raise AssertionError(f"a start accepted garbage as its run id: {result!r:.300}")

    return check


def expect_lines(result: Any, replies: list[Reply]) -> None:
    assert isinstance(result, list) and all(isinstance(line, str) for line in result), result


def expect_ref(result: Any, replies: list[Reply]) -> None:
    if result is None:
        return
    assert isinstance(result, dict) and "run_id" in result, result
    json.dumps(result)
    if str(result["run_id"]) not in id_leaves(replies):
        FIGURES.garbage_successes += 1
        raise AssertionError(f"found a run from garbage: {result!r}")


def expect_record(result: Any, replies: list[Reply]) -> None:
    assert result is None or isinstance(result, dict), result


def expect(kind: type | tuple[type, ...]) -> ResultCheck:
    def check(result: Any, replies: list[Reply]) -> None:
        assert isinstance(result, kind), result

    return check


CDAP_RUN = CdapHook.run_ref("pipe", "run-1")
CDAP_STREAM = CdapHook.run_ref("pipe", "run-1", "default", "streaming")
CDAP_SUCCESS = set(CDAP_STATES.names(RunState.SUCCESS))
DAGGY_SPEC = {"tasks": {"a": {"job": {"command": ["/bin/true"]}}}, "tag": "t"}
DAGGY_SUCCESS = set(DAGGY_STATES.names(RunState.SUCCESS))
TAILER_JOB = {
    "account": "000099",
    "environment": "PROD",
    "configuration_type": "table-to-table",
    "configuration_id": "cfg_PROD",
}
TAILER_RUN = TailerHook.run_ref(TAILER_JOB, "gbq-to-gbq|cfg_PROD", "run-1")
TAILER_LAST = TailerHook.last_status_ref(TAILER_JOB, "2024-01-01")
TAILER_SUCCESS = set(TAILER_STATES.names(RunState.SUCCESS))
FE_RUN = FlowEngineHook.run_ref(3, 42)
FE_SUCCESS = set(FLOWENGINE_STATES.names(RunState.SUCCESS))
FE_INFO = json_reply({"status": 0, "msg": "ok", "data": {"url": "/engine-7"}})
FE_PARAM = json_reply({"status": 0, "msg": "ok", "data": {"engineId": 7}})
FE_ENGINE_OK = (("/engine-manager/v1/k8s/info/$", FE_INFO), ("/kernel/v1/system/getParam$", FE_PARAM))
ENOS_STREAM = EnosHook.streaming_ref("p1", "RUNNING", time.time() + 3600)
ENOS_STOPPING = EnosHook.streaming_ref("p1", "STOPPED")
STOPPED = {"STOPPED", "PUBLISHED"}
ENOS_FLOW = EnosHook.flow_ref("inst-1")
ENOS_SUCCESS = (set(ENOS_STATES.names(RunState.SUCCESS)), ENOS_SUCCESS_CODES)


def hook_call(
    platform: str,
    name: str,
    shapes: str,
    call: Callable[[Any], Any],
    check: ResultCheck | None = None,
    healthy: tuple[tuple[str, Reply], ...] = (),
) -> HookCall:
    return HookCall(platform, name, call, check, healthy, shapes_of(platform, shapes))


# One maker per platform: hook_call with the platform filled in (and FlowEngine's engine look-up
# answered well, so that its kernel calls are the ones under test).
cdap = partial(hook_call, "cdap")
daggy = partial(hook_call, "daggy")
tailer = partial(hook_call, "tailer")
flowengine = partial(hook_call, "flowengine", healthy=FE_ENGINE_OK)
enos = partial(hook_call, "enos")


# Every call an operator, a sensor or "Test connection" makes, with the templates of its replies.
HOOK_CALLS: list[HookCall] = [
    cdap(
        "start_pipeline", "start", lambda h: h.start_pipeline("pipe", runtime_args={"a": 1}), expect_id(str)
    ),
    cdap("get_run_status", "run", lambda h: h.get_run_status(CDAP_RUN), expect_status(CDAP_SUCCESS)),
    cdap(
        "get_run_status streaming",
        "run",
        lambda h: h.get_run_status(CDAP_STREAM),
        expect_status(CDAP_SUCCESS),
    ),
    cdap("cancel_run", "", lambda h: h.cancel_run(CDAP_RUN)),
    cdap("explain_failure", "run", lambda h: h.explain_failure(CDAP_RUN, {}), expect_lines),
    cdap("find_run", "runs", lambda h: h.find_run({"pipeline_name": "pipe"}, "d/r/t/-1"), expect_ref),
    cdap("check_connection", "namespace", lambda h: h.check_connection()),
    cdap("get_run", "run", lambda h: h.get_run("pipe", "run-1"), expect(dict)),
    cdap("list_runs", "runs", lambda h: h.list_runs("pipe"), expect(list)),
    cdap("get_run_logs", "", lambda h: h.get_run_logs("pipe", "run-1"), expect(str)),
    daggy("validate_dag", "validate", lambda h: h.validate_dag(DAGGY_SPEC)),
    daggy("submit_dag", "submit", lambda h: h.submit_dag(DAGGY_SPEC), expect_id(int)),
    daggy(
        "get_run_status", "run state", lambda h: h.get_run_status({"run_id": 7}), expect_status(DAGGY_SUCCESS)
    ),
    daggy("cancel_run", "", lambda h: h.cancel_run({"run_id": 7})),
    daggy("explain_failure", "run", lambda h: h.explain_failure({"run_id": 7}, {}), expect_lines),
    daggy("find_run", "runs", lambda h: h.find_run(DAGGY_SPEC, "d/r/t/-1"), expect_ref),
    daggy("check_connection", "ready", lambda h: h.check_connection()),
    daggy("get_run_state", "state", lambda h: h.get_run_state(7), expect(str)),
    daggy("set_run_state", "", lambda h: h.set_run_state(7, "QUEUED")),
    daggy("get_task_state", "state", lambda h: h.get_task_state(7, "a"), expect(str)),
    daggy("set_task_state", "", lambda h: h.set_task_state(7, "a", "QUEUED")),
    tailer("launch_job", "launch", lambda h: h.launch_job(TAILER_JOB, "2024-01-01"), expect_id(str)),
    tailer("get_run_status", "status", lambda h: h.get_run_status(TAILER_RUN), expect_status(TAILER_SUCCESS)),
    tailer(
        "get_run_status last",
        "status",
        lambda h: h.get_run_status(TAILER_LAST),
        expect_status(TAILER_SUCCESS),
    ),
    tailer("explain_failure", "", lambda h: h.explain_failure(TAILER_RUN, {"run_id": "run-1"}), expect_lines),
    tailer("check_connection", "status", lambda h: h.check_connection()),
    tailer(
        "check_run_status", "status", lambda h: h.check_run_status(TAILER_JOB, "j", "run-1"), expect_record
    ),
    tailer("get_last_status", "status", lambda h: h.get_last_status(TAILER_JOB, limit=1), expect(list)),
    tailer("set_run_status", "ok", lambda h: h.set_run_status(TAILER_JOB, "run-1", "CHECKED"), expect(dict)),
    tailer("reset_workflow_status", "ok", lambda h: h.reset_workflow_status(TAILER_JOB), expect(dict)),
    tailer(
        "set_configuration_status", "ok", lambda h: h.set_configuration_status(TAILER_JOB, True), expect(dict)
    ),
    hook_call("flowengine", "check_connection", "info param", lambda h: h.check_connection()),
    hook_call("flowengine", "engine (id fuzzed)", "param", lambda h: h.engine(), None, FE_ENGINE_OK[:1]),
    flowengine("get_run_status", "run", lambda h: h.get_run_status(FE_RUN), expect_status(FE_SUCCESS)),
    flowengine("cancel_run", "", lambda h: h.cancel_run(FE_RUN)),
    flowengine("explain_failure", "run", lambda h: h.explain_failure(FE_RUN, {}), expect_lines),
    flowengine(
        "resolve_node_params", "pipeline", lambda h: h.resolve_node_params(3, {"reader": {}}), expect(dict)
    ),
    flowengine("run_history", "history", lambda h: h.run_history(3, 1, 20), expect(list)),
    flowengine(
        "start_pipeline", "start", lambda h: h.start_pipeline(3, {}), expect_id((str, int), optional=True)
    ),
    flowengine(
        "find_new_run", "history", lambda h: h.run(h.find_new_run_plan(3, [1], {})), expect_id((str, int))
    ),
    flowengine("get_run", "run", lambda h: h.get_run(42), expect(dict)),
    flowengine("stop_run", "", lambda h: h.stop_run(42)),
    flowengine("resume_run", "", lambda h: h.resume_run(42)),
    flowengine("create_pipeline", "pipeline", lambda h: h.create_pipeline({"name": "p"}), expect(dict)),
    flowengine("update_pipeline", "pipeline", lambda h: h.update_pipeline({"id": 3}), expect(dict)),
    flowengine("set_schedule", "", lambda h: h.set_schedule(3, True)),
    flowengine("list_pipelines", "history", lambda h: h.list_pipelines(), expect(list)),
    flowengine("upload_file", "", lambda h: h.upload_file(UPLOAD[-1])),
    enos("start_pipeline", "action", lambda h: h.start_pipeline("p1")),
    enos("stop_pipeline", "action", lambda h: h.stop_pipeline("p1")),
    enos("get_pipeline", "pipelines", lambda h: h.get_pipeline("p1"), expect(dict)),
    enos(
        "get_run_status streaming",
        "pipelines",
        lambda h: h.get_run_status(ENOS_STREAM),
        expect_status({"RUNNING"}),
    ),
    enos(
        "get_run_status stopping",
        "pipelines",
        lambda h: h.get_run_status(ENOS_STOPPING),
        expect_status(STOPPED),
    ),
    enos("cancel_run streaming", "action", lambda h: h.cancel_run(ENOS_STREAM)),
    enos("explain_failure streaming", "", lambda h: h.explain_failure(ENOS_STREAM, {}), expect_lines),
    enos("trigger_flow", "trigger", lambda h: h.trigger_flow(5, {"day": "2024-01-01"}), expect_id(str)),
    enos(
        "get_run_status flow", "instance", lambda h: h.get_run_status(ENOS_FLOW), expect_status(*ENOS_SUCCESS)
    ),
    enos("cancel_run flow", "action", lambda h: h.cancel_run(ENOS_FLOW)),
    enos("explain_failure flow", "instance", lambda h: h.explain_failure(ENOS_FLOW, {}), expect_lines),
    enos("get_flow_instance", "instance", lambda h: h.get_flow_instance("inst-1"), expect(dict)),
    enos("check_connection", "pipelines", lambda h: h.check_connection()),
    enos("get_offset_lag", "action", lambda h: h.get_offset_lag("p1")),
]

HOOK_CLASSES: dict[str, type[PipelineHook]] = {
    "cdap": CdapHook,
    "daggy": DaggyHook,
    "tailer": TailerHook,
    "flowengine": FlowEngineHook,
    "enos": EnosHook,
}
PLATFORMS = list(HOOK_CLASSES)


def new_hook(platform: str) -> PipelineHook:
    return HOOK_CLASSES[platform](conn_id=conn_id(platform))


def assert_clean(
    text: str,
    platform: str,
    named: bool = True,
    secrets: tuple[str, ...] | None = None,
    limit: int = MAX_MESSAGE,
) -> None:
    """An error text: names the platform, shows no secret of its connection, does not grow with the reply."""
    for secret in PLATFORM_SECRETS[platform] if secrets is None else secrets:
        assert secret not in text, f"secret {secret!r} in {text[:300]!r}"
    assert len(text) <= limit, f"{len(text)} characters: {text[:300]!r}..."
    if named:
        assert HOOK_CLASSES[platform].platform in text, f"the platform is not named: {text[:300]!r}"
    for guard in LAST_GUARDS:
        if guard in text:
            FIGURES.uncaught += 1
            raise AssertionError(f"only the last guard caught this: {text[:300]!r}")


def call_hook(call: HookCall, reply: Reply, token_reply: Reply | None = None) -> None:
    """One hook call against one reply: a well-formed result, or a PipelineError naming the platform.
    With a ``token_reply``, no token was issued: only the connection's own secrets are known."""
    secrets = CONNECTION_SECRETS[call.platform] if token_reply is not None else None
    SERVER.configure(reply, healthy=call.healthy, token_reply=token_reply)
    hook = new_hook(call.platform)
    served = [reply, *(good for _, good in call.healthy)]
    FIGURES.hook_calls += 1
    try:
        result = call.call(hook)
    except PipelineError as exc:
        assert_clean(str(exc), call.platform, secrets=secrets)
    except Exception as exc:
        FIGURES.uncaught += 1
        raise AssertionError(
            f"{call.platform} {call.name}: {type(exc).__name__} escaped: {exc!s:.300}"
        ) from exc
    else:
        if call.check is not None:
            call.check(result, served)
        if call.check is expect_lines:  # failure details: may quote anything but a secret
            for line in result:
                assert_clean(line, call.platform, named=False, secrets=secrets)
        if isinstance(result, RunStatus):  # its state and details travel in events and messages
            assert_clean(repr(result), call.platform, named=False, secrets=secrets, limit=3 * MAX_MESSAGE)
    finally:
        if hook._client is not None:
            hook._client.close()
    assert SERVER.api_requests <= RUNAWAY_CALLS, (
        f"{call.platform} {call.name}: {SERVER.api_requests} requests"
    )


def run_example(body: Callable[[], None], count: int = 1, known: bool = False) -> None:
    """Run one example's checks, counting its replies and whether it failed."""
    if known:
        FIGURES.known += count
    else:
        FIGURES.generated += count
    try:
        body()
    except BaseException:
        FIGURES.failures += 1
        raise


# No "explain" phase: it replays a failing example many times under a tracer, which costs minutes here.
COMMON = settings(
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
# Bodies of megabytes: a failure is reported as found, not shrunk (each replay moves megabytes).
HUGE = settings(COMMON, phases=[Phase.explicit, Phase.generate])


@pytest.mark.parametrize("platform", PLATFORMS)
@settings(COMMON, max_examples=20)
@given(data=st.data())
def test_every_hook_call_survives_a_malformed_reply(platform: str, data: st.DataObject) -> None:
    """Each call of the platform gets its own malformed reply, most of them shaped like its endpoint's."""
    calls = [call for call in HOOK_CALLS if call.platform == platform]
    drawn = [(call, data.draw(replies(platform, call.shapes), label=call.name)) for call in calls]

    def body() -> None:
        for call, reply in drawn:
            call_hook(call, reply)

    run_example(body, len(drawn))


@settings(HUGE, max_examples=4)
@given(data=st.data())
def test_huge_replies_give_a_short_error(data: st.DataObject) -> None:
    wanted = {
        "start_pipeline",
        "submit_dag",
        "launch_job",
        "trigger_flow",
        "get_run_status",
        "validate_dag",
        "get_run_status flow",
        "get_run_status streaming",
    }
    reply_for = {p: data.draw(huge_replies(p), label=p) for p in PLATFORMS}

    def body() -> None:
        for call in HOOK_CALLS:
            if call.name in wanted:
                call_hook(call, reply_for[call.platform])

    run_example(body, len(reply_for))


@pytest.mark.parametrize("platform", ["tailer", "enos"])
@settings(COMMON, max_examples=15)
@given(data=st.data())
def test_malformed_token_replies(platform: str, data: st.DataObject) -> None:
    """The token endpoints answer garbage too: the hook still fails with the provider's error."""
    token_reply = data.draw(replies(platform), label="token reply")
    names = {"get_run_status", "get_run_status flow", "launch_job", "trigger_flow", "explain_failure flow"}
    calls = [c for c in HOOK_CALLS if c.platform == platform and c.name in names]

    def body() -> None:
        for call in calls:
            call_hook(call, API_DOWN, token_reply)

    run_example(body)


# -- replies that broke the provider once: replayed on every run ---------------------------------------


@dataclass(frozen=True)
class Known:
    label: str
    platform: str
    reply: Reply
    token_reply: Reply | None = None


DEEP = "[" * 100_000
NOT_JSON_NUMBERS = Reply(
    200, "application/json", b'{"status": "FAILED", "runid": "run-1", "start": NaN, "end": -Infinity}'
)


def state_reply(platform: str, state: str) -> Reply:
    """A run record in the platform's shape whose state (and one detail) is ``state``."""
    records = {
        "cdap": {"status": state, "runid": "run-1", "start": state},
        "daggy": {"dagStateChanges": [{"state": state}], "taskStates": {"a": state}},
        "tailer": {"results": [{"status": state, "run_id": "run-1", "duration": state}]},
        "flowengine": {"status": 0, "data": {"status": state, "nodes": [{"status": "x"}]}},
        "enos": {
            "code": 0,
            "data": {"status": state, "count": 1, "pipelines": [{"pipelineId": "p1", "status": state}]},
        },
    }
    return json_reply(records[platform])


SECRET_STATE_REPLIES = {p: state_reply(p, PLATFORM_SECRETS[p][0]) for p in PLATFORM_SECRETS}
MEGA_STATE_REPLIES = {p: state_reply(p, "RUNNING? " * 120_000) for p in PLATFORM_SECRETS}  # about 1 MB
KNOWN = [
    Known(
        "cdap run properties not an object",
        "cdap",
        json_reply([{"runid": "run-1", "properties": ["runtimeArgs"]}]),
    ),
    Known("cdap run id a list", "cdap", json_reply([{"runId": ["run-1"], "statusCode": 200}])),
    Known(
        "cdap statusCode a superscript digit",
        "cdap",
        json_reply([{"runId": "run-1", "statusCode": "\u00b2"}]),
    ),
    Known(
        "cdap runtimeArgs nested too deep",
        "cdap",
        json_reply([{"runid": "run-1", "properties": {"runtimeArgs": DEEP}}]),
    ),
    Known(
        "daggy state changes an object",
        "daggy",
        json_reply({"dagStateChanges": {"state": "COMPLETED"}, "taskStates": ["a"], "taskAttempts": ["a"]}),
    ),
    Known(
        "daggy attempts an object",
        "daggy",
        json_reply({"taskStates": {"a": "ERRORED"}, "taskAttempts": {"a": {"rc": 1}}}),
    ),
    Known("daggy runID a superscript digit", "daggy", json_reply({"runID": "\u00b2", "valid": True})),
    Known("daggy runID a word", "daggy", json_reply([{"runID": "seven", "tag": "t [airflow:d/r/t/-1]"}])),
    Known("tailer code a superscript digit", "tailer", json_reply({"code": "\u00b2", "message": "x"})),
    Known("tailer run_id an object", "tailer", json_reply({"run_id": {"id": "run-1"}})),
    Known("tailer text nested too deep", "tailer", Reply(200, "text/plain", DEEP.encode())),
    Known("flowengine engine info a list", "flowengine", json_reply({"status": 0, "data": ["url"]})),
    Known(
        "flowengine fields of the wrong type",
        "flowengine",
        json_reply(
            {
                "status": 0,
                "data": {
                    "id": [43],
                    "status": "running",
                    "nodes": 5,
                    "data": ["nodes"],
                    "list": [{"id": {"x": 1}}],
                    "url": {"path": "/e"},
                    "engineId": [7],
                },
            }
        ),
    ),
    Known("flowengine huge message", "flowengine", json_reply({"status": 1, "msg": "x" * 2_000_000})),
    Known(
        "enos fields of the wrong type",
        "enos",
        json_reply(
            {
                "code": 0,
                "data": {
                    "status": True,
                    "graph": ["t"],
                    "count": "many",
                    "pipelines": {"p1": {}},
                    "flowInstanceId": ["inst-1"],
                },
            }
        ),
    ),
    Known("enos status a fraction", "enos", json_reply({"code": 0, "data": {"status": 1.9}})),
    Known("enos code infinite", "enos", Reply(200, "application/json", b'{"code": Infinity, "data": null}')),
    Known(
        "enos pages that never end",
        "enos",
        json_reply(
            {"code": 0, "data": {"count": 10**9, "pipelines": [{"pipelineId": "other", "status": "RUNNING"}]}}
        ),
    ),
    Known(
        "enos message with the app secret",
        "enos",
        json_reply({"code": 61100, "msg": f"bad: {ENOS_APP_SECRET}"}),
    ),
    *[Known(f"{p} a secret as the state", p, SECRET_STATE_REPLIES[p]) for p in PLATFORMS],
    *[Known(f"{p} a state of a megabyte", p, MEGA_STATE_REPLIES[p]) for p in PLATFORMS],
    Known("cdap numbers JSON cannot carry", "cdap", NOT_JSON_NUMBERS),
    *[
        Known(f"{p} reply cut off", p, Reply(200, "application/json", b'{"status": "RUN', delivery="short"))
        for p in PLATFORMS
    ],
    *[
        Known(f"{p} lying gzip", p, Reply(200, "application/json", b"{}", delivery="bad-gzip"))
        for p in PLATFORMS
    ],
    *[
        Known(f"{p} JSON nested too deep", p, Reply(200, "application/json", DEEP.encode()))
        for p in PLATFORMS
    ],
    *[
        Known(f"{p} error nested too deep", p, Reply(500, "application/json", DEEP.encode()))
        for p in PLATFORMS
    ],
    Known(
        "tailer token of the wrong type",
        "tailer",
        API_DOWN,
        json_reply({"id_token": ["x"], "expires_in": "soon"}),
    ),
    Known(
        "tailer token refused at length",
        "tailer",
        API_DOWN,
        json_reply({"error": {"message": "no " * 50_000}}, 400),
    ),
    Known("enos token data a list", "enos", API_DOWN, json_reply({"status": 0, "data": ["accessToken"]})),
    Known(
        "enos token expiry a word",
        "enos",
        API_DOWN,
        json_reply({"status": 0, "data": {"accessToken": "t-1", "expire": "later"}}),
    ),
    Known("enos token nested too deep", "enos", API_DOWN, Reply(200, "application/json", DEEP.encode())),
]


@pytest.mark.parametrize("known", KNOWN, ids=[k.label for k in KNOWN])
def test_known_malformed_replies(known: Known) -> None:
    """Each reply once found a bug (a raw exception, a success from garbage, a leak, a loop)."""

    def body() -> None:
        for call in HOOK_CALLS:
            if call.platform == known.platform:
                call_hook(call, known.reply, known.token_reply)

    run_example(body, known=True)


# -- the triggers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TriggerCase:
    name: str
    platform: str
    trigger_class: type[PipelineRunTrigger]
    run_ref: Mapping[str, Any]
    success: Collection[str]
    codes: Collection[int] = ()
    shapes: str = ""
    healthy: tuple[tuple[str, Reply], ...] = ()


TRIGGERS = [
    TriggerCase("cdap batch", "cdap", CdapPipelineRunTrigger, CDAP_RUN, CDAP_SUCCESS, shapes="run"),
    TriggerCase("cdap streaming", "cdap", CdapPipelineRunTrigger, CDAP_STREAM, {"RUNNING"}, shapes="run"),
    TriggerCase("daggy", "daggy", DaggyRunTrigger, {"run_id": 7}, DAGGY_SUCCESS, shapes="run state"),
    TriggerCase("tailer run", "tailer", TailerJobRunTrigger, TAILER_RUN, TAILER_SUCCESS, shapes="status"),
    TriggerCase("tailer latest", "tailer", TailerJobRunTrigger, TAILER_LAST, TAILER_SUCCESS, shapes="status"),
    TriggerCase(
        "flowengine engine", "flowengine", FlowEnginePipelineRunTrigger, FE_RUN, FE_SUCCESS, shapes="info"
    ),
    TriggerCase(
        "flowengine run",
        "flowengine",
        FlowEnginePipelineRunTrigger,
        FE_RUN,
        FE_SUCCESS,
        (),
        "run",
        FE_ENGINE_OK,
    ),
    TriggerCase(
        "enos streaming", "enos", EnosStreamingPipelineTrigger, ENOS_STREAM, {"RUNNING"}, shapes="pipelines"
    ),
    TriggerCase("enos flow", "enos", EnosFlowInstanceTrigger, ENOS_FLOW, *ENOS_SUCCESS, shapes="instance"),
]
TRIGGER_CLASSES = {case.trigger_class for case in TRIGGERS}
EVENT_KINDS = {"success", "failed", "timeout", "error"}


async def drive(trigger: PipelineRunTrigger) -> tuple[list[Any], BaseException | None, int, bool]:
    """Run a trigger as the triggerer does, with another coroutine ticking beside it."""
    ticks = 0
    stop = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.002)

    beat = asyncio.create_task(heartbeat())
    events: list[Any] = []
    error: BaseException | None = None
    try:
        async for event in trigger.run():
            events.append(event)
    except Exception as exc:
        error = exc
    await asyncio.sleep(0.005)
    alive = not beat.done()
    stop.set()
    await beat
    return events, error, ticks, alive


def run_trigger(case: TriggerCase, reply: Reply) -> None:
    SERVER.configure(reply, healthy=case.healthy)
    now = time.time()
    trigger = case.trigger_class(
        conn_id(case.platform),
        dict(case.run_ref),
        poll_interval=0.02,
        deadline=now + 0.15,
        not_found_until=now + 0.04,
    )
    FIGURES.trigger_runs += 1
    events, error, ticks, alive = asyncio.run(asyncio.wait_for(drive(trigger), timeout=60))
    if error is not None:
        FIGURES.uncaught += 1
        raise AssertionError(
            f"{case.name}: the trigger raised {type(error).__name__}: {error!s:.300}"
        ) from error
    assert alive and ticks > 0, "the event loop stopped serving other coroutines"
    assert len(events) == 1, f"{case.name}: {len(events)} events"
    payload = events[0].payload
    json.dumps(payload, allow_nan=False)  # strict JSON: the triggerer stores it
    assert payload["status"] in EVENT_KINDS, payload
    assert payload["run"]["run_id"] == case.run_ref["run_id"]
    assert_clean(json.dumps(payload), case.platform)
    assert_clean(str(payload["message"]), case.platform)
    if payload["status"] == "success":
        served = [reply, *(good for _, good in case.healthy)]
        if not success_shown(served, case.success, case.codes):
            FIGURES.garbage_successes += 1
            raise AssertionError(f"{case.name}: success from garbage: {payload!r:.500}")
    assert SERVER.api_requests <= RUNAWAY_CALLS * 4, f"{case.name}: {SERVER.api_requests} requests"


@pytest.mark.parametrize("case", TRIGGERS, ids=[c.name for c in TRIGGERS])
@settings(COMMON, max_examples=12)
@given(data=st.data())
def test_every_trigger_ends_with_one_clear_event(case: TriggerCase, data: st.DataObject) -> None:
    reply = data.draw(replies(case.platform, shapes_of(case.platform, case.shapes)), label="reply")
    run_example(lambda: run_trigger(case, reply))


@settings(HUGE, max_examples=2)
@given(data=st.data())
def test_triggers_survive_huge_replies(data: st.DataObject) -> None:
    reply_for = {p: data.draw(huge_replies(p), label=p) for p in PLATFORMS}

    def body() -> None:
        for case in TRIGGERS:
            run_trigger(case, reply_for[case.platform])

    run_example(body, len(reply_for))


WRONG_FIELDS = {k.platform: k.reply for k in KNOWN if k.label.endswith("fields of the wrong type")}
TRIGGER_KNOWN = [
    (case, label, reply)
    for case in TRIGGERS
    for label, reply in (
        ("nested too deep", Reply(200, "application/json", DEEP.encode())),
        (
            "fields of the wrong type",
            WRONG_FIELDS.get(case.platform, json_reply({"status": True, "results": [[]]})),
        ),
        ("a secret as the state", SECRET_STATE_REPLIES[case.platform]),
        ("a state of a megabyte", MEGA_STATE_REPLIES[case.platform]),
    )
]
TRIGGER_KNOWN.append((TRIGGERS[0], "numbers JSON cannot carry", NOT_JSON_NUMBERS))


@pytest.mark.parametrize(
    "case, label, reply", TRIGGER_KNOWN, ids=[f"{case.name}: {label}" for case, label, _ in TRIGGER_KNOWN]
)
def test_known_malformed_replies_in_triggers(case: TriggerCase, label: str, reply: Reply) -> None:
    run_example(lambda: run_trigger(case, reply), known=True)


def test_every_trigger_class_is_covered() -> None:
    import importlib
    import inspect
    import pkgutil

    import airflow_provider_pipelines.triggers as package

    found = set()
    for module in pkgutil.iter_modules(package.__path__):
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, PipelineRunTrigger) and cls is not PipelineRunTrigger:
                found.add(cls)
    assert found == TRIGGER_CLASSES
    assert {c.platform for c in HOOK_CALLS} == set(PLATFORMS)
