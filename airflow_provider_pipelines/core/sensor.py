"""The base sensor: waits for a run (started elsewhere) to end; poke, reschedule or deferrable."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pipelines.core.compat import BaseSensorOperator, default_deferrable
from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.outcome import conclude, outcome_from_event
from airflow_provider_pipelines.core.task import PipelineTask
from airflow_provider_pipelines.core.waiting import RunWaiting, read_once
from airflow_provider_pipelines.core.watch import RunWatcher, Wait
from airflow_provider_pipelines.lineage.task import OpenLineageMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


class PipelineRunSensor(OpenLineageMixin, RunWaiting, PipelineTask, BaseSensorOperator):
    """
    Waits until a run reaches a terminal state; fails the task when it ends in failure.

    :param deferrable: wait in the triggerer. Default: ``[operators] default_deferrable``.
    :param success_states: platform states that count as success, replacing the platform's own.
    :param failure_states: platform states that count as failure, in addition to the platform's.
    :param not_found_grace: seconds from the sensor's start during which "run not found" is waited out.

    Plus every BaseSensorOperator parameter (``mode``, ``poke_interval``, ``timeout``...).
    """

    hook_class: ClassVar[type[PipelineHook]]
    ui_color = "#f0f6e8"

    def __init__(
        self,
        *,
        deferrable: bool = default_deferrable(),
        success_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        not_found_grace: float = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deferrable = deferrable
        self.success_states = success_states
        self.failure_states = failure_states
        self.not_found_grace = not_found_grace

    def run_ref(self) -> RunRef:
        raise NotImplementedError

    def _first_start(self, context: Context) -> float:
        start = getattr(context["ti"], "start_date", None)
        return start.timestamp() if start is not None else time.time()

    def sensor_wait(self, context: Context, deadline: float | None) -> Wait:
        """The sensor's wait: it does not own the run, so it never cancels it."""
        not_found_until = self._first_start(context) + self.not_found_grace
        return self.wait(self.run_ref(), float(self.poke_interval), deadline, not_found_until, False)

    def poke_watcher(self, context: Context) -> RunWatcher:
        return self.sensor_wait(context, None).watcher(self.hook, self.log)

    def poke(self, context: Context) -> bool:
        outcome = read_once(self.hook, self.poke_watcher(context))
        if outcome is None:
            return False
        conclude(self.hook, outcome, self.log, cancel_on_timeout=False)
        return True

    def execute(self, context: Context) -> Any:
        self.persist_links(self.hook, context)
        self.lineage_note(self.hook, None)
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        timeout = float(self.timeout) if self.timeout is not None else None
        deadline = time.time() + timeout if timeout is not None else None
        self.defer(
            trigger=self.deferral_trigger(self.sensor_wait(context, deadline)),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        outcome = outcome_from_event(self.hook.platform, event, self.run_ref().get("run_id"))
        self.lineage_note(self.hook, outcome.run)
        if outcome.kind == "timeout":
            try:
                from airflow.sdk.exceptions import AirflowSensorTimeout
            except ImportError:  # Airflow 2
                from airflow.exceptions import AirflowSensorTimeout  # type: ignore[no-redef]

            raise AirflowSensorTimeout(outcome.message)
        conclude(self.hook, outcome, self.log, cancel_on_timeout=False)
