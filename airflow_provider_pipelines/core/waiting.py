"""What the operator and the sensor share about waiting: the hook, the success states, the watcher."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pipelines.core.trigger import fire_not_before
from airflow_provider_pipelines.core.watch import RunWatcher

if TYPE_CHECKING:
    from airflow_provider_pipelines.core.hook import PipelineHook
    from airflow_provider_pipelines.core.trigger import PipelineRunTrigger


class RunWaiting:
    """Mixed into :class:`PipelineRunOperator` and :class:`PipelineRunSensor` (which set these attributes)."""

    hook_class: ClassVar[type[PipelineHook]]
    trigger_class: ClassVar[type[PipelineRunTrigger]]
    conn_id: str
    success_states: list[str] | None
    failure_states: list[str] | None
    log: Any

    @cached_property
    def hook(self) -> PipelineHook:
        return self.hook_class(conn_id=self.conn_id)

    def default_success_states(self) -> list[str] | None:
        """The platform's success states for this task when the user gave none (None: the state map's)."""
        return None

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
        )
