"""
What the DAG author wrote is what the platform gets (issue #14 item 1): a string inside a templated
dict or list stays a string whatever ``render_template_as_native_obj`` says, and the templates in it
are still rendered.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.dag_runner import run_dag

NATIVE = pytest.mark.parametrize("native", [True, False], ids=["native", "text"])
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def dag_kwargs(native: bool) -> str:
    return f"render_template_as_native_obj={native}"


@NATIVE
def test_daggy_dag_spec(daggy: Any, native: bool) -> None:
    spec = {
        "tag": "{{ ds }}",
        "parameters": {"JOBNO": ["1", "2"], "FLAG": "true"},
        "tasks": {"step": {"job": {"command": ["echo", "{{JOBNO}}", "{{ ds }}", "007"]}}},
    }
    result = run_dag(
        f"DaggySubmitDagOperator(task_id='submit', dag_spec={spec!r}, poll_interval=0.1)",
        imports="from airflow_provider_pipelines.operators.daggy import DaggySubmitDagOperator",
        dag_kwargs=dag_kwargs(native),
    )
    assert result.states == {"submit": "success"}
    (run,) = daggy.runs()  # Daggy refuses a parameter list that is not strings (HTTP 400)
    assert DAY.fullmatch(run["tag"].split(" ")[0])
    commands = sorted(task["job"]["command"] for task in run["tasks"].values())
    assert [c[1] for c in commands] == ["1", "2"], commands  # one task per JOBNO value
    assert all(c[3] == "007" and DAY.fullmatch(c[2]) for c in commands), commands


@NATIVE
def test_flowengine_node_params(flowengine: Any, native: bool) -> None:
    result = run_dag(
        "FlowEngineStartPipelineOperator(task_id='start', pipeline_id=1, poll_interval=0.1, "
        "node_params={'node_sql': {'n': '3', 'on': 'true', 'day': '{{ ds }}', 'list': ['1', 2]}})",
        imports="from airflow_provider_pipelines.operators.flowengine import FlowEngineStartPipelineOperator",
        dag_kwargs=dag_kwargs(native),
    )
    assert result.states == {"start": "success"}
    params = flowengine.runs()[0]["params"]["node_sql"]
    assert params["n"] == "3" and params["on"] == "true" and params["list"] == ["1", 2]
    assert DAY.fullmatch(params["day"])


@NATIVE
def test_cdap_runtime_args(cdap: Any, native: bool) -> None:
    result = run_dag(
        "CdapStartPipelineOperator(task_id='start', pipeline_name='sales', poll_interval=0.1, "
        "runtime_args={'n': '3', 'flag': 'true', 'cap': 'True', 'day': '{{ ds }}', "
        "'text': '{{ ds }} and 1'})",
        imports="from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator",
        dag_kwargs=dag_kwargs(native),
    )
    assert result.states == {"start": "success"}
    args = json.loads(cdap.runs("default", "sales")[0]["properties"]["runtimeArgs"])
    assert args["n"] == "3" and args["flag"] == "true" and args["cap"] == "True"
    assert DAY.fullmatch(args["day"]) and args["text"].endswith(" and 1")


@NATIVE
def test_a_whole_template_field_may_still_render_natively(cdap: Any, native: bool) -> None:
    """A field that is one whole template renders as Airflow renders it: here a pipeline name."""
    result = run_dag(
        "CdapStartPipelineOperator(task_id='start', pipeline_name='{{ \"sales\" }}', poll_interval=0.1)",
        imports="from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator",
        dag_kwargs=dag_kwargs(native),
    )
    assert result.states == {"start": "success"}
    assert len(cdap.runs("default", "sales")) == 1


def enos_start(value: Any) -> Any:
    from airflow_provider_pipelines.operators.enos import EnosStartStreamingPipelineOperator

    return EnosStartStreamingPipelineOperator(task_id="t", pipeline_id="p", resource_config=value)


def enos_flow(value: Any) -> Any:
    from airflow_provider_pipelines.operators.enos import EnosTriggerFlowOperator

    return EnosTriggerFlowOperator(task_id="t", flow_id=1, parameters=value)


def flowengine_create(value: Any) -> Any:
    from airflow_provider_pipelines.operators.flowengine import FlowEngineCreatePipelineOperator

    return FlowEngineCreatePipelineOperator(task_id="t", template=value)


def flowengine_update(value: Any) -> Any:
    from airflow_provider_pipelines.operators.flowengine import FlowEngineUpdatePipelineOperator

    return FlowEngineUpdatePipelineOperator(task_id="t", pipeline_id=1, changes=value)


@NATIVE
@pytest.mark.parametrize(
    ("build", "field", "value"),
    [
        (
            enos_start,
            "resource_config",
            {"server": "2", "advanced": [{"key": "day", "value": "{{ ds }}"}, {"key": "n", "value": "1"}]},
        ),
        (enos_flow, "parameters", {"n": "3"}),
        (flowengine_create, "template", {"name": "007"}),
        (flowengine_update, "changes", {"data": {"describe": "true", "day": "{{ ds }}"}}),
    ],
    ids=["enos-resource-config", "enos-flow-parameters", "flowengine-template", "flowengine-changes"],
)
def test_every_other_structured_field_keeps_its_strings(
    native: bool, build: Any, field: str, value: Any
) -> None:
    """The same rule for the structured fields whose platforms do not echo them back: rendered with the
    DAG's own template environment, as a task instance renders them."""
    from datetime import datetime

    try:
        from airflow.sdk import DAG
    except ImportError:  # Airflow 2
        from airflow import DAG  # type: ignore[no-redef]

    with DAG(
        "native_fields", schedule=None, start_date=datetime(2024, 1, 1), render_template_as_native_obj=native
    ) as dag:
        task = build(value)
    rendered = task.render_template(getattr(task, field), {"ds": "2024-05-01"}, dag.get_template_env())
    assert rendered == json.loads(json.dumps(value).replace("{{ ds }}", "2024-05-01"))
