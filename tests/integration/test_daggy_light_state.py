"""Daggy status polls read the light ``GET /v1/dagrun/{id}/state``; the document when the state changes."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from airflow_provider_pipelines.hooks.daggy import DaggyHook
from airflow_provider_pipelines.triggers.daggy import DaggyRunTrigger
from tests.dag_runner import run_dag
from tests.integration.conftest import FAST_RETRIES

IMPORTS = "from airflow_provider_pipelines.operators.daggy import DaggySubmitDagOperator"
MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])


def spec(*commands: str, tag: str = "light") -> dict[str, Any]:
    return {"tag": tag, "tasks": {f"t{i}": {"job": {"command": c.split()}} for i, c in enumerate(commands)}}


def requests(emulator: Any, route: str) -> int:
    return int(emulator.stats()["requests"].get(f"GET {route}", 0))


def wait_for_state(hook: DaggyHook, run_id: int, state: str, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while hook.get_run_state(run_id) != state:
        assert time.time() < deadline, f"run {run_id} never reached {state}"
        time.sleep(0.02)


def use(emulator: Any, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> None:
    conn = {"conn_type": "daggy", "host": emulator.url, "extra": {**FAST_RETRIES, **extra}}
    monkeypatch.setenv("AIRFLOW_CONN_DAGGY_DEFAULT", json.dumps(conn))


def test_the_emulator_serves_the_state_call_for_every_run_state(daggy: Any) -> None:
    hook = DaggyHook()
    daggy.config.queued_seconds = 60.0
    queued = hook.submit_dag(spec("echo a"))
    assert hook.get_run_state(queued) == "QUEUED" == daggy.run(queued)["state"]

    daggy.config.queued_seconds = 0.0
    running = hook.submit_dag(spec("sleep long"))
    wait_for_state(hook, running, "RUNNING")
    completed = hook.submit_dag(spec("echo a"))
    wait_for_state(hook, completed, "COMPLETED")
    errored = hook.submit_dag(spec("python fail.py"))
    wait_for_state(hook, errored, "ERRORED")
    killed = hook.submit_dag(spec("sleep long"))
    hook.kill_run(killed)
    wait_for_state(hook, killed, "KILLED")

    for run_id, state in [(running, "RUNNING"), (completed, "COMPLETED"), (errored, "ERRORED")]:
        assert daggy.run(run_id)["dagStateChanges"][-1]["state"] == state
        status = hook.get_run_status(hook.run_ref(run_id))
        assert status.raw_state == state
    hook.set_run_state(killed, "QUEUED")  # a re-queued run answers QUEUED again, then RUNNING
    assert hook.get_run_state(killed) in ("QUEUED", "RUNNING")


def test_polls_read_the_document_only_when_the_state_changes(daggy: Any) -> None:
    hook = DaggyHook()
    run_id = hook.submit_dag(spec("sleep long", "echo b"))
    wait_for_state(hook, run_id, "RUNNING")
    time.sleep(0.3)  # "echo b" completes; "sleep long" runs on
    before_document, before_state = requests(daggy, "get_run"), requests(daggy, "get_run_state")

    statuses = [hook.get_run_status(hook.run_ref(run_id)) for _ in range(6)]

    assert requests(daggy, "get_run_state") - before_state == 6
    assert requests(daggy, "get_run") - before_document == 1, "the first read of this hook only"
    first, *rest = statuses
    assert first.raw_state == "RUNNING" and first.details == {"task_counts": {"COMPLETED": 1, "RUNNING": 1}}
    assert first.progress == "1 COMPLETED, 1 RUNNING"
    assert all(s.raw_state == "RUNNING" and s.details == {} and s.progress is None for s in rest)

    hook.kill_run(run_id)
    ended = hook.get_run_status(hook.run_ref(run_id))
    assert ended.raw_state == "KILLED" and ended.terminal
    assert ended.details == {"task_counts": {"COMPLETED": 1, "KILLED": 1}}
    assert requests(daggy, "get_run") - before_document == 2


def test_another_hook_reads_the_document_on_its_first_poll(daggy: Any) -> None:
    run_id = DaggyHook().submit_dag(spec("echo a"))
    wait_for_state(DaggyHook(), run_id, "COMPLETED")
    assert DaggyHook().get_run_status({"run_id": run_id}).progress == "1 COMPLETED"
    assert DaggyHook().get_run_status({"run_id": str(run_id)}).progress == "1 COMPLETED"


def test_a_document_over_the_reply_cap_costs_only_the_counts(
    daggy_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = daggy_emulator_factory(queued_seconds=0.05, task_seconds=0.05, output_log_bytes=20_000)
    use(emulator, monkeypatch, max_reply_bytes=200_000)
    run_id = DaggyHook().submit_dag(spec(*[f"echo {i}" for i in range(50)]))
    trigger = DaggyRunTrigger(conn_id="daggy_default", run_ref={"run_id": run_id}, poll_interval=0.05)

    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "success" and event["raw_state"] == "COMPLETED"
    assert "task_counts" not in event["details"], "the 1 MB document was over the 200 kB cap"
    (document,) = emulator.runs()
    assert all(len(a[0]["outputLog"]) >= 20_000 for a in document["taskAttempts"].values())
    assert requests(emulator, "get_run_state") >= 2


def test_output_log_bytes_is_off_by_default(daggy: Any) -> None:
    hook = DaggyHook()
    run_id = hook.submit_dag(spec("echo a"))
    wait_for_state(hook, run_id, "COMPLETED")
    (attempt,) = daggy.run(run_id)["taskAttempts"]["t0"]
    assert attempt["outputLog"] == "Echoing echo a\n"


@MODES
def test_a_dag_run_polls_the_state_call(
    daggy: Any, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    daggy.config.task_seconds = 0.8
    result = run_dag(
        f"DaggySubmitDagOperator(task_id='submit', dag_spec={spec('echo a', 'echo b')!r}, "
        f"deferrable={deferrable}, poll_interval=0.05)",
        imports=IMPORTS,
    )
    assert result.states == {"submit": "success"}
    states, documents = requests(daggy, "get_run_state"), requests(daggy, "get_run")
    assert states >= 6, "every poll reads the state"
    # Per hook (the worker's, the trigger's): once per state it sees (QUEUED, RUNNING, COMPLETED).
    assert documents <= 6 < states
    out = "".join(capfd.readouterr())
    assert "-> COMPLETED" in out and "2 COMPLETED" in out, "the final progress line still shows the counts"


@MODES
def test_a_failed_dag_run_still_names_the_failed_task(
    daggy: Any, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(
        f"DaggySubmitDagOperator(task_id='submit', dag_spec={spec('echo ok', 'python fail.py')!r}, "
        f"deferrable={deferrable}, poll_interval=0.05)",
        imports=IMPORTS,
    )
    assert result.states == {"submit": "failed"}
    out = "".join(capfd.readouterr())
    assert "failed tasks: t1 (ERRORED, rc 1)" in out
    assert "simulated failure in t1" in out
