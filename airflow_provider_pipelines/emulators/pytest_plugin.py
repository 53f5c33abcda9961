"""pytest fixtures serving the emulators (registered as the ``pipelines_emulators`` pytest11 plugin).

- ``cdap_emulator``: a CDAP emulator shared by the session, reset before each test, fast timings.
- ``cdap_emulator_factory(**config)``: a dedicated CDAP emulator with your config, stopped after the test.
- ``daggy_emulator`` / ``daggy_emulator_factory(**config)``: the same for Daggy (daggyd).
- ``tailer_emulator`` / ``tailer_emulator_factory(**config)``: the same for Tailer.
- ``flowengine_emulator`` / ``flowengine_emulator_factory(**config)``: the same for FlowEngine.
- ``enos_emulator`` / ``enos_emulator_factory(**config)``: the same for EnOS.

Only light imports here: every pytest run of every project with this provider installed loads this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_pipelines.emulators.cdap import CdapEmulatorHandle
    from airflow_provider_pipelines.emulators.daggy import DaggyEmulatorHandle
    from airflow_provider_pipelines.emulators.enos import EnosEmulatorHandle
    from airflow_provider_pipelines.emulators.flowengine import FlowEngineEmulatorHandle
    from airflow_provider_pipelines.emulators.tailer import TailerEmulatorHandle

FAST_CDAP_TIMINGS: dict[str, Any] = {
    "pending_seconds": 0.1,
    "starting_seconds": 0.1,
    "running_seconds": 0.3,
    "not_found_seconds": 0.0,
    "stop_seconds": 0.1,
}


def start_cdap_emulator(**config: Any) -> CdapEmulatorHandle:
    """Start a CDAP emulator on a free loopback port; fast timings unless ``config`` says otherwise."""
    from airflow_provider_pipelines.emulators.cdap import CdapEmulatorConfig, CdapEmulatorHandle

    return CdapEmulatorHandle.start(CdapEmulatorConfig(**{**FAST_CDAP_TIMINGS, **config}))


@pytest.fixture(scope="session")
def _cdap_emulator_session() -> Iterator[CdapEmulatorHandle]:
    handle = start_cdap_emulator()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def cdap_emulator(_cdap_emulator_session: CdapEmulatorHandle) -> CdapEmulatorHandle:
    """The session's CDAP emulator, reset to its initial state (runs, faults, config) for this test."""
    _cdap_emulator_session.reset()
    return _cdap_emulator_session


@pytest.fixture
def cdap_emulator_factory() -> Iterator[Callable[..., CdapEmulatorHandle]]:
    """Call with ``CdapEmulatorConfig`` fields to get a dedicated emulator, stopped at teardown."""
    started: list[CdapEmulatorHandle] = []

    def factory(**config: Any) -> CdapEmulatorHandle:
        handle = start_cdap_emulator(**config)
        started.append(handle)
        return handle

    yield factory
    for handle in started:
        handle.stop()


FAST_DAGGY_TIMINGS: dict[str, Any] = {"queued_seconds": 0.05, "task_seconds": 0.1}


def start_daggy_emulator(**config: Any) -> DaggyEmulatorHandle:
    """Start a Daggy emulator on a free loopback port; fast timings unless ``config`` says otherwise."""
    from airflow_provider_pipelines.emulators.daggy import DaggyEmulatorConfig, DaggyEmulatorHandle

    return DaggyEmulatorHandle.start(DaggyEmulatorConfig(**{**FAST_DAGGY_TIMINGS, **config}))


@pytest.fixture(scope="session")
def _daggy_emulator_session() -> Iterator[DaggyEmulatorHandle]:
    handle = start_daggy_emulator()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def daggy_emulator(_daggy_emulator_session: DaggyEmulatorHandle) -> DaggyEmulatorHandle:
    """The session's Daggy emulator, reset to its initial state (runs, faults, config) for this test."""
    _daggy_emulator_session.reset()
    return _daggy_emulator_session


@pytest.fixture
def daggy_emulator_factory() -> Iterator[Callable[..., DaggyEmulatorHandle]]:
    """Call with ``DaggyEmulatorConfig`` fields to get a dedicated emulator, stopped at teardown."""
    started: list[DaggyEmulatorHandle] = []

    def factory(**config: Any) -> DaggyEmulatorHandle:
        handle = start_daggy_emulator(**config)
        started.append(handle)
        return handle

    yield factory
    for handle in started:
        handle.stop()


FAST_TAILER_TIMINGS: dict[str, Any] = {"pending_seconds": 0.1, "running_seconds": 0.3}


