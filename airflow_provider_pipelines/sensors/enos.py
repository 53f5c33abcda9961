"""Sensors for EnOS streaming pipelines and batch data flow instances."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_pipelines.core.hook import RunRef
from airflow_provider_pipelines.core.sensor import PipelineRunSensor
from airflow_provider_pipelines.hooks.enos import EnosHook
from airflow_provider_pipelines.operators.enos import refuse_state_overrides
from airflow_provider_pipelines.triggers.enos import EnosFlowInstanceTrigger, EnosStreamingPipelineTrigger


class EnosStreamingPipelineSensor(PipelineRunSensor):
    """
    Wait until a streaming pipeline shows ``target_status`` in EnOS's pipeline list.

    :param pipeline_id: the stream processing pipeline. Templated.
    :param target_status: RUNNING (default), STOPPED, PAUSED or PUBLISHED.
    :param enos_conn_id: the EnOS connection (default ``enos_default``).

    Plus ``deferrable`` and BaseSensorOperator's ``mode``, ``poke_interval``, ``timeout``.
    """

    template_fields: Sequence[str] = ("pipeline_id",)
    hook_class = EnosHook
    trigger_class = EnosStreamingPipelineTrigger

    def __init__(
        self,
        *,
        pipeline_id: str,
        target_status: str = "RUNNING",
        enos_conn_id: str = EnosHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        refuse_state_overrides(kwargs)
        super().__init__(conn_id=enos_conn_id, **kwargs)
        self.pipeline_id = pipeline_id
        self.target_status = target_status.upper()
        self.enos_conn_id = enos_conn_id

    def run_ref(self) -> RunRef:
        return EnosHook.streaming_ref(self.pipeline_id, self.target_status)


class EnosFlowInstanceSensor(PipelineRunSensor):
    """
    Wait for a batch data flow instance to end; fail, naming the failed tasks, if it ends FAIL,
    INTERNAL_ERROR, TIMEOUT or CANCEL.

    :param flow_instance_id: the flow instance. Templated.
    :param enos_conn_id: the EnOS connection (default ``enos_default``).
    """

    template_fields: Sequence[str] = ("flow_instance_id",)
    hook_class = EnosHook
    trigger_class = EnosFlowInstanceTrigger

    def __init__(
        self, *, flow_instance_id: str, enos_conn_id: str = EnosHook.default_conn_name, **kwargs: Any
    ):
        super().__init__(conn_id=enos_conn_id, **kwargs)
        self.flow_instance_id = flow_instance_id
        self.enos_conn_id = enos_conn_id

    def run_ref(self) -> RunRef:
        return EnosHook.flow_ref(self.flow_instance_id)
