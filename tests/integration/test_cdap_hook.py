"""CdapHook over real HTTP against the CDAP emulator: calls, errors, retries, auth and path safety."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from typing import Any
from urllib.parse import quote, unquote

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError
from airflow_provider_pipelines.core.states import RunState
from airflow_provider_pipelines.emulators.cdap import CdapEmulatorHandle
from airflow_provider_pipelines.hooks.cdap import MARKER_ARG, CdapHook, runtime_args_of

FAST_RETRIES = {"retry_initial_wait": 0.01, "retry_max_wait": 0.05}
BATCH = "workflows/DataPipelineWorkflow"
STREAMING = "spark/DataStreamsSparkStreaming"


def connect(
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    *,
    password: str | None = None,
    conn_id: str = "cdap_default",
    **extras: Any,
) -> CdapHook:
    """Point an environment connection at ``host`` and return a fresh hook on it."""
    conn: dict[str, Any] = {"conn_type": "cdap", "host": host, "extra": {**FAST_RETRIES, **extras}}
    if password is not None:
        conn["password"] = password
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return CdapHook(cdap_conn_id=conn_id)


def run_path(name: str, run_id: str, *rest: str, program: str = BATCH, ns: str = "default") -> str:
    segments = "/".join(quote(s, safe="") for s in (name, *program.split("/"), "runs", run_id, *rest))
    return f"/v3/namespaces/{quote(ns, safe='')}/apps/{segments}"


def wait_for_status(
    hook: CdapHook, name: str, run_id: str, wanted: str, timeout: float = 5.0, **kwargs: Any
) -> list[str]:
    """Poll until the run is in ``wanted``; return the distinct statuses seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        status = hook.get_run(name, run_id, **kwargs)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == wanted:
            return seen
        assert time.monotonic() < deadline, f"{name} never reached {wanted}: saw {seen}"
        time.sleep(0.02)


def instant(cdap: CdapEmulatorHandle, name: str, **behaviour: Any) -> None:
    """Make runs of ``name`` reach their outcome as soon as they start."""
    cdap.configure_pipeline(name, pending_seconds=0, starting_seconds=0, running_seconds=0, **behaviour)


# -- the calls ------------------------------------------------------------------------------------------


