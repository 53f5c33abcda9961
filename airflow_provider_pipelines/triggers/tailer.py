"""The Tailer run trigger: the shared polling loop, bound to the Tailer hook."""

from __future__ import annotations

from airflow_provider_pipelines.core.trigger import PipelineRunTrigger
from airflow_provider_pipelines.hooks.tailer import TailerHook


class TailerJobRunTrigger(PipelineRunTrigger):
    """
    Polls a Tailer run until it ends. ``run_ref`` is the job identity with ``job_id`` and ``run_id``
    (:meth:`TailerHook.run_ref`), or a job's latest run (:meth:`TailerHook.last_status_ref`).
    """

    hook_class = TailerHook
