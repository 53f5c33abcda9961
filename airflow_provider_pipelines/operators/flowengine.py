"""Operators for FlowEngine (4Paradigm) offline pipelines: run, stop, resume, create, update, schedule."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.json_source import load_json_object
from airflow_provider_pipelines.core.operator import PipelineRunOperator
from airflow_provider_pipelines.core.start import Attempt
from airflow_provider_pipelines.core.states import RunState
from airflow_provider_pipelines.core.templating import StructuredTemplates
from airflow_provider_pipelines.hooks.flowengine import (
    FlowEngineHook,
    FlowEngineRunTask,
    FlowEngineTask,
    FlowEngineWaitingTask,
)
from airflow_provider_pipelines.lineage.task import OpenLineageMixin
from airflow_provider_pipelines.triggers.flowengine import FlowEnginePipelineRunTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

STOPPING_WAIT = 300.0  # seconds a resume waits for a run that is still stopping


def deep_merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied: nested objects are merged, anything else replaced."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class FlowEngineStartPipelineOperator(FlowEngineWaitingTask, PipelineRunOperator):
    """
    Run a FlowEngine offline pipeline now and wait for the run to end.

    Returns the run (history) id (XCom ``return_value``; ``run_id`` is pushed before waiting). When
    the start reply names no run, the new run is found in the pipeline's history: the run that was not
    there before the start (told apart from a concurrent start by its parameters, else the task fails
    rather than guess).

    :param pipeline_id: the pipeline. Templated.
    :param node_params: parameters per node: ``{"<nodeId>": {"key": "value"}}``. Nodes may also be
        named by their name or title; the ids are then looked up in the pipeline's detail. Templated.
    :param success_states: run statuses that count as success, replacing the defaults (success,
        succeeded, finished, completed; any case). Deprecated name: ``success_statuses``.
    :param failure_states: statuses that count as failure besides failed, error, killed, stopped.
        Deprecated name: ``failure_statuses``.
    :param flowengine_conn_id: the FlowEngine connection (default ``flowengine_default``).
    :param retry_from_failure: on a retry of a task whose run failed, resume that run from its failed
        nodes (``resumeHistory``) instead of starting the pipeline again (default False).

    Plus the waiting parameters of every operator of this provider (``wait_for_completion``,
    ``deferrable``, ``poll_interval``, ``timeout``, ``cancel_on_kill``, ``reattach_on_retry``...).
    An unknown status keeps the task waiting, with a warning, until ``timeout``: never success.
    """

    template_fields: Sequence[str] = ("pipeline_id", "node_params")
    template_fields_renderers = {"node_params": "json"}
    trigger_class = FlowEnginePipelineRunTrigger

    def __init__(
        self,
        *,
        pipeline_id: int | str,
        node_params: Mapping[str, Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline_id = pipeline_id
        self.node_params = node_params

    def run_spec(self) -> dict[str, Any]:
        return {"pipeline_id": self.pipeline_id}

    def start_run(self, hook: PipelineHook, context: Context, attempt: Attempt) -> RunRef:
        assert isinstance(hook, FlowEngineHook)
        params = hook.resolve_node_params(self.pipeline_id, self.node_params) if self.node_params else {}
        # Noted in the attempt: a lost reply's look-up tells this start's run by its parameters.
        attempt["params"] = params
        record = hook.start_pipeline(self.pipeline_id, params)
        if record is None:
            self.log.info("The start reply named no run: looking for it in the history")
            before = attempt.get("known_runs") or []
            record = hook.run(hook.find_new_run_plan(self.pipeline_id, before, params))
        return hook.run_ref(self.pipeline_id, record["id"])


class FlowEngineResumeRunOperator(FlowEngineRunTask, PipelineRunOperator):
    """
    Resume (restart) a stopped or failed FlowEngine run, then wait for it to end. A run that is
    still going (or going again) is followed, not resumed twice; a run that is still stopping is
    resumed once it has stopped; a run that succeeded makes the task succeed at once.

    :param pipeline_id: the pipeline. Templated.
    :param run_id: the run (history) id. Templated.
    :param flowengine_conn_id: the FlowEngine connection (default ``flowengine_default``).
    """

    template_fields: Sequence[str] = ("pipeline_id", "run_id")
    trigger_class = FlowEnginePipelineRunTrigger
    start_log = None  # start_run says whether it resumed or follows

    def run_spec(self) -> dict[str, Any]:
        return {"pipeline_id": self.pipeline_id, "resume_run_id": self.run_id}

    def start_run(self, hook: PipelineHook, context: Context, attempt: Attempt) -> RunRef:
        assert isinstance(hook, FlowEngineHook)
        ref = self.run_ref()
        status = hook.get_run_status(ref)
        deadline = time.time() + STOPPING_WAIT
        while status.raw_state.lower() == "stopping" and time.time() < deadline:
            # A stop is still going through: resume once it is done, or the resume would be refused.
            time.sleep(min(1.0, float(self.poll_interval)))
            status = hook.get_run_status(ref)
        if status.state is RunState.FAILED:
            hook.resume_run(self.run_id)
            self.log.info("Resumed FlowEngine run %s (was %s)", self.run_id, status.raw_state)
        else:
            self.log.info("FlowEngine run %s is %s: following it", self.run_id, status.raw_state)
        return ref

    def find_earlier_run(self, hook: PipelineHook, marker: str) -> RunRef | None:
        return None


class _FlowEngineOperator(StructuredTemplates, FlowEngineTask):
    @property
    def hook(self) -> FlowEngineHook:
        return FlowEngineHook(flowengine_conn_id=self.flowengine_conn_id)


class FlowEngineStopRunOperator(OpenLineageMixin, _FlowEngineOperator):
    """
    Stop a FlowEngine run (``DELETE .../{run_id}/stopHistory``).

    :param run_id: the run (history) id. Templated.
    :param flowengine_conn_id: the FlowEngine connection (default ``flowengine_default``).
    """

    template_fields: Sequence[str] = ("run_id",)

    def __init__(self, *, run_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id

    def execute(self, context: Context) -> Any:
        hook = self.hook
        ref = {"run_id": self.run_id}
        # A run already stopping or over (a repeat after a lost reply included) needs no stop.
        already = hook.cancel_run(ref)
        if already is None:
            self.log.info("Asked FlowEngine to stop run %s", self.run_id)
        else:
            self.log.info("FlowEngine run %s was already %s", self.run_id, already)
        return self.run_id


class FlowEngineCreatePipelineOperator(_FlowEngineOperator):
    """
    Create a pipeline from a template (the JSON FlowEngine exports; ``name``, ``describe`` and
    ``pipelineKey`` may be changed). Returns the new pipeline's id.

    :param template: the template: a dict, a JSON string or the path of a JSON file. Templated.
    :param flowengine_conn_id: the FlowEngine connection (default ``flowengine_default``).
    """

    template_fields: Sequence[str] = ("template",)
    template_fields_renderers = {"template": "json"}

    def __init__(self, *, template: Mapping[str, Any] | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.template = template

    def execute(self, context: Context) -> Any:
        detail = self.hook.create_pipeline(load_json_object(self.template, "FlowEngine template"))
        self.log.info("Created FlowEngine pipeline %s", detail.get("id"))
        return detail.get("id")


class FlowEngineUpdatePipelineOperator(_FlowEngineOperator):
    """
    Change a pipeline: read its detail, apply ``changes`` (nested objects merged, other values
    replaced) and send it back. Returns the updated detail.

    :param pipeline_id: the pipeline. Templated.
    :param changes: what to change, shaped like the detail, e.g.
        ``{"data": {"describe": "nightly"}}``. Templated.
    :param flowengine_conn_id: the FlowEngine connection (default ``flowengine_default``).
    """

    template_fields: Sequence[str] = ("pipeline_id", "changes")

    def __init__(self, *, pipeline_id: int | str, changes: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline_id = pipeline_id
        self.changes = changes

    def execute(self, context: Context) -> Any:
        hook = self.hook
        detail = deep_merge(hook.get_pipeline(self.pipeline_id), self.changes)
        updated = hook.update_pipeline(detail)
        self.log.info("Updated FlowEngine pipeline %s", self.pipeline_id)
        return updated


class FlowEngineSchedulePipelineOperator(_FlowEngineOperator):
    """
    Turn a pipeline's schedule (its crontab) on or off.

    :param pipeline_id: the pipeline. Templated.
    :param enabled: True to turn the schedule on, False to turn it off.
    :param flowengine_conn_id: the FlowEngine connection (default ``flowengine_default``).
    """

    template_fields: Sequence[str] = ("pipeline_id",)

    def __init__(self, *, pipeline_id: int | str, enabled: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline_id = pipeline_id
        self.enabled = enabled

    def execute(self, context: Context) -> None:
        self.hook.set_schedule(self.pipeline_id, self.enabled)
        self.log.info("FlowEngine pipeline %s schedule %s", self.pipeline_id, "on" if self.enabled else "off")


class FlowEngineUploadFileOperator(_FlowEngineOperator):
    """
    Upload a job file (for distributed runs). Returns what FlowEngine answers about the file.

    :param path: the local file. Templated.
    :param flowengine_conn_id: the FlowEngine connection (default ``flowengine_default``).
    """

    template_fields: Sequence[str] = ("path",)

    def __init__(self, *, path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path

    def execute(self, context: Context) -> Any:
        return self.hook.upload_file(self.path)
