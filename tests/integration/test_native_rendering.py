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