def start_tailer_emulator(**config: Any) -> TailerEmulatorHandle:
    """Start a Tailer emulator on a free loopback port; fast timings unless ``config`` says otherwise."""
    from airflow_provider_pipelines.emulators.tailer import TailerEmulatorConfig, TailerEmulatorHandle

    return TailerEmulatorHandle.start(TailerEmulatorConfig(**{**FAST_TAILER_TIMINGS, **config}))


@pytest.fixture(scope="session")
def _tailer_emulator_session() -> Iterator[TailerEmulatorHandle]:
    handle = start_tailer_emulator()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def tailer_emulator(_tailer_emulator_session: TailerEmulatorHandle) -> TailerEmulatorHandle:
    """The session's Tailer emulator, reset to its initial state (runs, faults, config) for this test."""
    _tailer_emulator_session.reset()
    return _tailer_emulator_session


@pytest.fixture
def tailer_emulator_factory() -> Iterator[Callable[..., TailerEmulatorHandle]]:
    """Call with ``TailerEmulatorConfig`` fields to get a dedicated emulator, stopped at teardown."""
    started: list[TailerEmulatorHandle] = []

    def factory(**config: Any) -> TailerEmulatorHandle:
        handle = start_tailer_emulator(**config)
        started.append(handle)
        return handle

    yield factory
    for handle in started:
        handle.stop()


FAST_FLOWENGINE_TIMINGS: dict[str, Any] = {"init_seconds": 0.05, "running_seconds": 0.3, "stop_seconds": 0.05}


def start_flowengine_emulator(**config: Any) -> FlowEngineEmulatorHandle:
    """Start a FlowEngine emulator on a free loopback port; fast timings unless ``config`` says otherwise."""
    from airflow_provider_pipelines.emulators.flowengine import (
        FlowEngineEmulatorConfig,
        FlowEngineEmulatorHandle,
    )

    return FlowEngineEmulatorHandle.start(FlowEngineEmulatorConfig(**{**FAST_FLOWENGINE_TIMINGS, **config}))


@pytest.fixture(scope="session")
def _flowengine_emulator_session() -> Iterator[FlowEngineEmulatorHandle]:
    handle = start_flowengine_emulator()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def flowengine_emulator(_flowengine_emulator_session: FlowEngineEmulatorHandle) -> FlowEngineEmulatorHandle:
    """The session's FlowEngine emulator, reset to its initial state (seeded pipelines, no runs, no faults,
    initial config) for this test."""
    _flowengine_emulator_session.reset()
    return _flowengine_emulator_session


@pytest.fixture
def flowengine_emulator_factory() -> Iterator[Callable[..., FlowEngineEmulatorHandle]]:
    """Call with ``FlowEngineEmulatorConfig`` fields to get a dedicated emulator, stopped at teardown."""
    started: list[FlowEngineEmulatorHandle] = []

    def factory(**config: Any) -> FlowEngineEmulatorHandle:
        handle = start_flowengine_emulator(**config)
        started.append(handle)
        return handle

    yield factory
    for handle in started:
        handle.stop()


FAST_ENOS_TIMINGS: dict[str, Any] = {
    "start_seconds": 0.2,
    "stop_seconds": 0.1,
    "init_seconds": 0.05,
    "running_seconds": 0.3,
}


def start_enos_emulator(**config: Any) -> EnosEmulatorHandle:
    """Start an EnOS emulator on a free loopback port; fast timings unless ``config`` says otherwise."""
    from airflow_provider_pipelines.emulators.enos import EnosEmulatorConfig, EnosEmulatorHandle

    return EnosEmulatorHandle.start(EnosEmulatorConfig(**{**FAST_ENOS_TIMINGS, **config}))


@pytest.fixture(scope="session")
def _enos_emulator_session() -> Iterator[EnosEmulatorHandle]:
    handle = start_enos_emulator()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def enos_emulator(_enos_emulator_session: EnosEmulatorHandle) -> EnosEmulatorHandle:
    """The session's EnOS emulator, reset to its initial state (seeded pipelines, no flow instances, no
    access tokens, no faults, config) for this test."""
    _enos_emulator_session.reset()
    return _enos_emulator_session


@pytest.fixture
def enos_emulator_factory() -> Iterator[Callable[..., EnosEmulatorHandle]]:
    """Call with ``EnosEmulatorConfig`` fields to get a dedicated emulator, stopped at teardown."""
    started: list[EnosEmulatorHandle] = []

    def factory(**config: Any) -> EnosEmulatorHandle:
        handle = start_enos_emulator(**config)
        started.append(handle)
        return handle

    yield factory
    for handle in started:
        handle.stop()
