"""The CDAP run trigger: the shared polling loop, bound to the CDAP hook."""

from __future__ import annotations

from airflow_provider_pipelines.core.trigger import PipelineRunTrigger
from airflow_provider_pipelines.hooks.cdap import CdapHook


class CdapPipelineRunTrigger(PipelineRunTrigger):
    """
    Polls a CDAP / Data Fusion run until it ends. ``run_ref`` holds ``run_id``, ``pipeline_name``,
    ``namespace`` and ``pipeline_type`` (a streaming run succeeds once RUNNING, as
    :meth:`CdapHook.success_states` says); the other parameters are :class:`PipelineRunTrigger`'s.
    """

    hook_class = CdapHook
