"""Local stand-ins of the platforms' HTTP APIs, for testing DAGs offline (see docs/EMULATORS.md).

Names are loaded lazily so that importing this package (e.g. from the pytest plugin) stays cheap: every
platform's ``<Prefix>Emulator``, ``<Prefix>EmulatorConfig``, ``<Prefix>EmulatorHandle`` and
``create_<name>_app`` (from the registry), and a few building blocks. Type checkers see them as ``Any``:
import from the platform's module (``emulators.cdap``...) for their types.
"""

from __future__ import annotations

import importlib
from typing import Any

from airflow_provider_pipelines.emulators.registry import EMULATORS

# Public name -> the module (of this package) defining it.
_LAZY: dict[str, str] = {
    **dict.fromkeys(("EmulatorServer", "FaultInjector", "FaultRule", "Timeline"), "base"),
    **{name: spec.name for spec in EMULATORS.values() for name in spec.exports},
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
