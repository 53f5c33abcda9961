"""Operators that submit Daggy DAGs and act on their runs and tasks."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.json_source import load_json_object
from airflow_provider_pipelines.core.operator import PipelineRunOperator
from airflow_provider_pipelines.core.start import Attempt
from airflow_provider_pipelines.hooks.daggy import (
    FAILED_TASK_STATES,
    DaggyHook,
    DaggyRunTask,
    DaggyTask,
    tag_with_marker,
)
from airflow_provider_pipelines.lineage.task import OpenLineageMixin
from airflow_provider_pipelines.triggers.daggy import DaggyRunTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


DAGGY_TASK_DONE = frozenset({"COMPLETED", "ERRORED", "KILLED"})


def load_dag_spec(dag_spec: Mapping[str, Any] | str) -> dict[str, Any]:
    """A Daggy DAG from a dict, a JSON string or the path of a JSON file."""
    return load_json_object(dag_spec, "Daggy dag_spec")


def daggy_parameter_names(dag_spec: Any) -> list[str]:
    """The names a DAG declares under ``parameters``, when they can be read without loading files."""
    spec = dag_spec
    if isinstance(dag_spec, str) and dag_spec.strip().startswith("{"):
        try:
            spec = json.loads(dag_spec)
        except ValueError:
            return []
    params = spec.get("parameters") if isinstance(spec, Mapping) else None
    return [str(name) for name in params] if isinstance(params, Mapping) else []


class DaggySubmitDagOperator(DaggyTask, PipelineRunOperator):
    """
    Submit a DAG to Daggy and wait for its run to end.

    Returns the integer ``runID`` (XCom ``return_value``); XCom ``run_id`` is pushed before waiting.
    While waiting, the task log shows task counts by state as they change. A run that ends ERRORED
    or KILLED fails the task, naming the failed Daggy tasks, with each one's last attempt (``rc``,
    the tails of its ``errorLog``, ``outputLog`` and ``executorLog``) in the log.

    Daggy's own ``{{NAME}}`` parameter references (no spaces, NAME declared under ``parameters``) are
    left for Daggy; everything else in the spec is an Airflow template.

    :param dag_spec: the Daggy DAG: a dict, a JSON string, or the path of a JSON file. Templated.
    :param validate: ask Daggy to validate the DAG before submitting it (default True); an invalid
        DAG fails the task with the server's reason, and nothing is submitted.
    :param daggy_conn_id: the Daggy connection (default ``daggy_default``).
    :param retry_from_failure: on a retry of a task whose run failed, re-queue that run (its ERRORED
        and KILLED tasks run again) instead of submitting the DAG again (default False).

    The waiting parameters (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``timeout``,
    ``cancel_on_kill``, ``success_states``, ``failure_states``, ``reattach_on_retry``) are those of
    every operator of this provider. The run's ``tag`` gets a ``[airflow:<task>]`` suffix by which a
    retry finds the run again.
    """

    template_fields: Sequence[str] = ("dag_spec",)
    template_fields_renderers = {"dag_spec": "json"}
    trigger_class = DaggyRunTrigger

    def __init__(self, *, dag_spec: Mapping[str, Any] | str, validate: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dag_spec = dag_spec
        self.validate = validate

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        names = daggy_parameter_names(self.dag_spec)
        self._daggy_references = (
            re.compile(r"\{\{(" + "|".join(map(re.escape, names)) + r")\}\}") if names else None
        )
        super().render_template_fields(context, jinja_env)

    def template_text(self, text: str) -> str:
        """Daggy's own ``{{NAME}}`` references are kept from Jinja."""
        pattern = getattr(self, "_daggy_references", None)
        if pattern is not None and pattern.search(text):
            return pattern.sub(r"{% raw %}{{\1}}{% endraw %}", text)
        return text

    def render_template(
        self, content: Any, context: Any, jinja_env: Any = None, seen_oids: Any = None
    ) -> Any:
        if isinstance(content, str):  # the whole spec as a JSON string; a dict's strings go to template_text
            content = self.template_text(content)
        return super().render_template(content, context, jinja_env, seen_oids)

    def run_spec(self) -> dict[str, Any]:
        return {}

    def start_run(self, hook: PipelineHook, context: Context, attempt: Attempt) -> RunRef:
        assert isinstance(hook, DaggyHook)
        spec = load_dag_spec(self.dag_spec)
        spec["tag"] = tag_with_marker(spec.get("tag"), attempt["marker"])
        if self.validate:
            hook.validate_dag(spec)
        return hook.run_ref(hook.submit_dag(spec))


