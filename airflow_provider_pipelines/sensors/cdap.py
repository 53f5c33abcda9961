"""A sensor that waits for a CDAP / Cloud Data Fusion run to end."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_provider_pipelines.core.sensor import PipelineRunSensor
from airflow_provider_pipelines.hooks.cdap import INSTANCE_FIELDS, CdapPipelineRunTask
from airflow_provider_pipelines.links.cdap import CdapPipelineLink, CdapPipelinesListLink
from airflow_provider_pipelines.triggers.cdap import CdapPipelineRunTrigger


class CdapPipelineRunSensor(CdapPipelineRunTask, PipelineRunSensor):
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

    template_fields: Sequence[str] = ("pipeline_name", "run_id", "namespace", *INSTANCE_FIELDS)
    operator_extra_links = (CdapPipelineLink(), CdapPipelinesListLink())
    trigger_class = CdapPipelineRunTrigger
