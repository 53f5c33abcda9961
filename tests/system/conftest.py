"""``make system-test``: a real Airflow 3 deployment (see ``deployment.py``) for the whole session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.deployment import Deployment


@pytest.fixture(scope="session")
def deployment() -> Iterator[Deployment]:
    deployment = Deployment(parallelism=int(os.environ.get("SYSTEM_TEST_PARALLELISM", "8")))
    keep = os.environ.get("SYSTEM_TEST_KEEP_LOGS")
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop(Path(keep) if keep else None)
