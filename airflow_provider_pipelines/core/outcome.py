"""What the operator and the sensor do once waiting has ended: validate the event, log, raise or return."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_pipelines.core.errors import (
    PipelineApiError,
    PipelineError,
    PipelineRunFailed,
    PipelineRunTimeout,
)
from airflow_provider_pipelines.core.hook import PipelineHook
from airflow_provider_pipelines.core.watch import OUTCOME_KINDS, WaitOutcome

FAILURE_LINES_IN_MESSAGE = 3


def outcome_from_event(platform: str, event: Any, expected_run_id: Any = None) -> WaitOutcome:
    """Check a trigger event's shape; anything unexpected is an error, never a success."""
    if not isinstance(event, Mapping):
        raise PipelineError(f"{platform}: the trigger sent an unexpected event: {event!r}")
    kind = event.get("status")
    run = event.get("run")
    if kind not in OUTCOME_KINDS or not isinstance(run, Mapping) or "run_id" not in run:
        raise PipelineError(f"{platform}: the trigger sent an unexpected event: {dict(event)!r}")
    if expected_run_id is not None and str(run["run_id"]) != str(expected_run_id):
        raise PipelineError(
            f"{platform}: the trigger reported on run {run['run_id']}, "
            f"but this task started {expected_run_id}"
        )
    return WaitOutcome(
        kind,
        dict(run),
        event.get("raw_state"),
        str(event.get("message") or ""),
        dict(event.get("details") or {}),
    )


def conclude(
    hook: PipelineHook,
    outcome: WaitOutcome,
    log: Any,
    *,
    cancel_on_timeout: bool,
) -> Any:
    """Return the run id on success; otherwise log what is known and raise."""
    run_id = outcome.run.get("run_id")
    if outcome.kind == "success":
        log.info("%s", outcome.message)
        return run_id
    if outcome.kind == "timeout":
        if not hook.can_cancel:
            log.warning(
                "Timed out: %s cannot stop runs through its API; run %s goes on", hook.platform, run_id
            )
        elif not cancel_on_timeout:
            log.warning("Timed out: run %s is left running (cancel_on_kill=False)", run_id)
        else:
            try:
                hook.cancel_run(outcome.run)
                log.warning("Timed out: asked %s to stop run %s", hook.platform, run_id)
            except PipelineApiError as exc:
                log.error("Timed out, and stopping run %s failed: %s", run_id, exc)
        raise PipelineRunTimeout(outcome.message)
    if outcome.kind == "failed":
        lines = hook.explain_failure(outcome.run, outcome.details)
        if lines:
            log.error("%s run %s ended %s. What it said last:", hook.platform, run_id, outcome.raw_state)
            for line in lines:
                log.error("  | %s", line)
        tail = "; ".join(lines[-FAILURE_LINES_IN_MESSAGE:])
        raise PipelineRunFailed(outcome.message + (f": {tail}" if tail else ""))
    raise PipelineRunFailed(f"{hook.platform} run {run_id} could not be watched: {outcome.message}")
