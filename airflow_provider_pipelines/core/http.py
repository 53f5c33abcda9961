"""
The HTTP layer's names where they were first published. The layer itself is split by job:
:mod:`~.urls` (paths and URLs as sent), :mod:`~.settings` (a connection as settings),
:mod:`~.caches` (the performance caches), :mod:`~.transport` (transport errors), :mod:`~.replies`
(reading replies), :mod:`~.client_base` and :mod:`~.clients` (the two clients), :mod:`~.plans`
(calls, plans, their drivers and endpoints).
"""

from __future__ import annotations

from airflow_provider_pipelines.core.clients import AsyncApiClient, SyncApiClient
from airflow_provider_pipelines.core.plans import (
    OPTIONS,
    SHAPE_ERRORS,
    ApiCall,
    Expect,
    Plan,
    arun_plan,
    endpoint,
    get_call,
    returns,
    run_plan,
)
from airflow_provider_pipelines.core.replies import server_message
from airflow_provider_pipelines.core.settings import ClientConfig, HttpSettings, as_bool, base_url_from
from airflow_provider_pipelines.core.urls import (
    encoded_base_url,
    query_string,
    requote_path,
    url_path,
    wire_url,
)

__all__ = [
    "OPTIONS",
    "SHAPE_ERRORS",
    "ApiCall",
    "AsyncApiClient",
    "ClientConfig",
    "Expect",
    "HttpSettings",
    "Plan",
    "SyncApiClient",
    "arun_plan",
    "as_bool",
    "base_url_from",
    "encoded_base_url",
    "endpoint",
    "get_call",
    "query_string",
    "requote_path",
    "returns",
    "run_plan",
    "server_message",
    "url_path",
    "wire_url",
]
