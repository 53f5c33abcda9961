"""The example platform's sensor: wait for a run started elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_pipelines.core.hook import RunRef
from airflow_provider_pipelines.core.sensor import PipelineRunSensor
from tests.example_platform.hook import ExampleHook
from tests.example_platform.trigger import ExampleRunTrigger


class ExampleRunSensor(PipelineRunSensor):
    """
    Wait for an example run to end; fail if it fails.

    :param run_id: the run. Templated.
    :param example_conn_id: the connection (default ``example_default``).
    """

    template_fields: Sequence[str] = ("run_id",)
    hook_class = ExampleHook
    trigger_class = ExampleRunTrigger

    def __init__(self, *, run_id: str, example_conn_id: str = ExampleHook.default_conn_name, **kwargs: Any):
        super().__init__(conn_id=example_conn_id, **kwargs)
        self.run_id = run_id
        self.example_conn_id = example_conn_id

    def run_ref(self) -> RunRef:
        return ExampleHook.run_ref(self.run_id)
