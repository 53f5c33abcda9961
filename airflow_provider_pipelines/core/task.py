"""The base of every task of this provider: the platform's connection id, whatever the task does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pipelines.core.compat import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_pipelines.core.hook import PipelineHook


class PipelineTask(BaseOperator):
    """
    A task on one platform. Each platform declares what its tasks act on once, as a subclass of this
    (a CDAP pipeline, a Tailer configuration, an EnOS pipeline...): its parameters, under the names
    users pass (``cdap_conn_id``, ``pipeline_name``...), and the run refs built from them. Its start
    and stop operators and its sensors mix that declaration in, before their kind of task
    (:class:`~airflow_provider_pipelines.core.operator.PipelineRunOperator`,
    :class:`~airflow_provider_pipelines.core.sensor.PipelineRunSensor`, or none for a plain call).

    Declarations are operator classes, so Airflow sees their parameters: ``default_args`` fill them
    and ``partial`` / ``expand`` accept them.
    """

    hook_class: ClassVar[type[PipelineHook]]

    def __init__(self, *, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    def persist_links(self, hook: PipelineHook, context: Context) -> None:
        """Store what the task's extra links need in XCom (the webserver has no connection)."""
