"""FlowEngine's success_statuses / failure_statuses: deprecated names of success_states / failure_states
(issue #18), still working, with a warning."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from airflow_provider_pipelines.hooks.flowengine import ProviderDeprecationWarning
from airflow_provider_pipelines.operators.flowengine import (
    FlowEngineResumeRunOperator,
    FlowEngineStartPipelineOperator,
)
from airflow_provider_pipelines.sensors.flowengine import FlowEnginePipelineRunSensor

TASKS: list[tuple[type[Any], dict[str, Any]]] = [
    (FlowEngineStartPipelineOperator, {"pipeline_id": 1}),
    (FlowEngineResumeRunOperator, {"pipeline_id": 1, "run_id": 2}),
    (FlowEnginePipelineRunSensor, {"pipeline_id": 1, "run_id": 2}),
]


def test_the_warning_is_airflows_provider_deprecation_warning() -> None:
    from airflow.exceptions import AirflowProviderDeprecationWarning

    assert ProviderDeprecationWarning is AirflowProviderDeprecationWarning
    assert issubclass(ProviderDeprecationWarning, DeprecationWarning)


@pytest.mark.parametrize(("task", "kwargs"), TASKS)
def test_the_old_names_still_work_with_a_warning(task: type[Any], kwargs: dict[str, Any]) -> None:
    with pytest.warns(ProviderDeprecationWarning, match="success_statuses is deprecated, use success_states"):
        made = task(task_id="t", success_statuses=["done"], **kwargs)
    assert (made.success_states, made.failure_states) == (["done"], None)
    with pytest.warns(ProviderDeprecationWarning, match="failure_statuses is deprecated, use failure_states"):
        made = task(task_id="u", failure_statuses=["broken"], **kwargs)
    assert (made.success_states, made.failure_states) == (None, ["broken"])
    with pytest.warns(ProviderDeprecationWarning):
        made = task(task_id="v", success_states=["new"], success_statuses=["old"], **kwargs)
    assert made.success_states == ["new"]  # the current name wins, as it always did


@pytest.mark.parametrize(("task", "kwargs"), TASKS)
def test_the_current_names_warn_nothing(task: type[Any], kwargs: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProviderDeprecationWarning)
        made = task(task_id="t", success_states=["done"], failure_states=["broken"], **kwargs)
    assert (made.success_states, made.failure_states) == (["done"], ["broken"])
