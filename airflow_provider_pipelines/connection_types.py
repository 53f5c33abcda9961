"""
Every platform's connection type and form, derived from the platforms' declarations
(:mod:`airflow_provider_pipelines.platforms`): each hook takes its ``conn_type``, ``hook_name`` and
``connection_form`` from here. Imports no Airflow, like the declarations.
"""

from __future__ import annotations

from airflow_provider_pipelines.platforms import (
    CDAP,
    DAGGY,
    ENOS,
    FLOWENGINE,
    PLATFORMS,
    TAILER,
    ConnectionType,
)

__all__ = [
    "CDAP_CONNECTION",
    "CONNECTION_TYPES",
    "DAGGY_CONNECTION",
    "ENOS_CONNECTION",
    "FLOWENGINE_CONNECTION",
    "TAILER_CONNECTION",
    "ConnectionType",
]

CDAP_CONNECTION = CDAP.connection
DAGGY_CONNECTION = DAGGY.connection
TAILER_CONNECTION = TAILER.connection
FLOWENGINE_CONNECTION = FLOWENGINE.connection
ENOS_CONNECTION = ENOS.connection

CONNECTION_TYPES: tuple[ConnectionType, ...] = tuple(platform.connection for platform in PLATFORMS)
