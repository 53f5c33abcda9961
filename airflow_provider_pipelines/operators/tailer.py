"""Operators that launch Tailer jobs and manage workflows and configurations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.operator import PipelineRunOperator
from airflow_provider_pipelines.core.start import Attempt
from airflow_provider_pipelines.hooks.tailer import JOB_FIELDS, TailerConfigurationTask, TailerHook
from airflow_provider_pipelines.lineage.task import TailerLineageTask
from airflow_provider_pipelines.triggers.tailer import TailerJobRunTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class TailerLaunchJobOperator(TailerLineageTask, TailerConfigurationTask, PipelineRunOperator):
    """
    Launch a Tailer job (table-to-table or table-to-storage) and wait for its run to end.

    Returns the ``run_id`` (XCom ``return_value``; XCom ``run_id`` is pushed before waiting, and
    XCom ``job_id`` too). For a table-to-table configuration the API wants the id with the
    environment suffix (``000099_sales_DEV``): when it is missing, the operator adds it and says so
    (:func:`~airflow_provider_pipelines.hooks.tailer.api_configuration_id`, the rule every Tailer
    operator and sensor follows).
    Tailer has no API to stop a run: on timeout or kill the task fails and the run goes on.

    :param account: the Tailer account, e.g. ``000099``. Templated.
    :param environment: ``DEV``, ``PROD``... Templated.
    :param configuration_type: ``table-to-table`` or ``table-to-storage``. Templated.
    :param configuration_id: the configuration id, with or without the ``_<ENVIRONMENT>`` suffix of
        table-to-table configurations. Templated.
    :param execution_date: the run's execution date (``YYYY-MM-DD``), e.g. ``{{ ds }}``. Templated.
    :param job_id: the job to launch; default ``gbq-to-gbq|<configuration_id>`` (table-to-table) or
        ``gbq-to-gcs|<configuration_id>`` (table-to-storage, inferred). Templated.
    :param tailer_conn_id: the Tailer connection (default ``tailer_default``).
    :param source_tables: for OpenLineage, the tables the job reads (``project.dataset.table``), since
        Tailer's API does not say. Templated.
    :param destinations: for OpenLineage, what the job writes: tables (``project.dataset.table``) or
        files (``gs://bucket/path``). Templated.

    Plus the waiting parameters of every operator of this provider (``wait_for_completion``,
    ``deferrable``, ``poll_interval``, ``timeout``, ``success_states``, ``failure_states``,
    ``reattach_on_retry``, ``not_found_grace``: how long an empty status right after the launch is
    read as "not recorded yet", default 60 s).
    """

    template_fields: Sequence[str] = (
        *JOB_FIELDS,
        "execution_date",
        "job_id",
        "source_tables",
        "destinations",
    )
    trigger_class = TailerJobRunTrigger

    def __init__(
        self, *, execution_date: str | None = None, job_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.execution_date = execution_date
        self.job_id = job_id

    def run_spec(self) -> dict[str, Any]:
        job, job_id = self.job_and_id(self.job_id)
        return {"job": job, "job_id": job_id}

    def remember(self, context: Context, run: RunRef) -> None:
        super().remember(context, run)
        context["ti"].xcom_push(key="job_id", value=run["job_id"])

    def start_run(self, hook: PipelineHook, context: Context, attempt: Attempt) -> RunRef:
        assert isinstance(hook, TailerHook)
        spec = self.run_spec()
        job, job_id = spec["job"], spec["job_id"]
        if job["configuration_id"] != str(self.configuration_id):
            self.log.info(
                "Tailer addresses table-to-table configurations with their environment: using %s",
                job["configuration_id"],
            )
        if not job_id:
            raise ValueError(f"give job_id: Tailer has no default job for {job['configuration_type']!r}")
        run_id = hook.launch_job(job, execution_date=self.execution_date or None, job_id=self.job_id or None)
        return hook.run_ref(job, job_id, run_id)


class TailerResetWorkflowOperator(TailerConfigurationTask):
    """
    Reset a Tailer workflow: its triggering jobs' states are forgotten and it starts from scratch.

    :param account: the Tailer account. Templated.
    :param environment: the environment. Templated.
    :param configuration_id: the workflow configuration id (sent as given; a table-to-table id would
        get its ``_<ENVIRONMENT>`` suffix, as for every Tailer operator). Templated.
    :param configuration_type: ``workflow`` (the default). Templated.
    :param tailer_conn_id: the Tailer connection (default ``tailer_default``).
    """

    def __init__(self, *, configuration_type: str = "workflow", **kwargs: Any) -> None:
        super().__init__(configuration_type=configuration_type, **kwargs)

    def execute(self, context: Context) -> dict[str, Any]:
        job = self.job()
        reply = TailerHook(tailer_conn_id=self.tailer_conn_id).reset_workflow_status(job)
        self.log.info("Reset Tailer workflow %s (%s)", job["configuration_id"], self.environment)
        return reply


class TailerSetConfigurationStatusOperator(TailerConfigurationTask):
    """
    Activate, deactivate or archive a Tailer configuration (data operation).

    :param account: the Tailer account. Templated.
    :param environment: the environment. Templated.
    :param configuration_type: the configuration type. Templated.
    :param configuration_id: the configuration id; a table-to-table id without the ``_<ENVIRONMENT>``
        suffix gets it, as for the launch operator and the sensors. Templated.
    :param activated: True to enable, False to disable.
    :param archived: True to archive (default False).
    :param tailer_conn_id: the Tailer connection (default ``tailer_default``).
    """

    def __init__(self, *, activated: bool, archived: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activated = activated
        self.archived = archived

    def execute(self, context: Context) -> dict[str, Any]:
        hook = TailerHook(tailer_conn_id=self.tailer_conn_id)
        job = self.job()
        reply = hook.set_configuration_status(job, activated=self.activated, archived=self.archived)
        self.log.info(
            "Tailer configuration %s: activated=%s archived=%s",
            job["configuration_id"],
            self.activated,
            self.archived,
        )
        return reply
