"""A sensor that waits for a CDAP / Cloud Data Fusion run to end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_pipelines.core.hook import RunRef
from airflow_provider_pipelines.core.sensor import PipelineRunSensor
from airflow_provider_pipelines.hooks.cdap import CdapHook, default_success_states, program
from airflow_provider_pipelines.links.cdap import CdapPipelineLink
from airflow_provider_pipelines.triggers.cdap import CdapPipelineRunTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class CdapPipelineRunSensor(PipelineRunSensor):
    """
    Wait for a CDAP / Cloud Data Fusion run to reach a terminal state; fail if it ends in failure.

    :param pipeline_name: the pipeline name. Templated.
    :param run_id: the run to watch. Templated.
    :param namespace: the CDAP namespace. Templated.
    :param pipeline_type: ``batch`` or ``streaming`` (for streaming, success is RUNNING by default).
    :param cdap_conn_id: the CDAP connection (default ``cdap_default``).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param success_states: CDAP statuses that count as success.
    :param failure_states: CDAP statuses that count as failure besides FAILED, KILLED, REJECTED.

    Plus BaseSensorOperator's ``mode`` (poke / reschedule), ``poke_interval`` and ``timeout``.
    """

    template_fields: Sequence[str] = ("pipeline_name", "run_id", "namespace")
    operator_extra_links = (CdapPipelineLink(),)
    hook_class = CdapHook
    trigger_class = CdapPipelineRunTrigger

    def __init__(
        self,
        *,
        pipeline_name: str,
        run_id: str,
        namespace: str = "default",
        pipeline_type: str = "batch",
        cdap_conn_id: str = CdapHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=cdap_conn_id, **kwargs)
        program(pipeline_type)
        self.pipeline_name = pipeline_name
        self.run_id = run_id
        self.namespace = namespace
        self.pipeline_type = pipeline_type
        self.cdap_conn_id = cdap_conn_id

    def default_success_states(self) -> list[str] | None:
        return default_success_states(self.pipeline_type)

    def run_ref(self) -> RunRef:
        return CdapHook.run_ref(self.pipeline_name, self.run_id, self.namespace, self.pipeline_type)

    def execute(self, context: Context) -> Any:
        hook = self.hook
        assert isinstance(hook, CdapHook)
        url = hook.pipeline_ui_url(self.pipeline_name, self.namespace)
        context["ti"].xcom_push(key=CdapPipelineLink.url_key, value=url)
        return super().execute(context)
