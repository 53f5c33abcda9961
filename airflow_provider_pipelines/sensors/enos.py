"""Sensors for EnOS streaming pipelines and batch data flow instances."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_pipelines.core.hook import RunRef
from airflow_provider_pipelines.core.sensor import PipelineRunSensor
from airflow_provider_pipelines.hooks.enos import EnosHook, EnosPipelineTask, EnosTask
from airflow_provider_pipelines.triggers.enos import EnosFlowInstanceTrigger, EnosStreamingPipelineTrigger


class EnosStreamingPipelineSensor(EnosPipelineTask, PipelineRunSensor):
    """
    Wait until a streaming pipeline shows ``target_status`` in EnOS's pipeline list.

    :param pipeline_id: the stream processing pipeline. Templated.
    :param target_status: RUNNING (default), STOPPED, PAUSED or PUBLISHED.
    :param enos_conn_id: the EnOS connection (default ``enos_default``).
    :param success_states: pipeline statuses that end the wait in success, replacing
        ``target_status`` (which is then waited through like any other status).
    :param failure_states: pipeline statuses that fail the task, e.g. ``["STOPPED"]`` while waiting
        for RUNNING (by default no status does: the sensor waits until ``timeout``).

    Plus ``deferrable`` and BaseSensorOperator's ``mode``, ``poke_interval``, ``timeout``.
    """

    template_fields: Sequence[str] = ("pipeline_id",)
    trigger_class = EnosStreamingPipelineTrigger

    def __init__(self, *, target_status: str = "RUNNING", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_status = target_status.upper()

    def run_ref(self) -> RunRef:
        return EnosHook.streaming_ref(self.pipeline_id, self.target_status)


class EnosFlowInstanceSensor(EnosTask, PipelineRunSensor):
    """
    Wait for a batch data flow instance to end; fail, naming the failed tasks, if it ends FAIL,
    INTERNAL_ERROR, TIMEOUT or CANCEL.

    :param flow_instance_id: the flow instance. Templated.
    :param enos_conn_id: the EnOS connection (default ``enos_default``).
    """

    template_fields: Sequence[str] = ("flow_instance_id",)
    trigger_class = EnosFlowInstanceTrigger

    def __init__(self, *, flow_instance_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow_instance_id = flow_instance_id

    def run_ref(self) -> RunRef:
        return EnosHook.flow_ref(self.flow_instance_id)
