"""RunWatcher: every decision of the one waiting logic, with an injected clock and a captured log."""

from __future__ import annotations

import json
import logging

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.states import RunState, RunStatus
from airflow_provider_pipelines.core.watch import RunWatcher, format_seconds
from airflow_provider_pipelines.hooks.cdap import CDAP_STATES

LOGGER = "tests.unit.watch"
RUN = {"run_id": "r-1", "pipeline_name": "sales"}


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def status(raw: str) -> RunStatus:
    return RunStatus(raw, CDAP_STATES.classify(raw), {"start": 1})


def api_error(status_code: int | None, retryable: bool = False) -> PipelineApiError:
    return PipelineApiError("CDAP", "get run", status_code, "boom", retryable=retryable)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=LOGGER)
    return caplog


def watcher(clock: Clock, **kwargs: object) -> RunWatcher:
    return RunWatcher(
        "CDAP",
        RUN,
        CDAP_STATES,
        poll_interval=kwargs.pop("poll_interval", 5.0),
        clock=clock,
        logger=logging.getLogger(LOGGER),
        **kwargs,  # type: ignore[arg-type]
    )


def messages(log: pytest.LogCaptureFixture, level: int | None = None) -> list[str]:
    return [r.getMessage() for r in log.records if r.name == LOGGER and (level is None or r.levelno == level)]


def test_success_and_failure_end_the_wait(clock: Clock) -> None:
    w = watcher(clock)
    assert w.observe(status("PENDING")) is None
    assert w.observe(status("RUNNING")) is None
    assert w.observe(status("STOPPING")) is None  # not terminal
    outcome = w.observe(status("COMPLETED"))
    assert outcome is not None
    assert (outcome.kind, outcome.raw_state, outcome.message) == (
        "success",
        "COMPLETED",
        "CDAP run r-1 ended COMPLETED",
    )
    assert outcome.details == {"start": 1}
    for raw in ("FAILED", "KILLED", "REJECTED"):
        ended = watcher(clock).observe(status(raw))
        assert ended is not None and ended.kind == "failed" and ended.raw_state == raw


def test_outcome_is_a_json_event(clock: Clock) -> None:
    outcome = watcher(clock).observe(status("FAILED"))
    assert outcome is not None
    event = outcome.to_event()
    assert json.loads(json.dumps(event)) == event
    assert event == {
        "status": "failed",
        "run": RUN,
        "raw_state": "FAILED",
        "message": "CDAP run r-1 ended FAILED",
        "details": {"start": 1},
    }


def test_deadline(clock: Clock) -> None:
    w = watcher(clock, deadline=clock.now + 12, poll_interval=5)
    assert w.expired() is None
    assert w.next_sleep() == 5
    w.observe(status("RUNNING"))
    clock.advance(10)
    assert w.expired() is None
    assert w.next_sleep() == 2  # never sleeps past the deadline
    clock.advance(2)
    outcome = w.expired()
    assert outcome is not None
    assert outcome.kind == "timeout"
    assert outcome.raw_state == "RUNNING"
    assert (
        outcome.message == "CDAP run r-1 did not finish before the timeout (last state RUNNING, waited 12s)"
    )
    clock.advance(5)
    assert w.next_sleep() == 0


def test_no_deadline_never_expires(clock: Clock) -> None:
    w = watcher(clock, poll_interval=-3)
    clock.advance(10**9)
    assert w.expired() is None
    assert w.next_sleep() == 0  # a negative interval is clamped


def test_timeout_before_any_state(clock: Clock) -> None:
    outcome = watcher(clock, deadline=clock.now).expired()
    assert outcome is not None
    assert "last state unknown, waited 0s" in outcome.message


def test_404_grace(clock: Clock, log: pytest.LogCaptureFixture) -> None:
    w = watcher(clock, not_found_until=clock.now + 30)
    assert w.observe_error(api_error(404)) is None
    assert "CDAP run r-1 is not visible yet (404); waiting for it to appear" in messages(log, logging.INFO)
    assert w.transient_errors == 0  # not counted as a transient error
    clock.advance(30)
    outcome = w.observe_error(api_error(404))
    assert outcome is not None
    assert outcome.kind == "error"
    assert outcome.details == {"http_status": 404}
    assert outcome.message == "CDAP get run failed (HTTP 404): boom"


