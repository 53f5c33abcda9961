"""The Daggy run trigger: the shared polling loop, bound to the Daggy hook."""

from __future__ import annotations

from airflow_provider_pipelines.core.trigger import PipelineRunTrigger
from airflow_provider_pipelines.hooks.daggy import DaggyHook


class DaggyRunTrigger(PipelineRunTrigger):
    """Polls a Daggy run (``run_ref``: ``{"run_id": <int>}``) until it ends."""

    hook_class = DaggyHook
