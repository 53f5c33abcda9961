"""A sensor that waits for a FlowEngine pipeline run to end."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_pipelines.core.sensor import PipelineRunSensor
from airflow_provider_pipelines.hooks.flowengine import FlowEngineRunTask
from airflow_provider_pipelines.triggers.flowengine import FlowEnginePipelineRunTrigger


class FlowEnginePipelineRunSensor(FlowEngineRunTask, PipelineRunSensor):
    """
    Wait for a FlowEngine run (a history record) to end; fail when it ends in failure.

    FlowEngine does not publish its statuses: the defaults (ignoring case) are init, pending, waiting,
    running, stopping in progress; success, succeeded, finished, completed success; failed, error,
    killed, stopped failure. Anything else keeps the sensor waiting, with a warning, never succeeding.

    :param pipeline_id: the pipeline. Templated.
    :param run_id: the run (history) id. Templated.
    :param flowengine_conn_id: the FlowEngine connection (default ``flowengine_default``).
    :param success_states: statuses that count as success, replacing the defaults. Deprecated name:
        ``success_statuses``.
    :param failure_states: statuses that count as failure, besides the defaults. Deprecated name:
        ``failure_statuses``.

    Plus ``deferrable`` and BaseSensorOperator's ``mode``, ``poke_interval``, ``timeout``.
    """

    template_fields: Sequence[str] = ("pipeline_id", "run_id")
    trigger_class = FlowEnginePipelineRunTrigger
