"""What Airflow's ProvidersManager reads (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from airflow_provider_pipelines.connection_types import CONNECTION_TYPES, ConnectionType

PACKAGE = "airflow_provider_pipelines"

# (module name under hooks/, operators/, sensors/, triggers/; display name), in the order they landed.
PLATFORMS: list[tuple[str, str]] = [
    ("cdap", "CDAP / Cloud Data Fusion"),
    ("daggy", "Daggy"),
    ("tailer", "Tailer"),
    ("flowengine", "FlowEngine (4Paradigm)"),
    ("enos", "EnOS (Envision)"),
]


def _connection_type(conn: ConnectionType) -> dict[str, Any]:
    return {
        "hook-class-name": conn.hook_class,
        "hook-name": conn.hook_name,
        "connection-type": conn.conn_type,
        "ui-field-behaviour": conn.form.provider_ui_field_behaviour(),
        "conn-fields": conn.form.conn_fields(),
    }


def get_provider_info() -> dict[str, Any]:
    from airflow_provider_pipelines import __version__

    return {
        "package-name": "airflow-provider-pipelines",
        "name": "Pipelines (CDAP / Data Fusion, Daggy, Tailer, FlowEngine, EnOS)",
        "description": "Start and watch pipeline runs on CDAP / Cloud Data Fusion, Daggy, Tailer, "
        "FlowEngine and EnOS from Airflow.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": name, "external-doc-url": "https://github.com/", "tags": ["software"]}
            for _, name in PLATFORMS
        ],
        "hooks": [
            {"integration-name": name, "python-modules": [f"{PACKAGE}.hooks.{module}"]}
            for module, name in PLATFORMS
        ],
        "operators": [
            {"integration-name": name, "python-modules": [f"{PACKAGE}.operators.{module}"]}
            for module, name in PLATFORMS
        ],
        "sensors": [
            {"integration-name": name, "python-modules": [f"{PACKAGE}.sensors.{module}"]}
            for module, name in PLATFORMS
        ],
        "triggers": [
            {"integration-name": name, "python-modules": [f"{PACKAGE}.triggers.{module}"]}
            for module, name in PLATFORMS
        ],
        "connection-types": [_connection_type(conn) for conn in CONNECTION_TYPES],
        "extra-links": [f"{PACKAGE}.links.cdap.CdapPipelineLink"],
    }