def test_404_without_grace_is_an_error(clock: Clock) -> None:
    outcome = watcher(clock).observe_error(api_error(404))
    assert outcome is not None and outcome.kind == "error"


def test_transient_errors_keep_waiting(clock: Clock, log: pytest.LogCaptureFixture) -> None:
    w = watcher(clock)
    for count in (1, 2, 3):
        assert w.observe_error(api_error(503, retryable=True)) is None
        assert w.transient_errors == count
    assert w.observe_error(api_error(None, retryable=True)) is None  # a dropped connection
    assert len(messages(log, logging.WARNING)) == 4
    assert w.observe(status("RUNNING")) is None
    assert w.transient_errors == 0  # a good read resets the count


def test_fatal_errors_end_the_wait(clock: Clock) -> None:
    w = watcher(clock)
    w.observe(status("RUNNING"))
    outcome = w.observe_error(api_error(403))
    assert outcome is not None
    assert (outcome.kind, outcome.raw_state, outcome.details) == ("error", "RUNNING", {"http_status": 403})


def test_unknown_state_is_never_success_and_warns_once(clock: Clock, log: pytest.LogCaptureFixture) -> None:
    w = watcher(clock)
    for _ in range(3):
        unknown = RunStatus("DEPROVISIONING", RunState.UNKNOWN)
        assert w.observe(unknown) is None
        clock.advance(1)
    warnings = messages(log, logging.WARNING)
    assert warnings == [
        "CDAP run r-1 is in state 'DEPROVISIONING', which this provider does not know: still waiting (0s)"
    ]
    outcome = w.observe(status("COMPLETED"))
    assert outcome is not None and outcome.kind == "success"


def test_user_success_states_replace_the_platforms(clock: Clock) -> None:
    w = watcher(clock, success_states=["running"])
    assert w.observe(status("PENDING")) is None
    outcome = w.observe(status("RUNNING"))
    assert outcome is not None and outcome.kind == "success"
    # With success replaced, the platform's own success is a failure.
    outcome = watcher(clock, success_states=["RUNNING"]).observe(status("COMPLETED"))
    assert outcome is not None and outcome.kind == "failed"


def test_user_failure_states_add_to_the_platforms(clock: Clock) -> None:
    w = watcher(clock, failure_states=["SUSPENDED"])
    outcome = w.observe(status("SUSPENDED"))
    assert outcome is not None and outcome.kind == "failed"
    assert watcher(clock, failure_states=["SUSPENDED"]).observe(status("KILLED")).kind == "failed"  # type: ignore[union-attr]
    assert watcher(clock, failure_states=["SUSPENDED"]).observe(status("COMPLETED")).kind == "success"  # type: ignore[union-attr]


def test_state_changes_are_logged_once_with_elapsed_time(clock: Clock, log: pytest.LogCaptureFixture) -> None:
    w = watcher(clock)
    w.observe(status("PENDING"))
    clock.advance(20)
    w.observe(status("PENDING"))
    clock.advance(45)
    w.observe(status("RUNNING"))
    w.observe(status("RUNNING"))
    clock.advance(3600)
    w.observe(status("COMPLETED"))
    assert messages(log, logging.INFO) == [
        "CDAP run r-1 is PENDING (0s)",
        "CDAP run r-1: PENDING -> RUNNING after 1m05s",
        "CDAP run r-1: RUNNING -> COMPLETED after 1h01m",
    ]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "0s"),
        (0, "0s"),
        (59.4, "59s"),
        (60, "1m00s"),
        (3599, "59m59s"),
        (3600, "1h00m"),
        (90061, "25h01m"),
    ],
)
def test_format_seconds(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


def test_first_sleep_spreads_triggers_over_one_interval(clock: Clock) -> None:
    w = watcher(clock, poll_interval=10)
    sleeps = [w.first_sleep() for _ in range(2000)]
    assert all(0 <= s <= 10 for s in sleeps)
    # Spread over the whole interval, not bunched: each tenth of it gets a share.
    assert all(sum(k <= s < k + 1 for s in sleeps) > 100 for k in range(10))
    near_deadline = watcher(clock, deadline=clock.now + 1, poll_interval=10)
    assert all(0 <= near_deadline.first_sleep() <= 1 for _ in range(100))  # never past the deadline
