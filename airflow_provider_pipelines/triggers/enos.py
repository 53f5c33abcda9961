"""EnOS triggers: the shared polling loop, bound to the EnOS hook, for pipelines and flow instances."""

from __future__ import annotations

from airflow_provider_pipelines.core.trigger import PipelineRunTrigger
from airflow_provider_pipelines.hooks.enos import EnosHook


class EnosStreamingPipelineTrigger(PipelineRunTrigger):
    """Polls the paged pipeline list until a streaming pipeline reaches its target status
    (``run_ref`` from :meth:`EnosHook.streaming_ref`)."""

    hook_class = EnosHook


class EnosFlowInstanceTrigger(PipelineRunTrigger):
    """Polls a batch data flow instance until it ends (``run_ref`` from :meth:`EnosHook.flow_ref`)."""

    hook_class = EnosHook
