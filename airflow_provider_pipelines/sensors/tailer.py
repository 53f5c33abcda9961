"""Sensors that wait for Tailer runs: one given run, or a job's latest run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_pipelines.core.hook import RunRef
from airflow_provider_pipelines.core.sensor import PipelineRunSensor
from airflow_provider_pipelines.hooks.tailer import JOB_FIELDS, TailerConfigurationTask, TailerHook
from airflow_provider_pipelines.triggers.tailer import TailerJobRunTrigger


class _TailerJobSensor(TailerConfigurationTask, PipelineRunSensor):
    trigger_class = TailerJobRunTrigger


class TailerJobRunSensor(_TailerJobSensor):
    """
    Wait for one Tailer run to end; fail if it ends FAILED, NO_MATCH or CHECKED.

    :param account: the Tailer account, e.g. ``000099``. Templated.
    :param environment: ``DEV``, ``PROD``... Templated.
    :param configuration_type: ``table-to-table``, ``table-to-storage``... Templated.
    :param configuration_id: the configuration id, as given to the launch task: a table-to-table id
        without the ``_<ENVIRONMENT>`` suffix gets it, as the launch operator does. Templated.
    :param job_id: the job, e.g. ``{{ ti.xcom_pull(task_ids='launch', key='job_id') }}``; default
        ``gbq-to-gbq|<configuration_id with its suffix>`` (table-to-table) or
        ``gbq-to-gcs|<configuration_id>`` (table-to-storage, inferred). Templated.
    :param run_id: the run to watch. Templated.
    :param tailer_conn_id: the Tailer connection (default ``tailer_default``).

    Plus ``deferrable``, ``success_states``, ``failure_states``, ``not_found_grace`` and
    BaseSensorOperator's ``mode``, ``poke_interval``, ``timeout``.
    """

    template_fields: Sequence[str] = (*JOB_FIELDS, "job_id", "run_id")

    def __init__(self, *, run_id: str, job_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.run_id = run_id

    def run_ref(self) -> RunRef:
        job, job_id = self.job_and_id(self.job_id)
        if not job_id:
            raise ValueError(f"give job_id: Tailer has no default job for {job['configuration_type']!r}")
        return TailerHook.run_ref(job, job_id, self.run_id)


class TailerLastStatusSensor(_TailerJobSensor):
    """
    Wait until the latest run of a Tailer job (optionally for one execution date) is SUCCESS: a
    dependency on another team's pipeline. Fails when that run ends FAILED (or NO_MATCH, CHECKED);
    keeps waiting while there is no run yet or it is RUNNING.

    :param account: the Tailer account. Templated.
    :param environment: the environment. Templated.
    :param configuration_type: the configuration type. Templated.
    :param configuration_id: the configuration id, as given to the launch task: a table-to-table id
        without the ``_<ENVIRONMENT>`` suffix gets it, as the launch operator does. Templated.
    :param execution_date: only runs of this date (``YYYY-MM-DD``), e.g. ``{{ ds }}``. Templated.
    :param tailer_conn_id: the Tailer connection (default ``tailer_default``).
    """

    template_fields: Sequence[str] = (*JOB_FIELDS, "execution_date")

    def __init__(self, *, execution_date: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.execution_date = execution_date

    def run_ref(self) -> RunRef:
        return TailerHook.last_status_ref(self.job(), self.execution_date or None)
