"""
The provider's custom OpenLineage facets. This module imports openlineage: only
:func:`~airflow_provider_pipelines.lineage.core.operator_lineage` imports it, while building lineage.

Each facet is versioned by its JSON schema, shipped in ``lineage/schemas/<version>/`` and published at
:data:`SCHEMA_BASE_URL`; a change to a facet's fields is a new version directory, never an edit.
"""

from __future__ import annotations

import attr
from openlineage.client.facet_v2 import JobFacet, RunFacet

from airflow_provider_pipelines.lineage.schemas import schema_url


@attr.define
class PipelinePlatformRunFacet(RunFacet):
    """The run on its platform that an Airflow task started, stopped or watched.

    :param platform: ``CDAP``, ``Daggy``, ``Tailer``, ``FlowEngine`` or ``EnOS``.
    :param runId: the platform's run id.
    :param pipeline: the pipeline name or id, flow id or configuration id.
    :param namespace: the CDAP namespace or Tailer environment.
    :param account: the Tailer account or EnOS organization.
    :param instance: ``host:port`` of the platform's API.
    :param url: the run's (or its pipeline's) page in the platform's UI.
    :param kind: the pipeline type, configuration type or run kind.
    """

    platform: str
    runId: str | None = attr.field(default=None)
    pipeline: str | None = attr.field(default=None)
    namespace: str | None = attr.field(default=None)
    account: str | None = attr.field(default=None)
    instance: str | None = attr.field(default=None)
    url: str | None = attr.field(default=None)
    kind: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return schema_url("PipelinePlatformRunFacet")


@attr.define
class PipelinePlatformJobFacet(JobFacet):
    """The job on its platform (the pipeline) that the Airflow task runs.

    :param platform: the platform's name.
    :param pipeline: the pipeline name or id, flow id or configuration id.
    :param namespace: the CDAP namespace or Tailer environment.
    :param account: the Tailer account or EnOS organization.
    :param instance: ``host:port`` of the platform's API.
    """

    platform: str
    pipeline: str | None = attr.field(default=None)
    namespace: str | None = attr.field(default=None)
    account: str | None = attr.field(default=None)
    instance: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return schema_url("PipelinePlatformJobFacet")
