"""The FlowEngine run trigger: the shared polling loop, bound to the FlowEngine hook."""

from __future__ import annotations

from airflow_provider_pipelines.core.trigger import PipelineRunTrigger
from airflow_provider_pipelines.hooks.flowengine import FlowEngineHook


class FlowEnginePipelineRunTrigger(PipelineRunTrigger):
    """Polls a FlowEngine run (``run_ref``: ``run_id`` and ``pipeline_id``) until it ends."""

    hook_class = FlowEngineHook
