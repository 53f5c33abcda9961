"""
The resume guard (docs/concepts/resume-guard.md): Airflow 3.3 fails a deferred task that
resumes before the scheduler has seen its worker leave the deferral (apache/airflow#72716). A
trigger therefore holds its event until ``resume_guard_seconds`` after the deferral; a run that ends
later is not delayed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from airflow_provider_pipelines.core.compat import AIRFLOW_3
from airflow_provider_pipelines.core.errors import PipelineError
from airflow_provider_pipelines.core.trigger import GUARD_MARGIN, fire_not_before, resume_guard_seconds
from airflow_provider_pipelines.emulators.cdap import CdapEmulatorHandle
from airflow_provider_pipelines.hooks.cdap import CdapHook
from airflow_provider_pipelines.triggers.cdap import CdapPipelineRunTrigger
from tests.dag_runner import run_dag

GUARD = "AIRFLOW__PIPELINES__RESUME_GUARD_SECONDS"


def test_the_guard_follows_the_workers_heartbeat_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GUARD)
    monkeypatch.setenv("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "3")
    assert resume_guard_seconds() == (3.0 + GUARD_MARGIN if AIRFLOW_3 else 0.0)
    monkeypatch.setenv(GUARD, "1.5")
    assert resume_guard_seconds() == 1.5
    before = time.time()
    held = fire_not_before()
    assert held is not None and before + 1.5 <= held <= time.time() + 1.5
    monkeypatch.setenv(GUARD, "0")
    assert fire_not_before() is None
    monkeypatch.setenv(GUARD, "soon")
    with pytest.raises(PipelineError, match=r"resume_guard_seconds must be a number of seconds, not 'soon'"):
        resume_guard_seconds()


def test_a_trigger_holds_its_event_until_fire_not_before(cdap: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    run_id = hook.start_pipeline("sales")
    ref = hook.run_ref("sales", run_id)
    while hook.get_run_status(ref).raw_state != "COMPLETED":
        time.sleep(0.05)
    not_before = time.time() + 0.5
    trigger = CdapPipelineRunTrigger(
        conn_id="cdap_default",
        run_ref=ref,
        poll_interval=0.05,
        fire_not_before=not_before,
    )
    _, kwargs = trigger.serialize()
    assert kwargs["fire_not_before"] == not_before

    async def first_event() -> dict[str, Any]:
        async for event in CdapPipelineRunTrigger(**kwargs).run():
            return dict(event.payload)
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert time.time() >= not_before
    assert event["status"] == "success"


def test_a_deferred_task_resumes_after_the_guard(
    cdap: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(GUARD, "3")
    # Long enough to be still going when the operator reads it before deferring, over within the guard.
    cdap.config.running_seconds = 1.5
    result = run_dag(
        'CdapStartPipelineOperator(task_id="start", pipeline_name="sales", deferrable=True, '
        "poll_interval=0.05)",
        imports="from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator",
    )
    assert result.states == {"start": "success"}
    (run_end,) = cdap.run_ends().values()
    run_start = run_end - sum(
        getattr(cdap.config, f"{phase}_seconds") for phase in ("pending", "starting", "running")
    )
    # The task deferred right after starting the run, which ended 1.7 s later: the event waited.
    task_end = result.ended["start"]
    assert task_end is not None and task_end >= run_start + 3
