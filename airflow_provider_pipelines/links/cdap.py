"""The links from a task to the CDAP / Data Fusion UI: its pipeline's page and the pipelines list."""

from __future__ import annotations

from airflow_provider_pipelines.links.base import StoredUrlLink


class CdapPipelineLink(StoredUrlLink):
    """Opens the pipeline in the CDAP / Cloud Data Fusion UI (``{ui}/pipelines/ns/{ns}/view/{pipeline}``;
    the UI is the instance's ``serviceEndpoint``, the connection's ``ui_url``, or the router's host on
    port 11011)."""

    name = "CDAP pipeline"
    url_key = "cdap_pipeline_url"


class CdapPipelinesListLink(StoredUrlLink):
    """Opens the namespace's list of pipelines in the CDAP / Cloud Data Fusion UI
    (``{ui}/cdap/ns/{ns}/pipelines``)."""

    name = "CDAP pipelines"
    url_key = "cdap_pipelines_url"


class CdapInstanceLink(StoredUrlLink):
    """Opens the Cloud Data Fusion instance's page in the Google Cloud console."""

    name = "Data Fusion instance"
    url_key = "cdap_instance_url"
