"""The link from a task to its job's page on the example platform."""

from __future__ import annotations

from airflow_provider_pipelines.links.base import StoredUrlLink


class ExampleJobLink(StoredUrlLink):
    name = "Example job"
    url_key = "example_job_url"
