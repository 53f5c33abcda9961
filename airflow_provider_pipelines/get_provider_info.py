"""What Airflow's ProvidersManager reads (entry point ``apache_airflow_provider``), derived from the
platforms' declarations (:data:`~airflow_provider_pipelines.platforms.PLATFORMS`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_pipelines.platforms import PLATFORMS, ConnectionType, Platform


def _connection_type(conn: ConnectionType) -> dict[str, Any]:
    return {
        "hook-class-name": conn.hook_class,
        "hook-name": conn.hook_name,
        "connection-type": conn.conn_type,
        "ui-field-behaviour": conn.form.provider_ui_field_behaviour(),
        "conn-fields": conn.form.conn_fields(),
    }


def _modules(platforms: Sequence[Platform], kind: str) -> list[dict[str, Any]]:
    """One entry per platform that has modules of ``kind`` (hook, operators, sensors, triggers)."""
    entries = []
    for platform in platforms:
        modules = {
            "hooks": platform.hook_modules,
            "operators": platform.operators,
            "sensors": platform.sensors,
            "triggers": platform.trigger_modules,
        }[kind]
        if modules:
            entries.append({"integration-name": platform.display_name, "python-modules": list(modules)})
    return entries


def provider_info(platforms: Sequence[Platform]) -> dict[str, Any]:
    """The provider info of these platforms (:func:`get_provider_info`: of every registered one)."""
    from airflow_provider_pipelines import __version__

    return {
        "package-name": "airflow-provider-pipelines",
        "name": "Pipelines (CDAP / Data Fusion, Daggy, Tailer, FlowEngine, EnOS)",
        "description": "Start and watch pipeline runs on CDAP / Cloud Data Fusion, Daggy, Tailer, "
        "FlowEngine and EnOS from Airflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": platform.display_name,
                "external-doc-url": "https://github.com/",
                "tags": ["software"],
            }
            for platform in platforms
        ],
        "hooks": _modules(platforms, "hooks"),
        "operators": _modules(platforms, "operators"),
        "sensors": _modules(platforms, "sensors"),
        "triggers": _modules(platforms, "triggers"),
        "connection-types": [_connection_type(platform.connection) for platform in platforms],
        "extra-links": [link for platform in platforms for link in platform.links],
    }


def get_provider_info() -> dict[str, Any]:
    return provider_info(PLATFORMS)
