"""The CDAP run trigger: the shared polling loop, bound to the CDAP hook."""

from __future__ import annotations

from airflow_provider_pipelines.core.trigger import PipelineRunTrigger
from airflow_provider_pipelines.hooks.cdap import CdapHook, default_success_states


class CdapPipelineRunTrigger(PipelineRunTrigger):
    """
    Polls a CDAP / Data Fusion run until it ends. ``run_ref`` holds ``run_id``, ``pipeline_name``,
    ``namespace`` and ``pipeline_type``; the other parameters are :class:`PipelineRunTrigger`'s.
    """

    hook_class = CdapHook

    def default_success_states(self) -> list[str] | None:
        return default_success_states(self.run_ref.get("pipeline_type", "batch"))
