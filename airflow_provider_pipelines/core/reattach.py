"""
Whether a try follows the run an earlier try started, and whether a run is kept for the next try:
the operator's lifecycle decisions, as pure functions (docs/ARCHITECTURE.md, "Operator lifecycle").
"""

from __future__ import annotations

import enum

from airflow_provider_pipelines.core.states import RunState


class Found(enum.Enum):
    """Where this try found an earlier try's run."""

    STORE = "kept in the run store"  # the run kept there, or the run of the start noted there
    MARKER = "found by its start marker"  # the platform's look-up (a retry with an empty store)
    NOTHING = "no earlier run"


class Reattach(enum.Enum):
    """What this try does with the earlier run."""

    WAIT = "wait on it"
    RESUME = "resume it from its failed steps, then wait on it"
    START = "start anew"


def reattach_decision(
    *, found: Found, try_number: int, state: RunState | None, retry_from_failure: bool
) -> Reattach:
    """
    :param found: where the run was found.
    :param try_number: this try's number (1 for the first).
    :param state: the run's state as the task's wait reads it (its success and failure states
        applied); None when it could not be read (not recorded yet, a passing fault): the wait's
        grace and transient-error handling decide then, since starting anew could run the job twice.
    :param retry_from_failure: the task continues a failed run instead of starting another.
    """
    if found is Found.NOTHING or (found is Found.MARKER and try_number <= 1):
        # A first try looks in the store only: Airflow may execute a try twice, and the second
        # execution must not start again; a run carrying the marker then is an earlier instance's.
        return Reattach.START
    if state is None:
        return Reattach.WAIT
    if state is RunState.FAILED:
        return Reattach.RESUME if found is Found.STORE and retry_from_failure else Reattach.START
    if state.terminal and found is Found.MARKER:
        return Reattach.START
    return Reattach.WAIT


def keeps_run(kind: str, http_status: int | None, *, can_cancel: bool, resume_failed: bool) -> bool:
    """
    Whether the run stays in the store once a wait ended in ``kind`` (a
    :class:`~airflow_provider_pipelines.core.watch.WaitOutcome`'s), for the next try to follow.

    :param http_status: the status of the read that ended an ``error`` wait (404: the run is gone).
    :param can_cancel: the platform can stop a run (a timed-out run it cannot stop is still going).
    :param resume_failed: the next try continues a failed run (``retry_from_failure``, tries left).
    """
    if kind == "error":  # the run could not be watched: the next try follows it, unless it is gone
        return http_status != 404
    if kind == "timeout":
        return not can_cancel
    if kind == "failed":
        return resume_failed
    return False
