"""``make system-test``: real Airflow 3 deployments (see ``deployment.py``), one per executor, each for
the tests that use it: LocalExecutor with one triggerer, then CeleryExecutor (Redis, two workers) with
two triggerers, as a deployment that outgrew one machine runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.deployment import Deployment

# id -> (executor, Celery workers, triggerers)
TOPOLOGIES = {
    "local": ("LocalExecutor", 0, 1),
    "celery": ("CeleryExecutor", 2, 2),
}


def running_deployment(
    parallelism: int,
    include_examples: bool,
    executor: str = "LocalExecutor",
    workers: int = 0,
    triggerers: int = 1,
    logs_name: str = "",
) -> Iterator[Deployment]:
    """Started before the first test that needs it, stopped after its last (logs kept on request:
    ``SYSTEM_TEST_KEEP_LOGS=<dir>``, one sub-directory per topology)."""
    deployment = Deployment(
        parallelism=int(os.environ.get("SYSTEM_TEST_PARALLELISM", parallelism)),
        include_examples=include_examples,
        executor=executor,
        workers=workers,
        triggerers=triggerers,
    )
    keep = os.environ.get("SYSTEM_TEST_KEEP_LOGS")
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop((Path(keep) / logs_name if logs_name else Path(keep)) if keep else None)


@pytest.fixture(scope="session", params=list(TOPOLOGIES))
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """Every test that takes it runs against each topology; ``@pytest.mark.parametrize("deployment",
    ["celery"], indirect=True)`` picks one."""
    executor, workers, triggerers = TOPOLOGIES[request.param]
    yield from running_deployment(8, True, executor, workers, triggerers, logs_name=request.param)
