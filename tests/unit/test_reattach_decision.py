"""The operator lifecycle's decisions, table by table: whether a try follows an earlier try's run
(re-attach, resume, or start anew), and whether a run is kept for the next try when a wait ends."""

from __future__ import annotations

import pytest

from airflow_provider_pipelines.core.reattach import Found, Reattach, keeps_run, reattach_decision
from airflow_provider_pipelines.core.states import RunState

P, R, S, F, U = RunState.PENDING, RunState.RUNNING, RunState.SUCCESS, RunState.FAILED, RunState.UNKNOWN
STORE, MARKER, NOTHING = Found.STORE, Found.MARKER, Found.NOTHING
WAIT, RESUME, START = Reattach.WAIT, Reattach.RESUME, Reattach.START
UNREADABLE = None

# found, try number, state (None: could not be read), retry_from_failure -> decision
REATTACH = [
    # Nothing found: start (on a first try the operator looks in the store only).
    (NOTHING, 1, UNREADABLE, False, START),
    (NOTHING, 2, UNREADABLE, False, START),
    (NOTHING, 3, UNREADABLE, True, START),
    # Kept in the store: the run of an unfinished try, followed whatever it did since...
    (STORE, 1, P, False, WAIT),  # a first try executed twice: the second execution must not start
    (STORE, 2, R, False, WAIT),
    (STORE, 2, U, False, WAIT),
    (STORE, 2, S, False, WAIT),  # ended while no worker watched: the wait concludes it
    (STORE, 2, UNREADABLE, False, WAIT),  # not recorded yet, or a passing fault: starting could run it twice
    (STORE, 1, UNREADABLE, True, WAIT),
    # ...except a failed one: started anew, or resumed with retry_from_failure.
    (STORE, 2, F, False, START),
    (STORE, 2, F, True, RESUME),
    (STORE, 1, F, True, RESUME),
    (STORE, 2, S, True, WAIT),
    # Found by its marker (a retry with an empty store): followed only while it is not over.
    (MARKER, 2, P, False, WAIT),
    (MARKER, 2, R, True, WAIT),
    (MARKER, 3, U, False, WAIT),
    (MARKER, 2, UNREADABLE, False, WAIT),
    (MARKER, 2, S, False, START),  # may be a try that concluded before the task was cleared
    (MARKER, 2, F, False, START),
    (MARKER, 2, F, True, START),  # only a run kept in the store is resumed
    # A first try does not follow a run it found by marker: that run is an earlier instance's.
    (MARKER, 1, R, False, START),
    (MARKER, 1, UNREADABLE, False, START),
]


@pytest.mark.parametrize(("found", "try_number", "state", "retry_from_failure", "expected"), REATTACH)
def test_reattach_decision(
    found: Found, try_number: int, state: RunState | None, retry_from_failure: bool, expected: Reattach
) -> None:
    decision = reattach_decision(
        found=found, try_number=try_number, state=state, retry_from_failure=retry_from_failure
    )
    assert decision is expected


def test_every_combination_has_a_decision() -> None:
    for found in Found:
        for try_number in (1, 2, 5):
            for state in (*RunState, None):
                for retry_from_failure in (False, True):
                    decision = reattach_decision(
                        found=found, try_number=try_number, state=state, retry_from_failure=retry_from_failure
                    )
                    assert decision in Reattach
                    # Only a run kept in the store is resumed, and only a failed one.
                    if decision is RESUME:
                        assert (found, state, retry_from_failure) == (STORE, F, True)


# outcome kind, HTTP status of the read that ended it, the platform can cancel, the next try resumes
# -> whether the run stays in the store for the next try
KEEPS = [
    ("success", None, True, False, False),
    ("success", None, False, True, False),
    ("failed", None, True, False, False),
    ("failed", None, True, True, True),  # retry_from_failure with tries left: the next try resumes it
    ("timeout", None, True, False, False),  # cancelled
    ("timeout", None, False, False, True),  # the platform cannot stop it: still going, the retry waits
    ("error", 500, True, False, True),  # could not be watched (max_unreachable): the retry waits on it
    ("error", None, True, False, True),
    ("error", 403, False, True, True),
    ("error", 404, True, False, False),  # gone
    ("error", 404, False, True, False),
]


@pytest.mark.parametrize(("kind", "http_status", "can_cancel", "resume_failed", "expected"), KEEPS)
def test_keeps_run(
    kind: str, http_status: int | None, can_cancel: bool, resume_failed: bool, expected: bool
) -> None:
    assert keeps_run(kind, http_status, can_cancel=can_cancel, resume_failed=resume_failed) is expected
