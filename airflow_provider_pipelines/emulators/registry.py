"""The emulators, one entry a platform: the CLI (``__main__``), the package's lazy names (``__init__``)
and the pytest fixtures (``pytest_plugin``) are derived from it.

Light to import: a platform's module (``emulators/<name>.py``) is imported when its classes are first used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_pipelines.emulators.cli import EmulatorCli


# The config fields the fixtures (and ``EmulatorSpec.start``) set unless told otherwise: fast timings.
FAST_TIMINGS: dict[str, dict[str, Any]] = {
    "cdap": {
        "pending_seconds": 0.1,
        "starting_seconds": 0.1,
        "running_seconds": 0.3,
        "not_found_seconds": 0.0,
        "stop_seconds": 0.1,
    },
    "daggy": {"queued_seconds": 0.05, "task_seconds": 0.1},
    "enos": {"start_seconds": 0.2, "stop_seconds": 0.1, "init_seconds": 0.05, "running_seconds": 0.3},
    "flowengine": {"init_seconds": 0.05, "running_seconds": 0.3, "stop_seconds": 0.05},
    "tailer": {"pending_seconds": 0.1, "running_seconds": 0.3},
    "datafusion": {
        "create_seconds": 0.3,
        "update_seconds": 0.2,
        "restart_seconds": 0.2,
        "delete_seconds": 0.2,
    },
}


# The help of each emulator's command.
DESCRIPTIONS: dict[str, str] = {
    "cdap": "CDAP / Cloud Data Fusion REST API",
    "daggy": "Daggy (daggyd) REST API",
    "enos": "EnOS: APIM token service and signatures, stream pipelines, batch data flows v2.1",
    "flowengine": "FlowEngine (4Paradigm) offline-pipeline API",
    "tailer": "Tailer (Fashion Data) API, with a Firebase refresh-token stand-in",
    "datafusion": "Cloud Data Fusion management API (instances, operations), OAuth2 token and IAM stand-ins",
}


@dataclass(frozen=True)
class EmulatorSpec:
    """One platform's emulator.

    ``name`` is its CLI command, the prefix of its fixtures (``<name>_emulator``) and its module
    (``emulators/<name>.py``), which defines ``<prefix>Emulator``, ``<prefix>EmulatorConfig``,
    ``<prefix>EmulatorHandle`` and ``create_<name>_app``. ``title`` is the platform's name as written in
    prose; ``default_port`` the CLI's.
    """

    name: str
    prefix: str
    title: str
    default_port: int

    @property
    def fast_timings(self) -> dict[str, Any]:
        return FAST_TIMINGS[self.name]

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.name]

    @property
    def module_name(self) -> str:
        return f"{__package__}.{self.name}"

    @property
    def exports(self) -> tuple[str, ...]:
        """The public names of the platform's module that the ``emulators`` package exports."""
        prefix = self.prefix
        return (f"{prefix}Emulator", f"{prefix}EmulatorConfig", f"{prefix}EmulatorHandle", self.app_factory)

    @property
    def app_factory(self) -> str:
        return f"create_{self.name}_app"

    def module(self) -> ModuleType:
        return importlib.import_module(self.module_name)

    @property
    def emulator_class(self) -> Any:
        return getattr(self.module(), f"{self.prefix}Emulator")

    @property
    def config_class(self) -> Any:
        return getattr(self.module(), f"{self.prefix}EmulatorConfig")

    @property
    def handle_class(self) -> Any:
        return getattr(self.module(), f"{self.prefix}EmulatorHandle")

    @property
    def cli(self) -> EmulatorCli:
        """The platform's command line (its options are its emulator class's ``cli_options``)."""
        from airflow_provider_pipelines.emulators.cli import EmulatorCli

        return EmulatorCli(self.name, self.default_port, self.emulator_class, self.description)

    def start(self, **config: Any) -> Any:
        """Start the emulator on a free loopback port; its handle. Fast timings unless ``config`` says
        otherwise (any field of its config)."""
        return self.handle_class.start(self.config_class(**{**self.fast_timings, **config}))


# In the order the CLI's ``all`` serves them.
EMULATORS: dict[str, EmulatorSpec] = {
    spec.name: spec
    for spec in (
        EmulatorSpec("cdap", "Cdap", "CDAP", 11015),
        EmulatorSpec("daggy", "Daggy", "Daggy", 2503),
        EmulatorSpec("enos", "Enos", "EnOS", 8089),
        EmulatorSpec("flowengine", "FlowEngine", "FlowEngine", 8088),
        EmulatorSpec("tailer", "Tailer", "Tailer", 8087),
        EmulatorSpec("datafusion", "DataFusion", "Data Fusion", 8086),
    )
}


def emulator_spec(name: str) -> EmulatorSpec:
    """The registry's entry for ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return EMULATORS[name]
    except KeyError:
        raise ValueError(f"no emulator {name!r}: use one of {sorted(EMULATORS)}") from None
