"""
Daggy lineage: the run (``runID``) and the DAG's tag. Daggy's API names commands, not datasets: the
datasets are the author's ``inlets`` and ``outlets``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from airflow_provider_pipelines.lineage.core import LineageFacts, PlatformLineage


class DaggyLineage(PlatformLineage):
    platform = "Daggy"

    def facts(self, task: Any, run: Mapping[str, Any] | None) -> LineageFacts:
        facts = super().facts(task, run)
        spec = getattr(task, "dag_spec", None)
        tag = spec.get("tag") if isinstance(spec, Mapping) else None
        return replace(facts, pipeline=str(tag)) if tag else facts


LINEAGE = DaggyLineage()