def test_start_returns_run_id_and_run_progresses_to_completed(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    run_id = hook.start_pipeline("sales", runtime_args={"day": "2024-01-01", "batch": 3})

    record = hook.get_run("sales", run_id)
    assert record["runid"] == run_id
    assert runtime_args_of(record)["day"] == "2024-01-01"
    assert runtime_args_of(record)["batch"] == "3"  # runtime args travel as strings

    seen = wait_for_status(hook, "sales", run_id, "COMPLETED")
    assert seen == ["PENDING", "STARTING", "RUNNING", "COMPLETED"]

    status = hook.get_run_status(hook.run_ref("sales", run_id))
    assert status.state is RunState.SUCCESS
    assert status.raw_state == "COMPLETED"
    assert {"starting", "start", "end"} <= set(status.details)

    stats = cdap.stats()
    assert stats["starts"] == 1
    assert stats["program_level_starts"] == 0  # the batch start, the only one that returns a run id
    assert stats["requests"]["POST start"] == 1


def test_hook_keeps_one_http_session(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    run_id = hook.start_pipeline("sales")
    for _ in range(4):
        hook.get_run("sales", run_id)
    hook.list_runs("sales")
    stats = cdap.stats()
    assert sum(stats["client_ports"].values()) == 6
    assert len(stats["client_ports"]) == 1  # every call went over the same kept-alive connection


def test_list_runs_filters_and_limit(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    instant(cdap, "daily")
    done = hook.start_pipeline("daily")
    cdap.configure_pipeline("daily", running_seconds=60)
    older, newer = hook.start_pipeline("daily"), hook.start_pipeline("daily")
    wait_for_status(hook, "daily", newer, "RUNNING")

    assert [r["runid"] for r in hook.list_runs("daily")] == [newer, older, done]  # newest first
    assert [r["runid"] for r in hook.list_runs("daily", status="COMPLETED")] == [done]
    assert [r["runid"] for r in hook.list_runs("daily", status="RUNNING")] == [newer, older]
    assert [r["runid"] for r in hook.list_runs("daily", limit=2)] == [newer, older]
    assert "limit=2" in cdap.stats()["last_requests"][-1]

    now = int(time.time())
    assert len(hook.list_runs("daily", start=now - 60, end=now + 60)) == 3
    assert hook.list_runs("daily", start=now + 3600) == []
    assert hook.list_runs("daily", end=now - 3600) == []
    assert hook.list_runs("other_pipeline") == []


def test_run_logs_and_failure_explanation(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    instant(cdap, "nightly_fail")
    run_id = hook.start_pipeline("nightly_fail")
    assert hook.get_run("nightly_fail", run_id)["status"] == "FAILED"

    logs = hook.get_run_logs("nightly_fail", run_id)
    assert "Pipeline 'nightly_fail' failed." in logs
    assert "Simulated failure in stage 'Wrangler'" in logs
    assert "format=text" in cdap.stats()["last_requests"][-1]

    ref = hook.run_ref("nightly_fail", run_id)
    assert hook.get_run_status(ref).state is RunState.FAILED
    lines = hook.explain_failure(ref)
    assert lines[-1].endswith("Pipeline 'nightly_fail' failed.")
    assert 0 < len(lines) <= hook.failure_log_lines

    # Explaining never raises: a failure that cannot be explained must not hide the failure.
    unknown = hook.explain_failure(hook.run_ref("nightly_fail", "no-such-run"))
    assert len(unknown) == 1
    assert unknown[0].startswith("(could not fetch failure details: CDAP read run logs failed (HTTP 404)")


def test_stop_run_stops_that_run_only(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    keep = hook.start_pipeline("long_job")
    stop = hook.start_pipeline("long_job")

    hook.stop_run("long_job", stop)
    assert wait_for_status(hook, "long_job", stop, "KILLED")[-1] == "KILLED"
    assert hook.get_run("long_job", keep)["status"] in ("PENDING", "STARTING", "RUNNING")
    assert hook.get_run_status(hook.run_ref("long_job", stop)).state is RunState.FAILED

    stats = cdap.stats()
    assert stats["run_stops"] == {f"default/long_job/{stop}": 1}
    assert stats["program_level_stops"] == 0
    assert f"POST {run_path('long_job', stop, 'stop')}" in stats["last_requests"]

    # CDAP answers 400 to stopping a run that has ended: reported, and not retried...
    with pytest.raises(PipelineApiError) as info:
        hook.stop_run("long_job", stop)
    assert info.value.status == 400
    assert info.value.call == "stop run"
    assert "is not running" in str(info.value)
    assert cdap.stats()["requests"]["POST stop_run"] == 2
    # ...and what tasks use to stop a run reads it then: a run that is over needs no stop.
    assert hook.cancel_run(hook.run_ref("long_job", stop)) == "KILLED"
    assert cdap.stats()["requests"]["POST stop_run"] == 3


def test_streaming_pipeline_stays_running_and_stops(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    stream = hook.start_pipeline("events_stream", pipeline_type="streaming")
    batch = hook.start_pipeline("events_batch")  # same timings: it completes while the stream runs on

    wait_for_status(hook, "events_batch", batch, "COMPLETED")
    assert hook.get_run("events_stream", stream, pipeline_type="streaming")["status"] == "RUNNING"
    ref = hook.run_ref("events_stream", stream, pipeline_type="streaming")
    assert hook.get_run_status(ref).state is RunState.RUNNING
    assert [r["runid"] for r in hook.list_runs("events_stream", pipeline_type="streaming")] == [stream]

    hook.cancel_run(ref)
    wait_for_status(hook, "events_stream", stream, "KILLED", pipeline_type="streaming")
    stats = cdap.stats()
    assert f"POST {run_path('events_stream', stream, 'stop', program=STREAMING)}" in stats["last_requests"]
    assert stats["run_stops"] == {f"default/events_stream/{stream}": 1}
    assert stats["program_level_stops"] == 0

    with pytest.raises(ValueError, match="pipeline_type must be 'batch' or 'streaming'"):
        hook.get_run("events_stream", stream, pipeline_type="realtime")


def test_per_item_start_error_names_cdap_call_status_and_message(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    with pytest.raises(PipelineApiError) as info:
        hook.start_pipeline("orders_missing")
    error = info.value
    assert not isinstance(error, KeyError)
    assert (error.platform, error.call, error.status) == ("CDAP", "start pipeline", 404)
    assert "App: orders_missing not found" in error.message
    assert (
        str(error) == "CDAP start pipeline failed (HTTP 404): orders_missing: App: orders_missing not found"
    )

    cdap.configure_pipeline("orders", start_error={"statusCode": 409, "error": "Program is busy"})
    with pytest.raises(PipelineApiError) as info:
        hook.start_pipeline("orders")
    assert info.value.status == 409
    assert "Program is busy" in str(info.value)

    stats = cdap.stats()
    assert stats["starts"] == 0
    assert stats["requests"]["POST start"] == 2  # an HTTP 200 reply: never retried


def test_data_fusion_api_prefix(cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = connect(monkeypatch, cdap.api_url + "/")
    ok, message = hook.test_connection()
    assert ok and message.startswith("CDAP connection works: read namespace default"), message
    instant(cdap, "sales")
    run_id = hook.start_pipeline("sales")
    assert hook.get_run("sales", run_id)["status"] == "COMPLETED"
    paths = cdap.stats()["last_paths"]
    assert paths == [
        "/api/v3/namespaces/default",
        "/api/v3/namespaces/default/start",
        "/api" + run_path("sales", run_id),
    ]
    # The UI link drops Data Fusion's /api.
    assert hook.pipeline_ui_url("sales") == f"{cdap.url}/pipelines/ns/default/view/sales"


def test_find_run_by_marker(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    first = hook.start_pipeline("daily", runtime_args={MARKER_ARG: "dag.task.2024-01-01.1"})
    second = hook.start_pipeline("daily", runtime_args={MARKER_ARG: "dag.task.2024-01-02.1", "x": "y"})
    hook.start_pipeline("daily")

    spec = {"pipeline_name": "daily"}
    assert hook.find_run(spec, "dag.task.2024-01-01.1") == hook.run_ref("daily", first)
    assert hook.find_run(spec, "dag.task.2024-01-02.1") == hook.run_ref("daily", second)
    assert hook.find_run(spec, "dag.task.2024-01-03.1") is None
    assert hook.find_run({"pipeline_name": "never_started"}, "dag.task.2024-01-01.1") is None


# -- auth and secrets -----------------------------------------------------------------------------------


def test_bearer_token(cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "s3cret-bearer-token-value"
    cdap.config.token = token

    hook = connect(monkeypatch, cdap.url, password=token)
    ok, message = hook.test_connection()
    assert ok and message.startswith("CDAP connection works: read namespace default"), message
    run_id = hook.start_pipeline("sales")
    assert hook.get_run("sales", run_id)["runid"] == run_id

    wrong = "wrong-token-0123456789"
    bad = connect(monkeypatch, cdap.url, password=wrong, conn_id="cdap_wrong")
    before = cdap.stats()["requests"].get("GET get_run", 0)
    with pytest.raises(PipelineApiError) as info:
        bad.get_run("sales", run_id)
    assert info.value.status == 401
    assert "Unauthorized: invalid bearer token" in str(info.value)
    assert wrong not in str(info.value)
    assert cdap.stats()["requests"]["GET get_run"] == before + 1  # a fixed token: no second try

    ok, message = bad.test_connection()
    assert not ok
    assert "HTTP 401" in message
    assert wrong not in message

    for shown in (repr(hook), repr(hook.client), repr(hook.client.auth), repr(hook.client.settings)):
        assert token not in shown


def test_server_text_echoing_the_token_is_redacted(
    cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "s3cret-bearer-token-value"
    cdap.config.token = token
    hook = connect(monkeypatch, cdap.url, password=token)
    cdap.add_fault("GET", r"/namespaces/default$", 403, body=f"token {token} may not read namespace default")
    with pytest.raises(PipelineApiError) as info:
        hook.check_connection()
    assert info.value.status == 403
    assert token not in str(info.value)
    assert "token *** may not read namespace default" in str(info.value)


def test_connection_without_host_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = connect(monkeypatch, "")
    ok, message = hook.test_connection()
    assert not ok
    # "Test" runs under a temporary connection id in Airflow's UI: the message names the problem only.
    assert message == "CDAP connection is not usable: the connection has no host: " + (
        "set it to the API's base URL"
    )


def test_test_connection_reports_server_errors(
    cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = connect(monkeypatch, cdap.url, retry_attempts=2)
    cdap.add_fault("GET", r"/namespaces/default$", 503, times=2)
    ok, message = hook.test_connection()
    assert not ok
    assert message.startswith("CDAP get namespace failed (HTTP 503)")
    ok, message = hook.test_connection()
    assert ok and message.startswith("CDAP connection works: read namespace default"), message


# -- retries --------------------------------------------------------------------------------------------


def test_5xx_then_success_on_a_read(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    run_id = hook.start_pipeline("sales")
    cdap.add_fault("GET", r"/runs/[^/]+$", 503, times=2)
    assert hook.get_run("sales", run_id)["runid"] == run_id
    stats = cdap.stats()
    assert stats["requests"]["GET get_run"] == 3
    assert stats["faults_injected"] == {"503": 2}


def test_5xx_beyond_the_attempts_fails_with_the_last_error(
    cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = connect(monkeypatch, cdap.url, retry_attempts=3)
    cdap.add_fault("GET", r"/runs/[^/]+$", 502, times=5)
    with pytest.raises(PipelineApiError) as info:
        hook.get_run("sales", "any")
    assert info.value.status == 502
    assert info.value.retryable
    assert cdap.stats()["requests"]["GET get_run"] == 3


def test_429_retry_after_is_honoured(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    run_id = hook.start_pipeline("sales")
    cdap.add_fault("GET", r"/runs/[^/]+$", 429, retry_after=0.3)
    started = time.monotonic()
    assert hook.get_run("sales", run_id)["runid"] == run_id
    waited = time.monotonic() - started
    assert 0.3 <= waited < 2.0  # the backoff alone (<= 0.05 s) would be far shorter
    assert cdap.stats()["requests"]["GET get_run"] == 2


def test_429_asking_too_long_a_wait_gives_up_at_once(
    cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = connect(monkeypatch, cdap.url, retry_max_retry_after=1)
    cdap.add_fault("GET", r"/runs/[^/]+$", 429, retry_after=30)
    started = time.monotonic()
    with pytest.raises(PipelineApiError) as info:
        hook.get_run("sales", "any")
    assert time.monotonic() - started < 1.0
    assert (info.value.status, info.value.retry_after) == (429, 30.0)
    assert cdap.stats()["requests"]["GET get_run"] == 1


def test_400_is_not_retried(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    cdap.add_fault("GET", r"/runs$", 400, body='{"message": "Invalid value for status"}')
    with pytest.raises(PipelineApiError) as info:
        hook.list_runs("sales", status="BOGUS")
    assert (info.value.status, info.value.message, info.value.retryable) == (
        400,
        "Invalid value for status",
        False,
    )
    assert cdap.stats()["requests"]["GET list_runs"] == 1


def test_start_is_retried_only_when_the_server_surely_did_nothing(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    # 503 and 429 mean "not processed": the start is repeated, and runs once.
    cdap.add_fault("POST", r"/start$", 503)
    cdap.add_fault("POST", r"/start$", 429, retry_after=0.01)
    run_id = hook.start_pipeline("sales")
    stats = cdap.stats()
    assert stats["requests"]["POST start"] == 3
    assert stats["starts"] == 1
    assert cdap.runs(app="sales")[0]["runid"] == run_id

    # A 500 may have come after the run was created: repeating it could start a second run.
    cdap.add_fault("POST", r"/start$", 500)
    with pytest.raises(PipelineApiError) as info:
        hook.start_pipeline("sales")
    assert info.value.status == 500
    assert info.value.retryable
    assert cdap.stats()["requests"]["POST start"] == 4


def test_dropped_connection_on_start_is_not_retried_blindly(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    cdap.add_fault("POST", r"/start$", "drop")
    with pytest.raises(PipelineApiError) as info:
        hook.start_pipeline("sales")
    error = info.value
    assert error.status is None
    assert error.retryable  # worth trying later, once the caller has checked what happened
    assert error.sent  # the request went out: the server may have acted on it
    assert "no reply" in str(error)
    stats = cdap.stats()
    assert stats["requests"]["POST start"] == 1
    assert stats["starts"] == 0


def test_dropped_connection_on_a_read_is_retried(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    run_id = hook.start_pipeline("sales")
    cdap.add_fault("GET", r"/runs/[^/]+$", "drop")
    assert hook.get_run("sales", run_id)["runid"] == run_id
    assert cdap.stats()["requests"]["GET get_run"] == 2


def test_refused_connection_is_retried_even_for_a_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = connect(monkeypatch, f"http://127.0.0.1:{port}", retry_attempts=3)
    caplog.set_level(logging.WARNING, logger="airflow_provider_pipelines.core.http")
    with pytest.raises(PipelineApiError) as info:
        hook.start_pipeline("sales")
    assert (info.value.status, info.value.sent, info.value.retryable) == (None, False, True)
    retries = [
        r for r in caplog.records if "start pipeline" in r.getMessage() and "retrying" in r.getMessage()
    ]
    assert len(retries) == 2  # 3 attempts: never reached the server, so repeating is safe


def test_malformed_reply_on_a_read_is_retried(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    run_id = hook.start_pipeline("sales")
    cdap.add_fault("GET", r"/runs/[^/]+$", "malformed")
    assert hook.get_run("sales", run_id)["runid"] == run_id
    assert cdap.stats()["requests"]["GET get_run"] == 2


def test_malformed_reply_to_a_start_is_not_retried(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    cdap.add_fault("POST", r"/start$", "malformed")
    with pytest.raises(PipelineApiError) as info:
        hook.start_pipeline("sales")
    assert "the reply is not valid JSON" in str(info.value)
    assert "502 Bad Gateway" in str(info.value)
    assert "<html>" not in str(info.value)
    assert cdap.stats()["requests"]["POST start"] == 1


def test_read_timeout_on_start_is_not_retried(
    cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = connect(monkeypatch, cdap.url, timeout=0.2)
    cdap.add_fault("POST", r"/start$", "slow", seconds=0.4)
    with pytest.raises(PipelineApiError) as info:
        hook.start_pipeline("sales")
    assert info.value.status is None
    assert "timed out" in str(info.value)
    assert cdap.stats()["requests"]["POST start"] == 1
    # The slow server did start the run after the client gave up: a blind retry would have made two.
    deadline = time.monotonic() + 2
    while cdap.stats()["starts"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cdap.stats()["starts"] == 1


def test_reply_larger_than_max_reply_bytes(cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = connect(monkeypatch, cdap.url, max_reply_bytes=4000)
    run_id = hook.start_pipeline("sales", runtime_args={"pad": "x" * 10_000})
    with pytest.raises(PipelineApiError) as info:
        hook.get_run("sales", run_id)
    assert str(info.value) == "CDAP get run failed (HTTP 200): the reply is larger than 4000 bytes"
    assert cdap.stats()["requests"]["GET get_run"] == 1

    async def read_async() -> None:
        async with hook.async_client() as client:
            await hook.aget_run_status(hook.run_ref("sales", run_id), client)

    with pytest.raises(PipelineApiError, match="the reply is larger than 4000 bytes"):
        asyncio.run(read_async())


def test_large_replies_are_read_whole_by_both_clients(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    pad = "x" * 900_000  # a reply that arrives in many reads (the emulator takes bodies up to 1 MiB)
    run_id = hook.start_pipeline("sales", runtime_args={"pad": pad})
    assert runtime_args_of(hook.get_run("sales", run_id))["pad"] == pad

    async def read_async() -> dict[str, Any]:
        async with hook.async_client() as client:
            return await hook.arun(hook.get_run_plan("sales", run_id), client)

    assert runtime_args_of(asyncio.run(read_async()))["pad"] == pad
    assert cdap.stats()["requests"]["GET get_run"] == 2


# -- path safety ----------------------------------------------------------------------------------------

ODD_NAME = "sales/../eu?x=1#frag%20 é"
ODD_NAMESPACE = "team space/ü"
ODD_RUN_ID = "r/../x?y=1#z%2F é"


def test_odd_names_reach_exactly_one_path_segment(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    run_id = hook.start_pipeline(ODD_NAME, namespace=ODD_NAMESPACE)
    assert cdap.runs(ODD_NAMESPACE, ODD_NAME)[0]["runid"] == run_id

    assert hook.get_run(ODD_NAME, run_id, namespace=ODD_NAMESPACE)["runid"] == run_id
    expected = run_path(ODD_NAME, run_id, ns=ODD_NAMESPACE)
    assert cdap.stats()["last_paths"][-1] == expected
    assert expected.count("/") == 9  # /v3/namespaces/ns/apps/name/workflows/program/runs/id

    async def read_async() -> str:
        async with hook.async_client() as client:
            ref = hook.run_ref(ODD_NAME, run_id, namespace=ODD_NAMESPACE)
            return (await hook.aget_run_status(ref, client)).raw_state

    assert asyncio.run(read_async()) in ("PENDING", "STARTING", "RUNNING", "COMPLETED")
    # aiohttp (yarl) may re-quote characters that need no quoting ("%3D" -> "="), never "/", "?", "#", "%".
    sent = cdap.stats()["last_paths"][-1].split("/")
    assert [unquote(s) for s in sent] == [unquote(s) for s in expected.split("/")]
    assert [unquote(s) for s in sent][3:6] == [ODD_NAMESPACE, "apps", ODD_NAME]


def test_odd_run_id_is_one_segment_and_decoded_whole(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    with pytest.raises(PipelineApiError) as info:
        hook.get_run("sales", ODD_RUN_ID)
    assert info.value.status == 404
    assert f"'runid' '{ODD_RUN_ID}' not found." in str(info.value)  # the server saw the whole id
    assert cdap.stats()["last_paths"][-1] == run_path("sales", ODD_RUN_ID)

    with pytest.raises(PipelineApiError, match="HTTP 404"):
        hook.get_run_logs("sales", ODD_RUN_ID)
    assert cdap.stats()["last_paths"][-1].startswith(run_path("sales", ODD_RUN_ID, "logs") + "?")


def test_empty_segments_are_refused_before_sending(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    with pytest.raises(ValueError, match="is not a valid path segment"):
        hook.get_run("sales", "")
    with pytest.raises(ValueError, match="is not a valid path segment"):
        hook.get_run("", "run-1")
    with pytest.raises(ValueError, match="is not a valid path segment"):
        hook.stop_run("sales", "")
    assert cdap.stats()["requests"] == {}


@pytest.mark.parametrize("segment", ["..", "."])
def test_dot_segments_are_sent_encoded_and_never_climb(cdap: CdapEmulatorHandle, segment: str) -> None:
    hook = CdapHook()
    encoded = "%2E" * len(segment)
    with pytest.raises(PipelineApiError) as info:
        hook.get_run("sales", segment)
    assert info.value.status == 404
    assert f"'runid' '{segment}' not found." in str(info.value)
    with pytest.raises(PipelineApiError, match="HTTP 404"):
        hook.stop_run("sales", segment)  # raw, ".../runs/../stop" would be the program-level stop
    expected = [
        run_path("sales", "RUN").replace("RUN", encoded),
        run_path("sales", "RUN", "stop").replace("RUN", encoded),
    ]
    assert cdap.stats()["last_paths"][-2:] == expected
    assert cdap.stats()["program_level_stops"] == 0
    cdap.assert_paths_safe()


def test_repr_and_errors_show_no_secret(cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "another-secret-token-42"
    cdap.config.token = "the-server-wants-something-else"
    hook = connect(monkeypatch, cdap.url, password=token)
    assert repr(hook) == "CdapHook(conn_id='cdap_default')"
    assert repr(hook.client) == f"SyncApiClient(CDAP, {cdap.url})"
    assert token not in repr(hook.client.auth)
    with pytest.raises(PipelineError) as info:
        hook.start_pipeline("sales")
    assert token not in str(info.value)
    assert token not in repr(info.value)
