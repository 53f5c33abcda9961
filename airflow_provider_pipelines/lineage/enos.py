"""
EnOS lineage: the streaming pipeline or the flow instance, and the organization (the connection's
``org_id``). EnOS's APIs name no datasets: the datasets are the author's ``inlets`` and ``outlets``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_pipelines.lineage.core import PlatformLineage

if TYPE_CHECKING:
    from airflow_provider_pipelines.core.hook import PipelineHook


class EnosLineage(PlatformLineage):
    platform = "EnOS"
    pipeline_fields = ("pipeline_id", "flow_id")

    def gather(self, task: Any, hook: PipelineHook, run: Mapping[str, Any] | None) -> dict[str, Any]:
        found = super().gather(task, hook, run)
        found["account"] = hook.client.options.get("org_id")
        return found


LINEAGE = EnosLineage()
