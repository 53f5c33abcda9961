"""Operators that start and stop CDAP / Cloud Data Fusion pipeline runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.operator import PipelineRunOperator
from airflow_provider_pipelines.core.start import Attempt
from airflow_provider_pipelines.hooks.cdap import (
    MARKER_ARG,
    CdapHook,
    CdapPipelineRunTask,
    CdapPipelineTask,
    runtime_arg_text,
)
from airflow_provider_pipelines.links.cdap import CdapPipelineLink
from airflow_provider_pipelines.triggers.cdap import CdapPipelineRunTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class CdapStartPipelineOperator(CdapPipelineTask, PipelineRunOperator):
    """
    Start a CDAP / Cloud Data Fusion pipeline run and wait for it to end.

    Returns the run id (XCom ``return_value``); XCom ``run_id`` is pushed as soon as the run has
    started, before waiting. A failed run fails the task with its final status and the tail of its
    log in the task log.

    :param pipeline_name: the deployed pipeline (CDAP application) name. Templated.
    :param namespace: the CDAP namespace. Templated.
    :param runtime_args: runtime arguments (macros) for this run. Templated. CDAP reads every value
        as a string: strings are sent as they are; numbers, booleans, dicts and lists as JSON text
        (``3``, ``2.5``, ``true``, ``{"a":1}``). ``None`` is refused (a ``ValueError`` naming the key):
        when the DAG is parsed for a value given as is, before the start for one a template rendered.
    :param pipeline_type: ``batch`` (DataPipelineWorkflow) or ``streaming`` (DataStreamsSparkStreaming).
        For streaming pipelines the default success state is RUNNING: the task succeeds once the
        pipeline runs.
    :param cdap_conn_id: the CDAP connection (default ``cdap_default``).
    :param wait_for_completion: wait for the run to end (default True).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poll_interval: seconds between status reads (default 10).
    :param timeout: seconds to wait before cancelling the run and failing.
    :param cancel_on_kill: stop the run when the task is killed or times out (default True).
    :param success_states: CDAP statuses that count as success (default COMPLETED; RUNNING for streaming).
    :param failure_states: CDAP statuses that count as failure besides FAILED, KILLED, REJECTED.
    :param reattach_on_retry: on a retry, wait on the run an earlier try started instead of starting
        another (default True). Every start carries a runtime argument ``airflow.pipelines.task``
        naming the task instance, by which a run is found again when Airflow's task state store
        (3.3+) is not there, or when the reply to a start was lost.
    :param not_found_grace: seconds after the start during which CDAP answering 404 for the run
        means "not recorded yet" rather than "gone" (default 60).
    """

    template_fields: Sequence[str] = ("pipeline_name", "namespace", "runtime_args")
    template_fields_renderers = {"runtime_args": "json"}
    operator_extra_links = (CdapPipelineLink(),)
    trigger_class = CdapPipelineRunTrigger

    def __init__(self, *, runtime_args: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(runtime_args, Mapping):
            for key, value in runtime_args.items():
                if value is None:
                    runtime_arg_text(key, value)  # raises, naming the key
        self.runtime_args = runtime_args

    def run_spec(self) -> dict[str, Any]:
        return {
            "pipeline_name": self.pipeline_name,
            "namespace": self.namespace,
            "pipeline_type": self.pipeline_type,
        }

    def start_run(self, hook: PipelineHook, context: Context, attempt: Attempt) -> RunRef:
        assert isinstance(hook, CdapHook)
        args = {**(self.runtime_args or {}), MARKER_ARG: attempt["marker"]}
        return self.pipeline_run(
            hook.start_pipeline(self.pipeline_name, self.namespace, args, self.pipeline_type)
        )


class CdapStopPipelineOperator(CdapPipelineRunTask):
    """
    Stop one run of a CDAP / Cloud Data Fusion pipeline (the run-level stop: only that run).

    :param pipeline_name: the pipeline name. Templated.
    :param run_id: the run to stop, e.g. ``{{ ti.xcom_pull('start', key='run_id') }}``. Templated.
    :param namespace: the CDAP namespace. Templated.
    :param pipeline_type: ``batch`` or ``streaming``.
    :param cdap_conn_id: the CDAP connection (default ``cdap_default``).
    """

    template_fields: Sequence[str] = ("pipeline_name", "run_id", "namespace")

    def execute(self, context: Context) -> str:
        hook = CdapHook(cdap_conn_id=self.cdap_conn_id)
        ref = self.run_ref()
        # A run already stopping or over (CDAP answers 400, or a repeat after a lost reply) is stopped.
        already = hook.cancel_run(ref)
        if already is None:
            self.log.info("Asked CDAP to stop %s", hook.describe_run(ref))
        else:
            self.log.info("%s was already %s", hook.describe_run(ref), already)
        return self.run_id
