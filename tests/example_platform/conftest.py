"""The example platform's emulator for tests, with ``example_default`` pointing at it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.example_platform.emulator import ExampleEmulatorHandle


@pytest.fixture(scope="session")
def _example_session() -> Iterator[ExampleEmulatorHandle]:
    with ExampleEmulatorHandle.start() as handle:
        yield handle


@pytest.fixture
def example(
    _example_session: ExampleEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> ExampleEmulatorHandle:
    """The emulator, reset for this test; ``example_default`` points at it (an environment connection)."""
    _example_session.reset()
    conn = {
        "conn_type": "example",
        "host": _example_session.url,
        "password": _example_session.config.token,
        "extra": {"retry_initial_wait": 0.01, "retry_max_wait": 0.05},
    }
    monkeypatch.setenv("AIRFLOW_CONN_EXAMPLE_DEFAULT", json.dumps(conn))
    return _example_session
