"""
The one waiting logic of the provider: :class:`RunWatcher` decides, for each observation of a run,
whether to keep waiting or stop and why. It does no I/O and never sleeps.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_pipelines.core.errors import PipelineApiError, shorten_encoded
from airflow_provider_pipelines.core.states import RunState, RunStatus, StateMap

if TYPE_CHECKING:
    from airflow_provider_pipelines.core.hook import PipelineHook

OutcomeKind = Literal["success", "failed", "timeout", "error"]
OUTCOME_KINDS: frozenset[str] = frozenset({"success", "failed", "timeout", "error"})


@dataclass(frozen=True)
class WaitOutcome:
    """How waiting ended. Travels as a trigger event, so it holds JSON primitives only."""

    kind: OutcomeKind
    run: Mapping[str, Any]
    raw_state: str | None = None
    message: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_event(self) -> dict[str, Any]:
        return {
            "status": self.kind,
            "run": dict(self.run),
            "raw_state": self.raw_state,
            "message": shorten_encoded(self.message),
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class Wait:
    """
    One wait on one run, every setting explicit: the worker's :class:`RunWatcher` is built from it, and
    its fields are the trigger's kwargs (with the connection id and ``fire_not_before``).
    ``success_states`` are those in force: the task's, else the platform's for this run
    (:meth:`PipelineHook.success_states`).
    """

    run_ref: Mapping[str, Any]
    poll_interval: float
    deadline: float | None = None
    not_found_until: float | None = None
    success_states: list[str] | None = None
    failure_states: list[str] | None = None
    max_unreachable: float | None = None
    cancel_on_kill: bool = True

    def watcher(self, hook: PipelineHook, logger: Any) -> RunWatcher:
        """The watcher of this wait, reading states as ``hook`` says (:meth:`PipelineHook.run_state`)."""
        return RunWatcher(
            hook.platform,
            self.run_ref,
            hook.state_map,
            poll_interval=self.poll_interval,
            deadline=self.deadline,
            not_found_until=self.not_found_until,
            success_states=self.success_states,
            failure_states=self.failure_states,
            logger=logger,
            max_unreachable=self.max_unreachable,
            policy=hook,
        )

    def trigger_kwargs(self) -> dict[str, Any]:
        return asdict(self)


def overridden_state(
    state_map: StateMap,
    status: RunStatus,
    success_states: list[str] | None,
    failure_states: list[str] | None,
) -> RunState:
    """``status`` as the platform reads it, or with the task's success and failure states applied
    (:meth:`StateMap.classify`): what :meth:`PipelineHook.run_state` does unless a platform says more."""
    if success_states is None and failure_states is None:
        return status.state
    return state_map.classify(status.raw_state, success_states, failure_states)


def format_seconds(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class RunWatcher:
    """
    Follows one run until it ends.

    :param platform: the platform's name, for messages.
    :param run: the run's identity; ``run["run_id"]`` names it in messages.
    :param state_map: the platform's states.
    :param deadline: epoch seconds after which waiting stops with a ``timeout`` outcome.
    :param not_found_until: epoch seconds until which a 404 means "not visible yet", not "gone".
    :param success_states: platform states that count as success (replaces the platform's own).
    :param failure_states: platform states that count as failure, in addition to the platform's.
    :param max_unreachable: seconds of nothing but transient errors (5xx, 429, connection errors,
        timeouts) after which waiting ends with an ``error`` outcome; None: no limit.
    :param policy: what a status means for this run (the platform's hook); None: the state map's
        reading with ``success_states`` and ``failure_states`` (:func:`overridden_state`).
    """

    def __init__(
        self,
        platform: str,
        run: Mapping[str, Any],
        state_map: StateMap,
        *,
        poll_interval: float,
        deadline: float | None = None,
        not_found_until: float | None = None,
        success_states: Iterable[str] | None = None,
        failure_states: Iterable[str] | None = None,
        logger: Any = None,
        clock: Callable[[], float] = time.time,
        max_unreachable: float | None = None,
        policy: PipelineHook | None = None,
    ) -> None:
        self.platform = platform
        self.run = dict(run)
        self.state_map = state_map
        self.poll_interval = max(0.0, float(poll_interval))
        self.deadline = deadline
        self.not_found_until = not_found_until
        self.success_states = list(success_states) if success_states is not None else None
        self.failure_states = list(failure_states) if failure_states is not None else None
        self.log = logger or logging.getLogger(__name__)
        self.clock = clock
        self.started = clock()
        self.last_raw: str | None = None
        self.last_progress: str | None = None
        self.transient_errors = 0
        self.max_unreachable = max_unreachable
        self.unreachable_since: float | None = None
        self.policy = policy

    @property
    def label(self) -> str:
        return f"{self.platform} run {self.run.get('run_id')}"

    def elapsed(self) -> str:
        return format_seconds(self.clock() - self.started)

    def classify(self, status: RunStatus) -> RunState:
        """What ``status`` means for this wait: the one reading, shared with re-attaching."""
        if self.policy is not None:
            return self.policy.run_state(status, self.run, self.success_states, self.failure_states)
        return overridden_state(self.state_map, status, self.success_states, self.failure_states)

    def expired(self) -> WaitOutcome | None:
        if self.deadline is None or self.clock() < self.deadline:
            return None
        return WaitOutcome(
            "timeout",
            self.run,
            self.last_raw,
            f"{self.label} did not finish before the timeout (last state {self.last_raw or 'unknown'}, "
            f"waited {self.elapsed()})",
        )

    def observe(self, status: RunStatus) -> WaitOutcome | None:
        """Take one status; return the outcome when the run has ended."""
        self.transient_errors = 0
        self.unreachable_since = None
        state = self.classify(status)
        if status.raw_state != self.last_raw:
            previous = self.last_raw
            self.last_raw = status.raw_state
            if state is RunState.UNKNOWN:
                self.log.warning(
                    "%s is in state %r, which this provider does not know: still waiting (%s)",
                    self.label,
                    status.raw_state,
                    self.elapsed(),
                )
            elif previous is None:
                self.log.info(
                    "%s is %s (%s)%s", self.label, status.raw_state, self.elapsed(), self._progress(status)
                )
            else:
                self.log.info(
                    "%s: %s -> %s after %s%s",
                    self.label,
                    previous,
                    status.raw_state,
                    self.elapsed(),
                    self._progress(status),
                )
        elif status.progress and status.progress != self.last_progress:
            self.log.info("%s is %s: %s (%s)", self.label, status.raw_state, status.progress, self.elapsed())
        self.last_progress = status.progress
        if state is RunState.SUCCESS:
            return WaitOutcome(
                "success",
                self.run,
                status.raw_state,
                f"{self.label} ended {status.raw_state}",
                status.details,
            )
        if state is RunState.FAILED:
            return WaitOutcome(
                "failed", self.run, status.raw_state, f"{self.label} ended {status.raw_state}", status.details
            )
        return None

    @staticmethod
    def _progress(status: RunStatus) -> str:
        return f"; {status.progress}" if status.progress else ""

    def observe_error(self, error: PipelineApiError) -> WaitOutcome | None:
        """Take one failed status read; return an ``error`` outcome only when waiting cannot go on."""
        now = self.clock()
        if error.not_found and self.not_found_until is not None and now < self.not_found_until:
            self.log.info("%s is not visible yet (404); waiting for it to appear", self.label)
            return None
        if error.retryable:
            self.transient_errors += 1
            since = self.unreachable_since = self.unreachable_since or now
            if self.max_unreachable is not None and now - since >= self.max_unreachable:
                message = (
                    f"{self.label} could not be read for {format_seconds(now - since)} (max_unreachable "
                    f"{self.max_unreachable:g}s); last error: {error}. The run is kept: a "
                    "retry of the task waits on it again"
                )
                return WaitOutcome("error", self.run, self.last_raw, message, {"http_status": error.status})
            self.log.warning("%s: reading the state failed, will try again: %s", self.label, error)
            return None
        return WaitOutcome("error", self.run, self.last_raw, str(error), {"http_status": error.status})

    def next_sleep(self) -> float:
        if self.deadline is None:
            return self.poll_interval
        return max(0.0, min(self.poll_interval, self.deadline - self.clock()))

    def first_sleep(self) -> float:
        """
        A random share of one interval: a trigger's wait between its first read and its second.
        Triggers deferred together (a burst of tasks, a triggerer restart) would otherwise poll
        together for ever, each interval a burst that stalls the triggerer's event loop; so they
        read once at once, then spread evenly over the interval.
        """
        return random.uniform(0.0, self.next_sleep())
