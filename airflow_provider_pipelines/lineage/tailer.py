"""
Tailer lineage: the run, its configuration, environment and account, and the job. Tailer's API
does not return a configuration's source and destination tables (it launches jobs and reads their
status), so the datasets are those the author names on the task: ``source_tables`` and
``destinations``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import replace
from typing import Any

from airflow_provider_pipelines.core.task import PipelineTask
from airflow_provider_pipelines.lineage.core import DatasetRef, LineageFacts, PlatformLineage, named_dataset


class TailerLineageTask(PipelineTask):
    """
    The datasets of a Tailer job, for OpenLineage.

    :param source_tables: the tables the job reads, as ``project.dataset.table``. Templated where the
        operator lists it.
    :param destinations: what it writes: tables (``project.dataset.table``, table-to-table) or
        files (``gs://bucket/path``, table-to-storage). Templated where the operator lists it.
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


def _refs(names: Any) -> tuple[DatasetRef, ...]:
    if isinstance(names, str):
        names = [names]
    refs = (named_dataset(str(name)) for name in names or ())
    return tuple(ref for ref in refs if ref is not None)


class TailerLineage(PlatformLineage):
    platform = "Tailer"
    pipeline_fields = ("configuration_id",)
    kind_fields = ("job_id", "configuration_type")

    def facts(self, task: Any, run: Mapping[str, Any] | None) -> LineageFacts:
        facts = super().facts(task, run)
        job = getattr(task, "job", None)
        if callable(job) and not (run or {}).get("configuration_id"):
            # The id as the API names it (with the environment suffix where Tailer wants it);
            # unrendered or incomplete arguments are kept as written.
            with suppress(Exception):
                facts = replace(facts, pipeline=job()["configuration_id"])
        return replace(
            facts,
            inputs=_refs(getattr(task, "source_tables", None)),
            outputs=_refs(getattr(task, "destinations", None)),
        )


LINEAGE = TailerLineage()
