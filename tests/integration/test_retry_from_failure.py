"""``retry_from_failure``: a retry continues the failed run (Daggy re-queues it, FlowEngine resumes it)
instead of starting the whole job again; off by default."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dag_runner import run_dag

MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])
RETRY = "retries=1, retry_delay=timedelta(seconds=0), poll_interval=0.1"
DAGGY = "from airflow_provider_pipelines.operators.daggy import DaggySubmitDagOperator"
FLOWENGINE = "from airflow_provider_pipelines.operators.flowengine import FlowEngineStartPipelineOperator"
SPEC = {"tag": "t", "tasks": {"ok": {"job": {"command": ["echo", "ok"]}, "children": ["bad"]},
                              "bad": {"job": {"command": ["python", "fail.py"]}}}}  # fmt: skip


def daggy_submit(deferrable: bool, retry_from_failure: bool) -> str:
    return (
        f"DaggySubmitDagOperator(task_id='submit', dag_spec={SPEC!r}, deferrable={deferrable}, {RETRY}, "
        f"retry_from_failure={retry_from_failure})"
    )


@MODES
def test_daggy_retry_requeues_the_failed_run(daggy: Any, deferrable: bool) -> None:
    result = run_dag(daggy_submit(deferrable, True), imports=DAGGY)
    assert result.states == {"submit": "failed"} and result.tries == {"submit": 2}
    (run,) = daggy.runs()  # one run: the retry continued it
    assert daggy.stats()["submits"] == 1
    assert len(run["taskAttempts"]["bad"]) == 2, "the failed task ran again"
    assert len(run["taskAttempts"]["ok"]) == 1, "the task that had succeeded did not"


@MODES
def test_daggy_retry_without_it_submits_again(daggy: Any, deferrable: bool) -> None:
    result = run_dag(daggy_submit(deferrable, False), imports=DAGGY)
    assert result.tries == {"submit": 2}
    assert daggy.stats()["submits"] == 2


@MODES
def test_flowengine_retry_resumes_the_failed_run(flowengine: Any, deferrable: bool) -> None:
    result = run_dag(
        f"FlowEngineStartPipelineOperator(task_id='start', pipeline_id=2, deferrable={deferrable}, {RETRY}, "
        "retry_from_failure=True)",
        imports=FLOWENGINE,
    )
    assert result.states == {"start": "failed"} and result.tries == {"start": 2}
    assert len(flowengine.runs()) == 1
    assert flowengine.stats()["resumes"] == 1


@MODES
def test_flowengine_retry_without_it_starts_again(flowengine: Any, deferrable: bool) -> None:
    result = run_dag(
        f"FlowEngineStartPipelineOperator(task_id='start', pipeline_id=2, deferrable={deferrable}, {RETRY})",
        imports=FLOWENGINE,
    )
    assert result.tries == {"start": 2}
    assert len(flowengine.runs()) == 2
    assert flowengine.stats()["resumes"] == 0


def test_platforms_that_cannot_continue_a_run_refuse_the_option() -> None:
    from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator

    with pytest.raises(ValueError, match="CDAP cannot continue a failed run"):
        CdapStartPipelineOperator(task_id="t", pipeline_name="p", retry_from_failure=True)
