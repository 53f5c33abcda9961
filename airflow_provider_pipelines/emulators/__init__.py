"""Local stand-ins of the platforms' HTTP APIs, for testing DAGs offline (see docs/EMULATORS.md).

Names are loaded lazily so that importing this package (e.g. from the pytest plugin) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_pipelines.emulators.base import (
        EmulatorServer,
        FaultInjector,
        FaultRule,
        Timeline,
    )
    from airflow_provider_pipelines.emulators.cdap import (
        CdapEmulator,
        CdapEmulatorConfig,
        CdapEmulatorHandle,
        create_cdap_app,
    )

_LAZY = {
    "EmulatorServer": "base",
    "FaultInjector": "base",
    "FaultRule": "base",
    "Timeline": "base",
    "CdapEmulator": "cdap",
    "CdapEmulatorConfig": "cdap",
    "CdapEmulatorHandle": "cdap",
    "create_cdap_app": "cdap",
}

__all__ = [
    "CdapEmulator",
    "CdapEmulatorConfig",
    "CdapEmulatorHandle",
    "EmulatorServer",
    "FaultInjector",
    "FaultRule",
    "Timeline",
    "create_cdap_app",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
