"""What Airflow's ProvidersManager reads (entry point ``apache_airflow_provider``), derived from the
platforms' declarations (:data:`~airflow_provider_pipelines.platforms.PLATFORMS`), the project's URLs
(:data:`PROJECT_URLS`) and the ``[pipelines]`` options the provider reads (:data:`CONFIG_OPTIONS`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from airflow_provider_pipelines.platforms import PLATFORMS, ConnectionType, Platform

REPOSITORY = "https://github.com/airflow-provider-pipelines/airflow-provider-pipelines"

PROJECT_URLS: Mapping[str, str] = {
    "Documentation": "https://airflow-provider-pipelines.readthedocs.io/en/stable/",
    "Source": REPOSITORY,
    "Changelog": f"{REPOSITORY}/blob/main/CHANGELOG.md",
    "Issues": f"{REPOSITORY}/issues",
}
"""The project's URLs, the same as pyproject.toml's ``[project.urls]`` (a test checks). Airflow's
providers page links ``Documentation``, which Airflow 3 reads from the package's metadata."""

CONFIG_SECTION = "pipelines"


@dataclass(frozen=True)
class ConfigOption:
    """
    One ``[pipelines]`` option the provider reads, as Airflow's provider ``config`` schema describes it.

    :param name: the option's name (``AIRFLOW__PIPELINES__<NAME>`` in the environment).
    :param type: how the value is read.
    :param description: what it changes, and what happens when it is not set.
    :param version_added: the provider version that first read it.
    :param example: a value a user could write.
    :param default: the value Airflow fills in when it is not set; ``None``: it stays unset and the
        code decides (the description says how).
    """

    name: str
    type: Literal["string", "boolean", "integer", "float"]
    description: str
    version_added: str
    example: str | None = None
    default: str | None = None

    def provider_info(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "version_added": self.version_added,
            "type": self.type,
            "example": self.example,
            "default": self.default,
        }


# Declaring an option is one entry here; tests/test_examples_and_metadata.py fails for any
# ``conf.get*("pipelines", name)`` in the package whose name is not declared.
CONFIG_OPTIONS: tuple[ConfigOption, ...] = (
    ConfigOption(
        "resume_guard_seconds",
        "float",
        "Seconds a trigger holds its event back after its task deferred, so that Airflow 3.3 does not "
        "fail a task resuming before the scheduler saw its worker leave the deferral "
        "(apache/airflow#72716). Unset: ``[workers] min_heartbeat_interval`` plus 5 seconds on "
        "Airflow 3, 0 on Airflow 2. 0 turns the guard off (``dag.test()`` has no executor to race).",
        "0.1.0",
        example="0",
    ),
    ConfigOption(
        "datafusion_api_url",
        "string",
        "Base URL of Cloud Data Fusion's management API (instances and operations). Point it at the "
        "``datafusion`` emulator to test offline.",
        "0.1.0",
        example="http://localhost:8086",
        default="https://datafusion.googleapis.com",
    ),
    ConfigOption(
        "google_iam_url",
        "string",
        "Base URL of Google's IAM credentials API, which mints the tokens of an ``impersonation_chain``. "
        "The ``datafusion`` emulator serves it too.",
        "0.1.0",
        example="http://localhost:8086",
        default="https://iamcredentials.googleapis.com",
    ),
)
"""Every ``[pipelines]`` option the provider reads (the provider info's ``config`` section)."""


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
        # Airflow 3 sets documentation-url from the package's metadata (the same URL); project-urls is
        # this provider's own key (the schema allows more keys than it names).
        "documentation-url": PROJECT_URLS["Documentation"],
        "project-urls": dict(PROJECT_URLS),
        "integrations": [
            {
                "integration-name": platform.display_name,
                "external-doc-url": PROJECT_URLS["Documentation"],
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
        "config": config_section(CONFIG_OPTIONS),
    }


def config_section(options: Sequence[ConfigOption]) -> dict[str, Any]:
    """The provider info's ``config``: Airflow fills in the defaults and lists the options."""
    names = [option.name for option in options]
    doubles = sorted({name for name in names if names.count(name) > 1})
    if doubles:
        raise ValueError(f"[{CONFIG_SECTION}] options declared twice: {doubles}")
    return {
        CONFIG_SECTION: {
            "description": "Options of airflow-provider-pipelines: its triggers, operators and hooks.",
            "options": {option.name: option.provider_info() for option in options},
        }
    }


def get_provider_info() -> dict[str, Any]:
    """The provider info of every registered platform."""
    return provider_info(PLATFORMS)
