"""The JSON schemas of the provider's custom OpenLineage facets, one directory per facet version."""

from __future__ import annotations

from pathlib import Path

FACET_VERSION = "1-0-0"
# Where the schemas are published: the package's own files in its source repository. A version's
# directory is never edited (a changed facet is a new version), so each URL keeps its meaning.
SCHEMA_BASE_URL = (
    "https://raw.githubusercontent.com/airflow-provider-pipelines/airflow-provider-pipelines/"
    "main/airflow_provider_pipelines/lineage/schemas/{version}/"
)
HERE = Path(__file__).resolve().parent


def schema_url(facet: str, version: str = FACET_VERSION) -> str:
    """The ``_schemaURL`` of a facet: its schema file, and the definition inside it."""
    return SCHEMA_BASE_URL.format(version=version) + f"{facet}.json#/$defs/{facet}"


def schema_path(facet: str, version: str = FACET_VERSION) -> Path:
    """The shipped schema file of a facet."""
    return HERE / version / f"{facet}.json"
