"""What the operator and the sensor share about waiting: the hook, the wait's settings (:class:`Wait`),
the watcher, the worker's status reads and the trigger they defer to."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.states import RunState, RunStatus
from airflow_provider_pipelines.core.trigger import fire_not_before
from airflow_provider_pipelines.core.watch import RunWatcher, Wait, WaitOutcome

if TYPE_CHECKING:
    from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
    from airflow_provider_pipelines.core.trigger import PipelineRunTrigger


def to_seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def wait_deadline(
    started_at: float,
    timeout: float | timedelta | None,
    execution_timeout: float | timedelta | None,
    task_started: float,
) -> float | None:
    """When a wait that began at ``started_at`` ends: ``timeout`` after it, or, for a task with an
    ``execution_timeout`` that started at ``task_started`` (epoch s), a little before Airflow's own
    timer, so that the wait ends it and cancels the run. None: no end."""
    deadlines = []
    if timeout is not None:
        deadlines.append(started_at + to_seconds(timeout))
    if execution_timeout is not None:
        limit = to_seconds(execution_timeout)
        deadlines.append(task_started + limit - min(5.0, limit * 0.05))
    return min(deadlines) if deadlines else None


def read_once(hook: PipelineHook, watcher: RunWatcher) -> WaitOutcome | None:
    """One status read on the worker: how waiting ends if it ends now (None: keep waiting)."""
    outcome = watcher.expired()
    if outcome is not None:
        return outcome
    try:
        status = hook.get_run_status(watcher.run)
    except PipelineApiError as exc:
        return watcher.observe_error(exc)
    return watcher.observe(status)


def poll_until_done(hook: PipelineHook, watcher: RunWatcher) -> WaitOutcome:
    """The worker's waiting loop around the shared :class:`RunWatcher` (the trigger's is async)."""
    while (outcome := read_once(hook, watcher)) is None:
        time.sleep(watcher.next_sleep())
    return outcome


class RunWaiting:
    """Mixed into :class:`PipelineRunOperator` and :class:`PipelineRunSensor` (which set these attributes):
    the hook, the success policy as this task applies it, and the waits it builds."""

    hook_class: ClassVar[type[PipelineHook]]
    trigger_class: ClassVar[type[PipelineRunTrigger]]
    conn_id: str
    success_states: list[str] | None
    failure_states: list[str] | None
    max_unreachable: float | timedelta | None = None
    log: Any

    @cached_property
    def hook(self) -> PipelineHook:
        return self.hook_class(conn_id=self.conn_id)

    def unreachable_limit(self) -> float:
        """``max_unreachable`` in seconds: the task's, else the connection's extra (default one hour)."""
        if self.max_unreachable is not None:
            return to_seconds(self.max_unreachable)
        return self.hook.client.settings.max_unreachable

    def success_states_for(self, run: Mapping[str, Any]) -> list[str] | None:
        """The success states in force for ``run``: the task's, else the platform's (the hook's)."""
        return self.success_states if self.success_states is not None else self.hook.success_states(run)

    def run_state(self, run: Mapping[str, Any], status: RunStatus) -> RunState:
        """What ``status`` means to this task, as its watcher reads it (:meth:`PipelineHook.run_state`)."""
        return self.hook.run_state(status, run, self.success_states_for(run), self.failure_states)

    def wait(
        self,
        run: RunRef,
        poll_interval: float,
        deadline: float | None,
        not_found_until: float | None,
        cancel_on_kill: bool,
    ) -> Wait:
        """A wait on ``run`` with this task's success and failure states and ``max_unreachable``."""
        return Wait(
            run,
            poll_interval,
            deadline,
            not_found_until,
            self.success_states_for(run),
            self.failure_states,
            self.unreachable_limit(),
            cancel_on_kill,
        )

    def deferral_trigger(self, wait: Wait) -> PipelineRunTrigger:
        """The trigger to defer to now: it watches like ``wait.watcher``, and holds its event for the
        resume guard (:func:`~airflow_provider_pipelines.core.trigger.resume_guard_seconds`)."""
        return self.trigger_class(
            conn_id=self.conn_id, fire_not_before=fire_not_before(), **wait.trigger_kwargs()
        )
