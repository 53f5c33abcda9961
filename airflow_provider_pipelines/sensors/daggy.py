"""A sensor that waits for a Daggy run to end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_pipelines.core.hook import RunRef
from airflow_provider_pipelines.core.sensor import PipelineRunSensor
from airflow_provider_pipelines.hooks.daggy import DaggyHook
from airflow_provider_pipelines.triggers.daggy import DaggyRunTrigger


class DaggyRunSensor(PipelineRunSensor):
    """
    Wait for a Daggy run to reach a terminal state; fail, naming the failed tasks, if it ends
    ERRORED or KILLED.

    :param run_id: the Daggy ``runID``. Templated.
    :param daggy_conn_id: the Daggy connection (default ``daggy_default``).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param success_states: Daggy run states that count as success (default COMPLETED).
    :param failure_states: states that count as failure besides ERRORED and KILLED.

    Plus BaseSensorOperator's ``mode`` (poke / reschedule), ``poke_interval`` and ``timeout``.
    """

    template_fields: Sequence[str] = ("run_id",)
    hook_class = DaggyHook
    trigger_class = DaggyRunTrigger

    def __init__(
        self, *, run_id: int | str, daggy_conn_id: str = DaggyHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(conn_id=daggy_conn_id, **kwargs)
        self.run_id = run_id
        self.daggy_conn_id = daggy_conn_id

    def run_ref(self) -> RunRef:
        return DaggyHook.run_ref(self.run_id)
