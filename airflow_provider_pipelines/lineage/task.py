"""
What tasks mix in for OpenLineage: :class:`OpenLineageMixin` (the three methods the openlineage
provider calls) and :class:`TailerLineageTask` (the datasets a Tailer job's author names). Kept apart
from :mod:`.core` so that importing an operator costs nothing: the rest is imported when lineage is
built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pipelines.core.task import PipelineTask

if TYPE_CHECKING:
    from airflow_provider_pipelines.core.hook import PipelineHook
    from airflow_provider_pipelines.lineage.core import LineageFacts, PlatformLineage


class _LineageState:
    """What a task learnt for lineage: its run, what the platform added, whether it has warned."""

    def __init__(self) -> None:
        self.run: dict[str, Any] | None = None
        self.found: dict[str, Any] | None = None
        self.warned = False


class OpenLineageMixin:
    """
    The three methods the openlineage provider calls on a task: ``get_openlineage_facets_on_start``
    (before the run: the pipeline, and the datasets known from the task's arguments),
    ``..._on_complete`` and ``..._on_failure`` (the run, and what the platform said about it). An error
    while describing the run is logged once, at warning, and the task goes on.

    Tasks call :meth:`lineage_note` once they know their run (with I/O allowed). The platform's
    :class:`~.core.PlatformLineage` is found from ``hook_class.platform``.
    """

    hook_class: ClassVar[type[PipelineHook]]
    log: Any
    inlets: Any
    outlets: Any

    @property
    def _lineage_state(self) -> _LineageState:
        state = self.__dict__.get("_pipelines_lineage")
        if state is None:
            state = _LineageState()
            self.__dict__["_pipelines_lineage"] = state
        return state

    def lineage_describer(self) -> PlatformLineage:
        from airflow_provider_pipelines.lineage.core import platform_lineage

        return platform_lineage(self.hook_class.platform)

    def lineage_run(self) -> Mapping[str, Any] | None:
        """The run described: the one this task started or watched, else the one it names."""
        state = self._lineage_state
        if state.run is not None:
            return state.run
        run_ref = getattr(self, "run_ref", None)
        if callable(run_ref):
            try:
                return run_ref()  # type: ignore[no-any-return]
            except Exception:  # a task whose run is not named (yet): described without a run
                return None
        return None

    def lineage_note(self, hook: PipelineHook | None, run: Mapping[str, Any] | None) -> None:
        """This task's run is ``run``; once per task, ask the platform what it adds (when lineage is on)."""
        state = self._lineage_state
        if run is not None:
            state.run = dict(run)
        if state.found is not None or hook is None:
            return
        from airflow_provider_pipelines.lineage.core import lineage_enabled

        if not lineage_enabled():
            return
        state.found = {}
        try:
            state.found = self.lineage_describer().gather(self, hook, self.lineage_run())
        except Exception as exc:
            self.lineage_warning(exc)

    def lineage_warning(self, exc: BaseException) -> None:
        state = self._lineage_state
        if state.warned:
            return
        state.warned = True
        self.log.warning(
            "OpenLineage: could not describe the %s run of this task (%s: %s); the task goes on without it",
            self.hook_class.platform,
            type(exc).__name__,
            exc,
        )

    def lineage_facts(self) -> LineageFacts:
        facts = self.lineage_describer().facts(self, self.lineage_run())
        return facts.updated(self._lineage_state.found)

    def _openlineage(self) -> Any:
        from airflow_provider_pipelines.lineage.core import openlineage_installed, operator_lineage

        if not openlineage_installed():
            return None
        try:
            return operator_lineage(self.lineage_facts(), self.inlets or (), self.outlets or ())
        except Exception as exc:
            self.lineage_warning(exc)
            return None

    def get_openlineage_facets_on_start(self) -> Any:
        """The pipeline and the datasets known before the run (the author's, the task's arguments)."""
        return self._openlineage()

    def get_openlineage_facets_on_complete(self, task_instance: Any = None) -> Any:
        """The run, its pipeline, and the datasets the platform names."""
        return self._openlineage()

    def get_openlineage_facets_on_failure(self, task_instance: Any = None) -> Any:
        """As on complete: the run that failed and what it was to read and write."""
        return self._openlineage()


class TailerLineageTask(PipelineTask):
    """
    The datasets of a Tailer job, for OpenLineage (Tailer's API does not report them).

    :param source_tables: the tables the job reads, as ``project.dataset.table``.
    :param destinations: what it writes: tables (``project.dataset.table``, table-to-table) or
        files (``gs://bucket/path``, table-to-storage).
    """

    def __init__(
        self,
        *,
        source_tables: Sequence[str] | None = None,
        destinations: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_tables = source_tables
        self.destinations = destinations
