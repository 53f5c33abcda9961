"""The example platform's operator: start a job's run and wait for it to end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.operator import PipelineRunOperator
from airflow_provider_pipelines.core.start import Attempt
from tests.example_platform.hook import ExampleHook
from tests.example_platform.link import ExampleJobLink
from tests.example_platform.trigger import ExampleRunTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class ExampleRunOperator(PipelineRunOperator):
    """
    Start a run of ``job`` and wait for it. Returns the run id.

    :param job: the job to run. Templated.
    :param example_conn_id: the connection (default ``example_default``).
    """

    template_fields: Sequence[str] = ("job",)
    hook_class = ExampleHook
    trigger_class = ExampleRunTrigger
    operator_extra_links = (ExampleJobLink(),)

    def __init__(self, *, job: str, example_conn_id: str = ExampleHook.default_conn_name, **kwargs: Any):
        super().__init__(conn_id=example_conn_id, **kwargs)
        self.job = job
        self.example_conn_id = example_conn_id

    def run_spec(self) -> dict[str, Any]:
        return {"job": self.job}

    def persist_links(self, hook: PipelineHook, context: Context) -> None:
        assert isinstance(hook, ExampleHook)
        context["ti"].xcom_push(key=ExampleJobLink.url_key, value=hook.job_url(self.job))

    def start_run(self, hook: PipelineHook, context: Context, attempt: Attempt) -> RunRef:
        assert isinstance(hook, ExampleHook)
        return hook.start(self.job, attempt["marker"])
