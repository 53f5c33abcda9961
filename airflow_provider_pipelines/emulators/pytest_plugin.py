"""pytest fixtures serving the emulators: per emulator of the registry, ``<name>_emulator``,
``<name>_emulator_factory(**config)`` and ``start_<name>_emulator(**config)`` (docs/EMULATORS.md).
Opt-in: ``-p airflow_provider_pipelines.emulators.pytest_plugin``, or ``pytest_plugins = [...]`` in a
top-level conftest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_pipelines.emulators.registry import EMULATORS, EmulatorSpec


def _names(spec: EmulatorSpec) -> dict[str, Any]:
    """The plugin's names for one emulator: its fast timings, its start function and its fixtures."""
    session = f"_{spec.name}_emulator_session"

    def start(**config: Any) -> Any:
        return spec.start(**config)

    def session_emulator() -> Iterator[Any]:
        handle = start()
        try:
            yield handle
        finally:
            handle.stop()

    def emulator(request: pytest.FixtureRequest) -> Any:
        handle = request.getfixturevalue(session)
        handle.reset()
        return handle

    def factory() -> Iterator[Callable[..., Any]]:
        started: list[Any] = []

        def make(**config: Any) -> Any:
            handle = start(**config)
            started.append(handle)
            return handle

        yield make
        for handle in started:
            handle.stop()

    start.__doc__ = f"Start a {spec.title} emulator on a free loopback port (fast timings unless told)."
    emulator.__doc__ = f"The session's {spec.title} emulator, reset to its initial state for this test."
    factory.__doc__ = (
        f"Call with ``{spec.prefix}EmulatorConfig`` fields to get a dedicated emulator, stopped at teardown."
    )
    return {
        f"FAST_{spec.name.upper()}_TIMINGS": spec.fast_timings,
        f"start_{spec.name}_emulator": start,
        session: pytest.fixture(scope="session", name=session)(session_emulator),
        f"{spec.name}_emulator": pytest.fixture(name=f"{spec.name}_emulator")(emulator),
        f"{spec.name}_emulator_factory": pytest.fixture(name=f"{spec.name}_emulator_factory")(factory),
    }


globals().update({name: value for spec in EMULATORS.values() for name, value in _names(spec).items()})
