"""The link from a task to its pipeline's page in the CDAP / Data Fusion UI."""

from __future__ import annotations

from airflow_provider_pipelines.links.base import StoredUrlLink


class CdapPipelineLink(StoredUrlLink):
    """Opens the pipeline in the CDAP / Cloud Data Fusion UI (base URL: the connection's ``ui_url``)."""

    name = "CDAP pipeline"
    url_key = "cdap_pipeline_url"


class CdapInstanceLink(StoredUrlLink):
    """Opens the Cloud Data Fusion instance's page in the Google Cloud console."""

    name = "Data Fusion instance"
    url_key = "cdap_instance_url"
