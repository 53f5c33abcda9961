"""Operators that start and stop CDAP / Cloud Data Fusion pipeline runs, and deploy, delete and list
pipelines (CDAP applications)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_pipelines.core.errors import PipelineError
from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.json_source import load_json_object
from airflow_provider_pipelines.core.operator import PipelineRunOperator
from airflow_provider_pipelines.core.start import Attempt
from airflow_provider_pipelines.core.templating import StructuredTemplates
from airflow_provider_pipelines.hooks.cdap import (
    INSTANCE_FIELDS,
    MARKER_ARG,
    CdapHook,
    CdapPipelineRunTask,
    CdapPipelineTask,
    CdapTask,
    push_links,
    runtime_arg_text,
)
from airflow_provider_pipelines.lineage.task import OpenLineageMixin
from airflow_provider_pipelines.links.cdap import CdapPipelineLink, CdapPipelinesListLink
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

    template_fields: Sequence[str] = ("pipeline_name", "namespace", "runtime_args", *INSTANCE_FIELDS)
    template_fields_renderers = {"runtime_args": "json"}
    operator_extra_links = (CdapPipelineLink(), CdapPipelinesListLink())
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


class CdapStopPipelineOperator(OpenLineageMixin, CdapPipelineRunTask):
    """
    Stop one run of a CDAP / Cloud Data Fusion pipeline (the run-level stop: only that run).

    :param pipeline_name: the pipeline name. Templated.
    :param run_id: the run to stop, e.g. ``{{ ti.xcom_pull('start', key='run_id') }}``. Templated.
    :param namespace: the CDAP namespace. Templated.
    :param pipeline_type: ``batch`` or ``streaming``.
    :param cdap_conn_id: the CDAP connection (default ``cdap_default``).
    """

    template_fields: Sequence[str] = ("pipeline_name", "run_id", "namespace", *INSTANCE_FIELDS)
    operator_extra_links = (CdapPipelineLink(), CdapPipelinesListLink())

    def execute(self, context: Context) -> str:
        hook = self.hook
        self.persist_links(hook, context)
        ref = self.run_ref()
        # A run already stopping or over (CDAP answers 400, or a repeat after a lost reply) is stopped.
        already = hook.cancel_run(ref)
        if already is None:
            self.log.info("Asked CDAP to stop %s", hook.describe_run(ref))
        else:
            self.log.info("%s was already %s", hook.describe_run(ref), already)
        return self.run_id


# -- pipelines: deploy, delete, list --------------------------------------------------------------


class CdapCreatePipelineOperator(StructuredTemplates, CdapTask):
    """
    Deploy a pipeline (``PUT /v3/namespaces/{ns}/apps/{pipeline}``), or replace the pipeline of that
    name when ``replace`` is True. Returns the application record CDAP answers (``name``, ``version``,
    ``artifact``...; ``{}`` from CDAP versions that answer text).

    :param pipeline_name: the pipeline's name. Templated.
    :param pipeline: the pipeline JSON (``{"artifact": {...}, "config": {...}}``, as the Studio exports
        it): a dict, a JSON string, or the path of a JSON file. Templated (in a dict, every string;
        CDAP's own ``${macros}`` are left alone).
    :param namespace: the CDAP namespace. Templated.
    :param replace: replace a pipeline that already has this name (default False: such a pipeline fails
        the task, naming it, and is left as it is).
    :param cdap_conn_id: the CDAP connection (default ``cdap_default``).
    """

    template_fields: Sequence[str] = ("pipeline_name", "pipeline", "namespace", *INSTANCE_FIELDS)
    template_fields_renderers = {"pipeline": "json"}
    operator_extra_links = (CdapPipelineLink(), CdapPipelinesListLink())

    def __init__(
        self,
        *,
        pipeline_name: str,
        pipeline: Mapping[str, Any] | str,
        replace: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline_name = pipeline_name
        self.pipeline = pipeline
        self.replace = replace

    def execute(self, context: Context) -> dict[str, Any]:
        hook = self.hook
        what = f"CDAP pipeline {self.pipeline_name!r}"
        body = load_json_object(self.pipeline, f"the JSON of {what}")
        if not self.replace:
            existing = {item.get("name") for item in hook.list_pipelines(self.namespace)}
            if self.pipeline_name in existing:
                raise PipelineError(
                    f"{what} already exists in namespace {self.namespace!r}: set replace=True to replace "
                    "it, or delete it first"
                )
        push_links(hook, context, self.namespace, self.pipeline_name)
        record = hook.create_pipeline(self.pipeline_name, body, self.namespace)
        verb = "Replaced" if self.replace else "Deployed"
        self.log.info("%s %s in namespace %s", verb, what, self.namespace)
        return record


class CdapDeletePipelineOperator(CdapTask):
    """
    Delete a pipeline (``DELETE /v3/namespaces/{ns}/apps/{pipeline}``), or one version of it. While
    CDAP refuses because the pipeline is in use (HTTP 409: a run is still active), the delete is tried
    again with backoff for up to ``conflict_timeout`` seconds.

    :param pipeline_name: the pipeline's name. Templated.
    :param version: delete only this version of the pipeline. Templated.
    :param namespace: the CDAP namespace. Templated.
    :param missing_ok: succeed when there is no such pipeline (default False: fail, naming it).
    :param conflict_timeout: seconds to keep trying while the pipeline is in use (default 300).
    :param cdap_conn_id: the CDAP connection (default ``cdap_default``).
    """

    template_fields: Sequence[str] = ("pipeline_name", "version", "namespace", *INSTANCE_FIELDS)
    operator_extra_links = (CdapPipelinesListLink(),)

    def __init__(
        self,
        *,
        pipeline_name: str,
        version: str | None = None,
        missing_ok: bool = False,
        conflict_timeout: float = 300.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline_name = pipeline_name
        self.version = version
        self.missing_ok = missing_ok
        self.conflict_timeout = conflict_timeout

    def execute(self, context: Context) -> bool:
        hook = self.hook
        push_links(hook, context, self.namespace)
        deleted = hook.delete_pipeline(
            self.pipeline_name,
            self.namespace,
            self.version or None,
            conflict_timeout=self.conflict_timeout,
            missing_ok=self.missing_ok,
        )
        what = f"CDAP pipeline {self.pipeline_name!r}" + (
            f" version {self.version!r}" if self.version else ""
        )
        if deleted:
            self.log.info("Deleted %s from namespace %s", what, self.namespace)
        else:
            self.log.info("%s is not in namespace %s: nothing to delete", what, self.namespace)
        return deleted


class CdapListPipelinesOperator(CdapTask):
    """
    List the pipelines of a namespace (``GET /v3/namespaces/{ns}/apps``); returns them (XCom): each
    with ``name``, ``version``, ``description`` and ``artifact``.

    :param namespace: the CDAP namespace. Templated.
    :param artifact_name: only pipelines of these artifacts (``cdap-data-pipeline`` for batch,
        ``cdap-data-streams`` for streaming): a name, a list, or comma-separated names. Templated.
    :param artifact_version: only pipelines of this artifact version. Templated.
    :param cdap_conn_id: the CDAP connection (default ``cdap_default``).
    """

    template_fields: Sequence[str] = ("namespace", "artifact_name", "artifact_version", *INSTANCE_FIELDS)
    operator_extra_links = (CdapPipelinesListLink(),)

    def __init__(
        self,
        *,
        artifact_name: str | Sequence[str] | None = None,
        artifact_version: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.artifact_name = artifact_name
        self.artifact_version = artifact_version

    def execute(self, context: Context) -> list[dict[str, Any]]:
        hook = self.hook
        push_links(hook, context, self.namespace)
        pipelines = hook.list_pipelines(self.namespace, self.artifact_name, self.artifact_version)
        self.log.info("%d pipeline(s) in namespace %s", len(pipelines), self.namespace)
        return pipelines


# Cloud Data Fusion's instance operators live in operators/cdap_instances.py (with the Data Fusion hook
# they need), imported only when a DAG asks for one.
_INSTANCE_OPERATORS = frozenset(
    {
        "CdapCreateInstanceOperator",
        "CdapGetInstanceOperator",
        "CdapUpdateInstanceOperator",
        "CdapRestartInstanceOperator",
        "CdapDeleteInstanceOperator",
    }
)


def __getattr__(name: str) -> Any:
    if name in _INSTANCE_OPERATORS:
        from airflow_provider_pipelines.operators import cdap_instances

        return getattr(cdap_instances, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    pass
