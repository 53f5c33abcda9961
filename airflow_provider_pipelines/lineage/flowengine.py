"""
FlowEngine lineage: the run (history id) and its pipeline. FlowEngine's API names nodes and their
parameters, not datasets: the datasets are the author's ``inlets`` and ``outlets``.
"""

from __future__ import annotations

from airflow_provider_pipelines.lineage.core import PlatformLineage


class FlowEngineLineage(PlatformLineage):
    platform = "FlowEngine"
    pipeline_fields = ("pipeline_id",)


LINEAGE = FlowEngineLineage()
