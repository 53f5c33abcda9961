"""The example platform's trigger: the shared polling loop, bound to its hook."""

from __future__ import annotations

from airflow_provider_pipelines.core.trigger import PipelineRunTrigger
from tests.example_platform.hook import ExampleHook


class ExampleRunTrigger(PipelineRunTrigger):
    """Polls an example run (``run_ref``: ``{"run_id": <str>}``) until it ends."""

    hook_class = ExampleHook
