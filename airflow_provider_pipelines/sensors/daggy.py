"""A sensor that waits for a Daggy run to end."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_pipelines.core.sensor import PipelineRunSensor
from airflow_provider_pipelines.hooks.daggy import DaggyRunTask
from airflow_provider_pipelines.triggers.daggy import DaggyRunTrigger


class DaggyRunSensor(DaggyRunTask, PipelineRunSensor):
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
    trigger_class = DaggyRunTrigger
