"""The rule for starts whose reply was lost (core/start.py), without HTTP: fake starts, look-ups, clock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.start import (
    CannotTell,
    StartOnce,
    StartUncertain,
    new_attempt,
    reply_lost,
)

LOG = logging.getLogger("test")


def error(status: int | None, *, retryable: bool = True, sent: bool = True) -> PipelineApiError:
    return PipelineApiError("X", "start", status, "boom", retryable=retryable, sent=sent)


@pytest.mark.parametrize(
    ("failure", "lost"),
    [
        (error(502), True),
        (error(504), True),
        (error(500), True),
        (error(None), True),  # dropped connection, read timeout
        (error(None, sent=False), False),  # refused, DNS, connect timeout
        (error(503), False),
        (error(429), False),
        (error(400, retryable=False), False),
        (error(409, retryable=False), False),
    ],
)
def test_which_failures_may_have_started_a_run(failure: PipelineApiError, lost: bool) -> None:
    assert reply_lost(failure) is lost


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def starter(
    starts: list[Any], finds: list[Any], clock: Clock, *, repeat: bool = False, attempts: int = 3
) -> tuple[StartOnce, list[str]]:
    """A StartOnce whose start answers ``starts`` in turn (an exception is raised) and whose look-up
    answers ``finds`` in turn; returns it and the record of calls."""
    calls: list[str] = []

    def answer(queue: list[Any], name: str) -> Callable[[dict[str, Any]], Any]:
        def call(attempt: dict[str, Any]) -> Any:
            calls.append(name)
            value = queue.pop(0)
            if isinstance(value, BaseException):
                raise value
            return value

        return call

    once = StartOnce(
        platform="X",
        start=answer(starts, "start"),
        find=answer(finds, "find"),
        grace=10.0,
        interval=2.0,
        attempts=attempts,
        repeat_uncertain=repeat,
        check="the run list",
        log=LOG,
        sleep=clock.sleep,
        clock=clock,
    )
    return once, calls


RUN = {"run_id": "r1"}


def test_a_start_that_answers_is_sent_once() -> None:
    clock = Clock()
    once, calls = starter([RUN], [], clock)
    assert once.run(new_attempt("m")) == RUN
    assert calls == ["start"]


def test_a_run_found_after_a_lost_reply_is_adopted_and_never_started_again() -> None:
    clock = Clock()
    once, calls = starter([error(502)], [None, None, {"run_id": "late"}], clock)
    assert once.run(new_attempt("m")) == {"run_id": "late"}
    # Nothing found at first is not "no run": the look-up is repeated within the grace.
    assert calls == ["start", "find", "find", "find"]
    assert clock.slept == [2.0, 2.0]


def test_no_run_counts_only_after_the_grace_then_the_start_is_sent_again() -> None:
    clock = Clock()
    once, calls = starter([error(None), {"run_id": "second"}], [None] * 6, clock)
    assert once.run(new_attempt("m")) == {"run_id": "second"}
    assert calls.count("start") == 2
    assert sum(clock.slept) == pytest.approx(10.0)


def test_a_refusal_is_raised_at_once_without_a_look_up() -> None:
    clock = Clock()
    once, calls = starter([error(400, retryable=False)], [], clock)
    with pytest.raises(PipelineApiError):
        once.run(new_attempt("m"))
    assert calls == ["start"]


def test_a_platform_that_cannot_tell_fails_the_task_naming_where_to_check() -> None:
    clock = Clock()
    once, calls = starter([error(504)], [CannotTell("two new runs", "the history page")], clock)
    with pytest.raises(StartUncertain, match=r"not started again\. Check the history page") as info:
        once.run(new_attempt("m"))
    assert "X" in str(info.value) and "repeat_uncertain_starts" in str(info.value)
    assert calls == ["start", "find"]


def test_repeat_uncertain_starts_sends_the_start_again() -> None:
    clock = Clock()
    once, calls = starter([error(504), RUN], [CannotTell("?", "page")], clock, repeat=True)
    assert once.run(new_attempt("m")) == RUN
    assert calls == ["start", "find", "start"]


def test_a_look_up_that_keeps_failing_is_not_taken_for_no_run() -> None:
    clock = Clock()
    once, calls = starter([error(502)], [error(500)] * 10, clock)
    with pytest.raises(StartUncertain, match="looking for its run failed too"):
        once.run(new_attempt("m"))
    assert calls.count("start") == 1


def test_starts_are_bounded_by_the_attempts() -> None:
    clock = Clock()
    once, calls = starter([error(502), error(502)], [None] * 20, clock, attempts=2)
    with pytest.raises(PipelineApiError, match="HTTP 502"):
        once.run(new_attempt("m"))
    assert calls.count("start") == 2


def test_an_old_attempt_is_resolved_by_one_look_up() -> None:
    """A retry resolving an earlier try's start: its grace has long passed, so one look-up decides."""
    clock = Clock()
    once, calls = starter([], [None], clock)
    attempt = new_attempt("m", now=clock.now - 3600)
    assert once.resolve(attempt, "earlier try", since=attempt["sent_at"]) is None
    assert calls == ["find"]


def test_a_start_the_platform_surely_did_not_take_is_sent_again_after_a_backoff() -> None:
    clock = Clock()
    busy = error(200, sent=False)  # e.g. EnOS 61121 "another user is starting a job": try later
    once, calls = starter([busy, RUN], [], clock)
    once.backoff = lambda exc, sent: 1.5
    assert once.run(new_attempt("m")) == RUN
    assert calls == ["start", "start"]
    assert clock.slept == [1.5]