class _DaggyRequeueOperator(DaggyRunTask, PipelineRunOperator):
    """Re-queue part of an errored or killed run, then (optionally) wait for the run to end."""

    trigger_class = DaggyRunTrigger

    def run_spec(self) -> dict[str, Any]:
        return {"run_id": self.run_id}

    def requeue(self, hook: DaggyHook) -> None:
        """Re-queue what has failed; what is not ERRORED or KILLED (re-queued already, by an earlier try
        or by hand) is left alone and the run is followed as it is."""
        raise NotImplementedError

    start_log = None  # requeue() says what it did

    def start_run(self, hook: PipelineHook, context: Context, attempt: Attempt) -> RunRef:
        assert isinstance(hook, DaggyHook)
        self.requeue(hook)
        return self.run_ref()

    def find_earlier_run(self, hook: PipelineHook, marker: str) -> RunRef | None:
        return None


class DaggyRequeueRunOperator(_DaggyRequeueOperator):
    """
    Resume an ERRORED or KILLED Daggy run (``PATCH /v1/dagrun/{run_id}/state/QUEUED``): its failed
    and killed tasks run again. Then waits for the run to end, like :class:`DaggySubmitDagOperator`.

    :param run_id: the Daggy ``runID``. Templated.
    :param daggy_conn_id: the Daggy connection (default ``daggy_default``).

    Plus the waiting parameters of every operator of this provider (``wait_for_completion``...).
    """

    template_fields: Sequence[str] = ("run_id",)

    def requeue(self, hook: DaggyHook) -> None:
        state = hook.get_run_state(self.run_id)
        if state.upper() in FAILED_TASK_STATES:
            hook.set_run_state(self.run_id, "QUEUED")
            self.log.info("Re-queued Daggy run %s (was %s)", self.run_id, state)
        else:
            self.log.info("Daggy run %s is %s: nothing to re-queue, following it", self.run_id, state)


class DaggyRequeueTaskOperator(_DaggyRequeueOperator):
    """
    Retry one ERRORED or KILLED task of a Daggy run
    (``PATCH /v1/dagrun/{run_id}/task/{task_name}/state/QUEUED``), then wait for the run to end.

    :param run_id: the Daggy ``runID``. Templated.
    :param task_name: the (expanded) task name, e.g. ``simple_1``. Templated.
    :param daggy_conn_id: the Daggy connection (default ``daggy_default``).
    """

    template_fields: Sequence[str] = ("run_id", "task_name")

    def __init__(self, *, task_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.task_name = task_name

    def requeue(self, hook: DaggyHook) -> None:
        state = hook.get_task_state(self.run_id, self.task_name)
        if state.upper() in FAILED_TASK_STATES:
            hook.set_task_state(self.run_id, self.task_name, "QUEUED")
            self.log.info("Re-queued task %s of Daggy run %s", self.task_name, self.run_id)
        else:
            self.log.info("Task %s of Daggy run %s is %s: not re-queued", self.task_name, self.run_id, state)


class DaggyKillRunOperator(OpenLineageMixin, DaggyRunTask):
    """
    Kill a Daggy run (``DELETE /v1/dagrun/{run_id}``).

    :param run_id: the Daggy ``runID``. Templated.
    :param daggy_conn_id: the Daggy connection (default ``daggy_default``).
    """

    template_fields: Sequence[str] = ("run_id",)

    def execute(self, context: Context) -> int:
        hook = DaggyHook(daggy_conn_id=self.daggy_conn_id)
        ref = self.run_ref()
        # A run already over (a repeat after a lost reply included) needs no kill.
        already = hook.cancel_run(ref)
        if already is None:
            self.log.info("Killed %s", hook.describe_run(ref))
        else:
            self.log.info("%s was already %s", hook.describe_run(ref), already)
        return int(self.run_id)


class DaggyKillTaskOperator(OpenLineageMixin, DaggyRunTask):
    """
    Kill one task of a Daggy run (``DELETE /v1/dagrun/{run_id}/task/{task_name}``).

    :param run_id: the Daggy ``runID``. Templated.
    :param task_name: the (expanded) task name. Templated.
    :param daggy_conn_id: the Daggy connection (default ``daggy_default``).
    """

    template_fields: Sequence[str] = ("run_id", "task_name")

    def __init__(self, *, task_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.task_name = task_name

    def execute(self, context: Context) -> str:
        hook = DaggyHook(daggy_conn_id=self.daggy_conn_id)
        try:
            hook.kill_task(self.run_id, self.task_name)
        except PipelineApiError:
            # Refused, or repeated after a lost reply: a task that is over needs no kill.
            state = hook.get_task_state(self.run_id, self.task_name)
            if state.upper() not in DAGGY_TASK_DONE:
                raise
            self.log.info("Task %s of Daggy run %s was already %s", self.task_name, self.run_id, state)
            return self.task_name
        self.log.info("Killed task %s of Daggy run %s", self.task_name, self.run_id)
        return self.task_name
