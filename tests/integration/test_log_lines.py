"""Log lines say what happened and name the pipeline (issue #14 item 10)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dag_runner import run_dag


def test_the_cdap_start_line_names_the_run_and_the_pipeline(
    cdap: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(
        'CdapStartPipelineOperator(task_id="start", pipeline_name="sales", poll_interval=0.1)',
        imports="from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator",
    )
    assert result.states == {"start": "success"}
    (run,) = cdap.runs("default", "sales")
    assert f"Started CDAP run {run['runid']} of pipeline sales" in "".join(capfd.readouterr())


def test_a_resume_that_only_follows_a_run_does_not_say_started(
    flowengine: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    imports = (
        "from airflow_provider_pipelines.operators.flowengine import "
        "FlowEngineResumeRunOperator, FlowEngineStartPipelineOperator"
    )
    run_dag(
        "FlowEngineStartPipelineOperator(task_id='start', pipeline_id=1, poll_interval=0.1)", imports=imports
    )
    (run,) = flowengine.runs()
    capfd.readouterr()
    result = run_dag(
        f"FlowEngineResumeRunOperator(task_id='resume', pipeline_id=1, run_id={run['id']}, "
        "poll_interval=0.1)",
        imports=imports,
    )
    assert result.states == {"resume": "success"}
    out = "".join(capfd.readouterr())
    assert f"FlowEngine run {run['id']} is" in out and "following it" in out
    assert "Started FlowEngine" not in out
