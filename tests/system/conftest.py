"""``make system-test``: a real Airflow 3 deployment (see ``deployment.py``) for the whole session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.deployment import Deployment


def running_deployment(parallelism: int, include_examples: bool) -> Iterator[Deployment]:
    """Started before the first test that needs it, stopped after the session (logs kept on request)."""
    deployment = Deployment(
        parallelism=int(os.environ.get("SYSTEM_TEST_PARALLELISM", parallelism)),
        include_examples=include_examples,
    )
    keep = os.environ.get("SYSTEM_TEST_KEEP_LOGS")
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop(Path(keep) if keep else None)


@pytest.fixture(scope="session")
def deployment() -> Iterator[Deployment]:
    yield from running_deployment(parallelism=8, include_examples=True)
