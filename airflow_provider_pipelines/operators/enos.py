"""Operators for EnOS: start, stop and pause streaming pipelines; trigger batch data flows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.operator import PipelineRunOperator
from airflow_provider_pipelines.core.start import Attempt
from airflow_provider_pipelines.hooks.enos import CANNOT_START, EnosHook, EnosPipelineTask, EnosTask
from airflow_provider_pipelines.lineage.task import OpenLineageMixin
from airflow_provider_pipelines.triggers.enos import EnosFlowInstanceTrigger, EnosStreamingPipelineTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class EnosStartStreamingPipelineOperator(EnosPipelineTask, PipelineRunOperator):
    """
    Start an EnOS stream processing pipeline and wait until the pipeline list shows it RUNNING.

    EnOS gives no run id: the pipeline id names the job, and is what is pushed (XCom ``run_id``,
    ``return_value``). A pipeline that, after ``start_grace`` seconds, shows STOPPED or PUBLISHED again
    did not start: the task fails. On timeout or kill the pipeline is stopped (``cancel_on_kill``).

    :param pipeline_id: the released pipeline. Templated.
    :param execution_mode: ``standalone`` (0) or ``cluster`` (1).
    :param kafka_rate: Kafka records read per second (default 1000).
    :param resource_config: ``{"server": ..., "yarn": {...}, "advanced": [...]}``. Templated.
    :param wait_for_running: wait until RUNNING (default True).
    :param start_grace: seconds during which a not-yet-RUNNING status is read as "starting" (default 60).
    :param if_running: what to do when EnOS refuses the start because the pipeline is already
        starting or running (code 61165): ``"attach"`` (default) follows it, ``"fail"`` fails the task.
    :param enos_conn_id: the EnOS connection (default ``enos_default``).
    :param success_states: pipeline statuses that end the wait in success, replacing RUNNING (which is
        then waited through like any other status), e.g. ``["RUNNING", "PAUSED"]``.
    :param failure_states: pipeline statuses that fail the task, besides STOPPED and PUBLISHED once
        ``start_grace`` has passed; within it they too mean "not started yet".

    Plus ``deferrable``, ``poll_interval``, ``timeout``, ``cancel_on_kill``, ``reattach_on_retry``.
    """

    template_fields: Sequence[str] = ("pipeline_id", "resource_config")
    trigger_class = EnosStreamingPipelineTrigger

    def __init__(
        self,
        *,
        execution_mode: str = "standalone",
        kafka_rate: int = 1000,
        resource_config: Mapping[str, Any] | None = None,
        wait_for_running: bool = True,
        start_grace: float = 60.0,
        if_running: str = "attach",
        **kwargs: Any,
    ) -> None:
        if if_running not in ("attach", "fail"):
            raise ValueError(f"if_running must be 'attach' or 'fail', not {if_running!r}")
        kwargs.setdefault("wait_for_completion", wait_for_running)
        super().__init__(**kwargs)
        self.execution_mode = execution_mode
        self.kafka_rate = kafka_rate
        self.resource_config = resource_config
        self.start_grace = start_grace
        self.if_running = if_running

    def run_spec(self) -> dict[str, Any]:
        return {"pipeline_id": self.pipeline_id, "action": "start", "start_grace": self.start_grace}

    def start_run(self, hook: PipelineHook, context: Context, attempt: Attempt) -> RunRef:
        assert isinstance(hook, EnosHook)
        try:
            hook.start_pipeline(self.pipeline_id, self.execution_mode, self.kafka_rate, self.resource_config)
        except PipelineApiError as exc:
            # 61165: the pipeline is in a state that cannot be started, such as starting or running
            # (after a start whose reply was lost, or started by someone else): follow it.
            refused = exc.code == CANNOT_START and self.if_running == "attach"
            found = hook.find_started_run(self.run_spec(), attempt) if refused else None
            if found is None:
                raise
            self.log.info("EnOS pipeline %s is already starting or running: following it", self.pipeline_id)
            return found
        return hook.action_ref(self.run_spec())

    def find_earlier_run(self, hook: PipelineHook, marker: str) -> RunRef | None:
        return None


class EnosStopStreamingPipelineOperator(EnosPipelineTask, PipelineRunOperator):
    """
    Stop an EnOS stream processing pipeline (from RUNNING or PAUSED) and wait until it shows STOPPED
    (or PUBLISHED).

    :param pipeline_id: the pipeline. Templated.
    :param wait_for_stopped: wait until STOPPED (default True).
    :param enos_conn_id: the EnOS connection (default ``enos_default``).
    :param success_states: pipeline statuses that end the wait in success, replacing STOPPED and
        PUBLISHED (which are then waited through like any other status).
    :param failure_states: pipeline statuses that fail the task (by default none does: the task
        waits until ``timeout``).
    """

    template_fields: Sequence[str] = ("pipeline_id",)
    trigger_class = EnosStreamingPipelineTrigger

    def __init__(self, *, wait_for_stopped: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("wait_for_completion", wait_for_stopped)
        kwargs.setdefault("cancel_on_kill", False)
        super().__init__(**kwargs)

    start_log = None  # start_run says whether it stopped the pipeline

    def run_spec(self) -> dict[str, Any]:
        return {"pipeline_id": self.pipeline_id, "action": "stop"}

    def start_run(self, hook: PipelineHook, context: Context, attempt: Attempt) -> RunRef:
        assert isinstance(hook, EnosHook)
        status = hook.get_pipeline(self.pipeline_id).get("status")
        if status in ("RUNNING", "PAUSED"):
            hook.stop_pipeline(self.pipeline_id)
            self.log.info("Asked EnOS to stop pipeline %s (was %s)", self.pipeline_id, status)
        else:
            self.log.info("EnOS pipeline %s is already %s: nothing to stop", self.pipeline_id, status)
        return hook.action_ref(self.run_spec())

    def find_earlier_run(self, hook: PipelineHook, marker: str) -> RunRef | None:
        return None


class EnosPauseStreamingPipelineOperator(OpenLineageMixin, EnosPipelineTask):
    """
    Pause a running EnOS stream processing pipeline.

    :param pipeline_id: the pipeline. Templated.
    :param enos_conn_id: the EnOS connection (default ``enos_default``).
    """

    template_fields: Sequence[str] = ("pipeline_id",)

    def execute(self, context: Context) -> str:
        hook = EnosHook(enos_conn_id=self.enos_conn_id)
        try:
            hook.pause_pipeline(self.pipeline_id)
        except PipelineApiError:
            # Refused, or repeated after a lost reply: a pipeline that is paused already is done.
            status = hook.get_pipeline(self.pipeline_id).get("status")
            if status != "PAUSED":
                raise
            self.log.info("EnOS pipeline %s was already paused", self.pipeline_id)
            return self.pipeline_id
        self.log.info("Paused EnOS pipeline %s", self.pipeline_id)
        return self.pipeline_id


class EnosTriggerFlowOperator(EnosTask, PipelineRunOperator):
    """
    Trigger an EnOS batch data flow (v2.1) and wait until its instance ends.

    Returns the flow instance id (XCom ``return_value``; ``run_id`` before waiting). Success: SUCCESS
    (1) or SKIP (10); failure: FAIL (-1), INTERNAL_ERROR (4), TIMEOUT (7), CANCEL (8), with the failed
    tasks of the instance graph in the log. On timeout or kill the instance is cancelled.

    :param flow_id: the flow. Templated.
    :param parameters: flow parameters (``updateAndTrigger``), a mapping of key to value. Templated.
    :param enos_conn_id: the EnOS connection (default ``enos_default``; needs the ``user_id`` extra).

    Plus the waiting parameters of every operator of this provider; ``success_states`` and
    ``failure_states`` take status names such as ``SKIP`` or ``SUSPEND``.
    """

    template_fields: Sequence[str] = ("flow_id", "parameters")
    trigger_class = EnosFlowInstanceTrigger

    def __init__(
        self, *, flow_id: int | str, parameters: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.flow_id = flow_id
        self.parameters = parameters

    def run_spec(self) -> dict[str, Any]:
        return {"flow_id": self.flow_id}

    def start_run(self, hook: PipelineHook, context: Context, attempt: Attempt) -> RunRef:
        assert isinstance(hook, EnosHook)
        # One trigger time per try: a lost reply is resolved by reading the instance it names.
        return hook.flow_ref(hook.trigger_flow(self.flow_id, self.parameters, attempt["trigger_time"]))
