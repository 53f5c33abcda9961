"""A sensor that waits for a FlowEngine pipeline run to end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_pipelines.core.hook import RunRef
from airflow_provider_pipelines.core.sensor import PipelineRunSensor
from airflow_provider_pipelines.hooks.flowengine import FlowEngineHook
from airflow_provider_pipelines.triggers.flowengine import FlowEnginePipelineRunTrigger


class FlowEnginePipelineRunSensor(PipelineRunSensor):
    """
    Wait for a FlowEngine run (a history record) to end; fail when it ends in failure.

    FlowEngine does not publish its statuses: the defaults (ignoring case) are init, pending, waiting,
    running, stopping in progress; success, succeeded, finished, completed success; failed, error,
    killed, stopped failure. Anything else keeps the sensor waiting, with a warning, never succeeding.

    :param pipeline_id: the pipeline. Templated.
    :param run_id: the run (history) id. Templated.
    :param flowengine_conn_id: the FlowEngine connection (default ``flowengine_default``).
    :param success_statuses: statuses that count as success, replacing the defaults.
    :param failure_statuses: statuses that count as failure, besides the defaults.

    Plus ``deferrable`` and BaseSensorOperator's ``mode``, ``poke_interval``, ``timeout``.
    """

    template_fields: Sequence[str] = ("pipeline_id", "run_id")
    hook_class = FlowEngineHook
    trigger_class = FlowEnginePipelineRunTrigger

    def __init__(
        self,
        *,
        pipeline_id: int | str,
        run_id: int | str,
        success_statuses: list[str] | None = None,
        failure_statuses: list[str] | None = None,
        flowengine_conn_id: str = FlowEngineHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("success_states", success_statuses)
        kwargs.setdefault("failure_states", failure_statuses)
        super().__init__(conn_id=flowengine_conn_id, **kwargs)
        self.pipeline_id = pipeline_id
        self.run_id = run_id
        self.flowengine_conn_id = flowengine_conn_id

    def run_ref(self) -> RunRef:
        return FlowEngineHook.run_ref(self.pipeline_id, self.run_id)
