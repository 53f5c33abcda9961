"""CdapPipelineRunTrigger run directly (as the triggerer would) against the CDAP emulator over HTTP."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from typing import Any

import pytest

from airflow_provider_pipelines.emulators.cdap import CdapEmulatorHandle
from airflow_provider_pipelines.hooks.cdap import CdapHook
from airflow_provider_pipelines.triggers.cdap import CdapPipelineRunTrigger

POLL = 0.02


def connect(
    monkeypatch: pytest.MonkeyPatch, host: str, conn_id: str, password: str | None = None, **extras: Any
) -> None:
    conn: dict[str, Any] = {
        "conn_type": "cdap",
        "host": host,
        "extra": {"retry_initial_wait": 0.01, "retry_max_wait": 0.02, **extras},
    }
    if password is not None:
        conn["password"] = password
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def trigger_for(
    name: str, run_id: str, conn_id: str = "cdap_default", **kwargs: Any
) -> CdapPipelineRunTrigger:
    kwargs.setdefault("deadline", time.time() + 10)  # a bug must end a test, not hang it
    kwargs.setdefault("poll_interval", POLL)
    return CdapPipelineRunTrigger(conn_id, CdapHook.run_ref(name, run_id), **kwargs)


async def _first_event(trigger: CdapPipelineRunTrigger) -> dict[str, Any]:
    events = trigger.run()
    try:
        event = await events.__anext__()
    finally:
        await events.aclose()
    payload: dict[str, Any] = event.payload
    return payload


def first_event(trigger: CdapPipelineRunTrigger) -> dict[str, Any]:
    return asyncio.run(asyncio.wait_for(_first_event(trigger), timeout=15))


def status_of(cdap: CdapEmulatorHandle, run_id: str) -> str:
    status: str = next(r for r in cdap.runs() if r["runid"] == run_id)["status"]
    return status


def test_serialize_round_trips_without_secrets(
    cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, cdap.url, "cdap_secret", password="very-secret-token-123")
    trigger = CdapPipelineRunTrigger(
        "cdap_secret",
        CdapHook.run_ref("events", "run-1", "ns1", "streaming"),
        poll_interval=2,
        deadline=1_900_000_000.5,
        not_found_until=1_800_000_000.0,
        success_states=["RUNNING"],
        failure_states=["SUSPENDED"],
        cancel_on_kill=False,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_pipelines.triggers.cdap.CdapPipelineRunTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs  # JSON primitives only
    assert "very-secret-token-123" not in json.dumps(kwargs)
    assert kwargs["run_ref"] == {
        "run_id": "run-1",
        "pipeline_name": "events",
        "namespace": "ns1",
        "pipeline_type": "streaming",
    }
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert type(rebuilt) is CdapPipelineRunTrigger
    assert rebuilt.serialize() == (classpath, kwargs)


def test_success_event(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    run_id = hook.start_pipeline("sales")
    event = first_event(trigger_for("sales", run_id))
    assert event["status"] == "success"
    assert event["raw_state"] == "COMPLETED"
    assert event["run"] == hook.run_ref("sales", run_id)
    assert event["message"] == f"CDAP run {run_id} ended COMPLETED"
    assert {"starting", "start", "end"} <= set(event["details"])
    assert json.loads(json.dumps(event)) == event
    assert cdap.stats()["requests"]["GET get_run"] >= 3  # it polled through the states


def test_failed_event(cdap: CdapEmulatorHandle) -> None:
    run_id = CdapHook().start_pipeline("nightly_fail")
    event = first_event(trigger_for("nightly_fail", run_id))
    assert (event["status"], event["raw_state"]) == ("failed", "FAILED")
    assert event["message"] == f"CDAP run {run_id} ended FAILED"


def test_user_success_states(cdap: CdapEmulatorHandle) -> None:
    run_id = CdapHook().start_pipeline("long_job")  # a batch run that stays RUNNING for long
    event = first_event(trigger_for("long_job", run_id, success_states=["running"]))
    assert (event["status"], event["raw_state"]) == ("success", "RUNNING")
    # The platform's own success no longer counts once the user chose theirs.
    done = CdapHook().start_pipeline("sales")
    event = first_event(trigger_for("sales", done, success_states=["SUSPENDED"]))
    assert (event["status"], event["raw_state"]) == ("failed", "COMPLETED")


def test_streaming_run_succeeds_once_running(cdap: CdapEmulatorHandle) -> None:
    run_id = CdapHook().start_pipeline("stream_job", pipeline_type="streaming")
    trigger = CdapPipelineRunTrigger(
        "cdap_default",
        CdapHook.run_ref("stream_job", run_id, pipeline_type="streaming"),
        poll_interval=POLL,
        deadline=time.time() + 10,
    )
    event = first_event(trigger)
    assert (event["status"], event["raw_state"]) == ("success", "RUNNING")
    assert status_of(cdap, run_id) == "RUNNING"  # waiting ended; the stream runs on


def test_404_right_after_start_is_waited_out(cdap: CdapEmulatorHandle) -> None:
    cdap.config.not_found_seconds = 0.3
    run_id = CdapHook().start_pipeline("sales")
    event = first_event(trigger_for("sales", run_id, not_found_until=time.time() + 5))
    assert event["status"] == "success"
    assert cdap.stats()["requests"]["GET get_run"] > 0.3 / POLL / 2  # it kept polling through the 404s


def test_404_after_the_grace_is_an_error(cdap: CdapEmulatorHandle) -> None:
    cdap.config.not_found_seconds = 0.3
    run_id = CdapHook().start_pipeline("sales")
    event = first_event(trigger_for("sales", run_id, not_found_until=time.time() - 1))
    assert event["status"] == "error"
    assert "HTTP 404" in event["message"]
    assert f"'runid' '{run_id}' not found." in event["message"]
    assert event["details"] == {"http_status": 404}
    assert cdap.stats()["requests"]["GET get_run"] == 1  # a 404 is not retried by the client


def test_transient_errors_beyond_the_clients_retries_do_not_end_the_trigger(
    cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, cdap.url, "cdap_flaky", retry_attempts=2)
    run_id = CdapHook().start_pipeline("sales")
    cdap.add_fault("GET", r"/runs/[^/]+$", 503, times=6)
    event = first_event(trigger_for("sales", run_id, conn_id="cdap_flaky"))
    assert event["status"] == "success"
    stats = cdap.stats()
    assert stats["faults_injected"] == {"503": 6}  # three polls failed, each after 2 attempts
    assert stats["requests"]["GET get_run"] > 6


def test_fatal_error_ends_the_trigger_without_the_token(
    cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = CdapHook().start_pipeline("sales")
    cdap.config.token = "the-right-token"
    connect(monkeypatch, cdap.url, "cdap_wrong", password="the-wrong-token-42")
    event = first_event(trigger_for("sales", run_id, conn_id="cdap_wrong"))
    assert event["status"] == "error"
    assert "HTTP 401" in event["message"]
    assert "the-wrong-token-42" not in json.dumps(event)
    assert event["details"] == {"http_status": 401}


def test_deadline_in_the_past_times_out_without_polling(cdap: CdapEmulatorHandle) -> None:
    run_id = CdapHook().start_pipeline("sales")
    event = first_event(trigger_for("sales", run_id, deadline=time.time() - 1))
    assert event["status"] == "timeout"
    assert "did not finish before the timeout" in event["message"]
    assert "GET get_run" not in cdap.stats()["requests"]


def test_near_deadline_times_out_on_time(cdap: CdapEmulatorHandle) -> None:
    run_id = CdapHook().start_pipeline("long_job")
    started = time.monotonic()
    event = first_event(trigger_for("long_job", run_id, poll_interval=5, deadline=time.time() + 0.3))
    elapsed = time.monotonic() - started
    assert event["status"] == "timeout"
    assert event["raw_state"] in ("PENDING", "STARTING", "RUNNING")
    assert 0.25 <= elapsed < 2  # the sleep is cut at the deadline, not the 5 s poll interval
    assert status_of(cdap, run_id) not in ("KILLED", "STOPPING")  # stopping is the operator's job


def test_on_kill_stops_the_run(cdap: CdapEmulatorHandle) -> None:
    run_id = CdapHook().start_pipeline("long_job")
    trigger = trigger_for("long_job", run_id)

    async def killed_while_waiting() -> None:
        task = asyncio.create_task(_first_event(trigger))
        while "GET get_run" not in cdap.stats()["requests"]:
            await asyncio.sleep(POLL)
        task.cancel()  # what the triggerer does to a killed task's trigger, before on_kill
        with pytest.raises(asyncio.CancelledError):
            await task
        await trigger.on_kill()

    asyncio.run(killed_while_waiting())
    stats = cdap.stats()
    assert stats["run_stops"] == {f"default/long_job/{run_id}": 1}
    assert stats["program_level_stops"] == 0
    assert status_of(cdap, run_id) in ("STOPPING", "KILLED")


def test_on_kill_leaves_the_run_alone_when_told_to(cdap: CdapEmulatorHandle) -> None:
    run_id = CdapHook().start_pipeline("long_job")
    asyncio.run(trigger_for("long_job", run_id, cancel_on_kill=False).on_kill())
    stats = cdap.stats()
    assert stats["run_stops"] == {}
    assert stats["program_level_stops"] == 0
    assert status_of(cdap, run_id) in ("PENDING", "STARTING", "RUNNING")


def test_one_http_session_for_the_triggers_life(cdap: CdapEmulatorHandle) -> None:
    run_id = CdapHook().start_pipeline("sales")
    cdap.emulator.core.stats.reset()  # forget the start: count the trigger's requests only
    event = first_event(trigger_for("sales", run_id))
    assert event["status"] == "success"
    stats = cdap.stats()
    polls = stats["requests"]["GET get_run"]
    assert polls >= 10
    assert stats["client_ports"] == {next(iter(stats["client_ports"])): polls}  # all on one connection


def test_connection_comes_from_the_environment(
    cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = CdapHook().start_pipeline("sales")
    connect(monkeypatch, cdap.api_url, "data_fusion_prod")
    event = first_event(trigger_for("sales", run_id, conn_id="data_fusion_prod"))
    assert event["status"] == "success"
    polls = [p for p in cdap.stats()["last_paths"] if "/runs/" in p]
    assert polls
    assert all(p.startswith("/api/v3/namespaces/default/apps/sales/") for p in polls)


def test_large_run_record_is_read_whole(cdap: CdapEmulatorHandle) -> None:
    run_id = CdapHook().start_pipeline("sales", runtime_args={"pad": "x" * 900_000})
    event = first_event(trigger_for("sales", run_id))
    assert event["status"] == "success"
    assert cdap.stats()["faults_injected"] == {}


def test_triggers_of_one_connection_share_one_connection_pool(
    cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in a triggerer: many triggers of one connection in one event loop share a pool of at most
    # max_connections connections, and the pool closes when the last trigger ends.
    connect(monkeypatch, cdap.url, "cdap_pool", max_connections=3)
    hook = CdapHook("cdap_pool")
    run_ids = [hook.start_pipeline(f"job{i}") for i in range(40)]
    cdap.emulator.core.stats.reset()

    async def main() -> list[dict[str, Any]]:
        from airflow_provider_pipelines.core.client_pool import open_clients

        triggers = [trigger_for(f"job{i}", run_id, "cdap_pool") for i, run_id in enumerate(run_ids)]
        events = await asyncio.gather(*(_first_event(t) for t in triggers))
        assert open_clients() == 0
        return events

    events = asyncio.run(asyncio.wait_for(main(), timeout=30))
    assert [e["status"] for e in events] == ["success"] * 40
    assert [e["run"]["run_id"] for e in events] == run_ids
    stats = cdap.stats()
    assert stats["requests"]["GET get_run"] >= 40
    assert 1 <= len(stats["client_ports"]) <= 3  # 40 triggers, at most 3 connections
