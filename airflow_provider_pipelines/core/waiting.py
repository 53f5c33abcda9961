"""What the operator and the sensor share about waiting: the hook, the success states, the watcher,
the worker's status reads and the trigger they defer to."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.trigger import fire_not_before
from airflow_provider_pipelines.core.watch import RunWatcher, WaitOutcome

if TYPE_CHECKING:
    from airflow_provider_pipelines.core.hook import PipelineHook
    from airflow_provider_pipelines.core.trigger import PipelineRunTrigger


def to_seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


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
    """Mixed into :class:`PipelineRunOperator` and :class:`PipelineRunSensor` (which set these attributes)."""

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

    def default_success_states(self) -> list[str] | None:
        """The platform's success states for this task when the user gave none (None: the state map's)."""
        return None

    def unreachable_limit(self) -> float:
        """``max_unreachable`` in seconds: the task's, else the connection's extra (default one hour)."""
        if self.max_unreachable is not None:
            return to_seconds(self.max_unreachable)
        return self.hook.client.settings.max_unreachable

    def effective_success_states(self) -> list[str] | None:
        return self.success_states if self.success_states is not None else self.default_success_states()

    def watcher(
        self,
        run: dict[str, Any],
        poll_interval: float,
        deadline: float | None = None,
        not_found_until: float | None = None,
    ) -> RunWatcher:
        return RunWatcher(
            self.hook.platform,
            run,
            self.hook.state_map,
            poll_interval=poll_interval,
            deadline=deadline,
            not_found_until=not_found_until,
            success_states=self.effective_success_states(),
            failure_states=self.failure_states,
            logger=self.log,
            max_unreachable=self.unreachable_limit(),
        )

    def deferral_trigger(
        self,
        run: dict[str, Any],
        poll_interval: float,
        deadline: float | None,
        not_found_until: float | None,
        cancel_on_kill: bool,
    ) -> PipelineRunTrigger:
        """The trigger to defer to now: it watches like :meth:`watcher`, and holds its event for the
        resume guard (:func:`~airflow_provider_pipelines.core.trigger.resume_guard_seconds`)."""
        return self.trigger_class(
            conn_id=self.conn_id,
            run_ref=run,
            poll_interval=poll_interval,
            deadline=deadline,
            not_found_until=not_found_until,
            success_states=self.effective_success_states(),
            failure_states=self.failure_states,
            cancel_on_kill=cancel_on_kill,
            fire_not_before=fire_not_before(),
            max_unreachable=self.unreachable_limit(),
        )
