"""
Tailer lineage: the run, its configuration, environment and account, and the job. Tailer's API
does not return a configuration's source and destination tables (it launches jobs and reads their
status), so the datasets are those the author names on the task: ``source_tables`` and
``destinations`` (:class:`~.task.TailerLineageTask`).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import replace
from typing import Any

from airflow_provider_pipelines.lineage.core import DatasetRef, LineageFacts, PlatformLineage, named_dataset


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
