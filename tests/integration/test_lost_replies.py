"""
Lost replies (issue #13) through real Airflow task runs: the emulator carries out a start, stop or
cancel and then loses the reply (502, 504 or a dropped connection). A task starts its job exactly
once, adopts the run it started whatever its state, and treats a stop that took effect as done.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.dag_runner import run_dag

MODES = pytest.mark.parametrize(
    ("deferrable", "kind"), [(True, "lost-502"), (False, "lost-drop")], ids=["deferrable", "classic"]
)
WAIT = "poll_interval=0.1, not_found_grace=5"


def stopped(capfd: pytest.CaptureFixture[str]) -> str:
    out = "".join(capfd.readouterr())
    assert "stopping run" not in out.lower() or "failed" not in out.lower(), out[-2000:]
    return out


# -- CDAP -------------------------------------------------------------------------------------------

CDAP = (
    "from airflow_provider_pipelines.operators.cdap "
    "import CdapStartPipelineOperator, CdapStopPipelineOperator"
)
CDAP_START = ("POST", r"/v3/namespaces/default/start$")


@MODES
def test_cdap_lost_start_reply_starts_once(cdap: Any, deferrable: bool, kind: str) -> None:
    cdap.add_fault(*CDAP_START, kind)
    result = run_dag(
        f'CdapStartPipelineOperator(task_id="start", pipeline_name="sales", deferrable={deferrable}, {WAIT})',
        imports=CDAP,
    )
    assert result.states == {"start": "success"}
    (run,) = cdap.runs("default", "sales")
    assert result.xcom("start", "run_id") == run["runid"]
    assert cdap.stats()["lost_replies"] == {"start": 1}


@MODES
def test_cdap_lost_start_reply_of_a_failing_run_fails_once(
    cdap: Any, deferrable: bool, kind: str, capfd: pytest.CaptureFixture[str]
) -> None:
    cdap.add_fault(*CDAP_START, "lost-504")
    result = run_dag(
        f'CdapStartPipelineOperator(task_id="start", pipeline_name="nightly-fail", deferrable={deferrable}, '
        f"{WAIT})",
        imports=CDAP,
    )
    assert result.states == {"start": "failed"}
    assert len(cdap.runs("default", "nightly-fail")) == 1
    assert "Pipeline 'nightly-fail' failed" in "".join(capfd.readouterr())


@MODES
def test_cdap_lost_stop_reply_on_timeout_still_stops(
    cdap: Any, deferrable: bool, kind: str, capfd: pytest.CaptureFixture[str]
) -> None:
    cdap.add_fault("POST", r"/runs/[^/]+/stop$", kind)
    result = run_dag(
        f'CdapStartPipelineOperator(task_id="start", pipeline_name="long-load", deferrable={deferrable}, '
        f"{WAIT}, timeout=0.5)",
        imports=CDAP,
    )
    assert result.states == {"start": "failed"}
    (run,) = cdap.runs("default", "long-load")
    assert run["status"] in ("STOPPING", "KILLED")
    stopped(capfd)


def test_cdap_stop_operator_with_a_lost_reply_succeeds(cdap: Any) -> None:
    run_dag(
        f'CdapStartPipelineOperator(task_id="start", pipeline_name="long-load", '
        f"wait_for_completion=False, {WAIT})",
        imports=CDAP,
    )
    (run,) = cdap.runs("default", "long-load")
    cdap.add_fault("POST", r"/runs/[^/]+/stop$", "lost-504")
    result = run_dag(
        f'CdapStopPipelineOperator(task_id="stop", pipeline_name="long-load", run_id="{run["runid"]}")',
        imports=CDAP,
    )
    assert result.states == {"stop": "success"}
    assert cdap.runs("default", "long-load")[0]["status"] in ("STOPPING", "KILLED")


# -- Daggy ------------------------------------------------------------------------------------------

DAGGY = "from airflow_provider_pipelines.operators.daggy import DaggyKillRunOperator, DaggySubmitDagOperator"
DAGGY_SUBMIT = ("POST", r"^/v1/dagrun/?$")


def daggy_spec(command: str) -> dict[str, Any]:
    return {"tag": "t", "tasks": {"step": {"job": {"command": command.split()}}}}


def daggy_submit(command: str, deferrable: bool, extra: str = "") -> str:
    return (
        f"DaggySubmitDagOperator(task_id='submit', dag_spec={daggy_spec(command)!r}, "
        f"deferrable={deferrable}, {WAIT}{', ' + extra if extra else ''})"
    )


@MODES
def test_daggy_lost_submit_reply_submits_once(daggy: Any, deferrable: bool, kind: str) -> None:
    daggy.add_fault(*DAGGY_SUBMIT, kind)
    result = run_dag(daggy_submit("echo ok", deferrable), imports=DAGGY)
    assert result.states == {"submit": "success"}
    (run,) = daggy.runs()
    assert result.xcom("submit", "run_id") == run["runID"]
    assert daggy.stats()["submits"] == 1


@MODES
def test_daggy_lost_submit_reply_of_a_failing_run_fails_once(
    daggy: Any, deferrable: bool, kind: str, capfd: pytest.CaptureFixture[str]
) -> None:
    daggy.add_fault(*DAGGY_SUBMIT, "lost-504")
    result = run_dag(daggy_submit("python fail.py", deferrable), imports=DAGGY)
    assert result.states == {"submit": "failed"}
    assert daggy.stats()["submits"] == 1
    assert "failed tasks: step (ERRORED" in "".join(capfd.readouterr())


@MODES
def test_daggy_lost_kill_reply_on_timeout_still_kills(
    daggy: Any, deferrable: bool, kind: str, capfd: pytest.CaptureFixture[str]
) -> None:
    daggy.add_fault("DELETE", r"^/v1/dagrun/\d+$", kind)
    result = run_dag(daggy_submit("sleep long", deferrable, "timeout=0.5"), imports=DAGGY)
    assert result.states == {"submit": "failed"}
    (run,) = daggy.runs()
    assert run["dagStateChanges"][-1]["state"] == "KILLED"
    stopped(capfd)


def test_daggy_kill_operator_with_a_lost_reply_succeeds(daggy: Any) -> None:
    run_dag(daggy_submit("sleep long", False, "wait_for_completion=False"), imports=DAGGY)
    (run,) = daggy.runs()
    daggy.add_fault("DELETE", r"^/v1/dagrun/\d+$", "lost-502")
    result = run_dag(f"DaggyKillRunOperator(task_id='kill', run_id={run['runID']})", imports=DAGGY)
    assert result.states == {"kill": "success"}
    assert daggy.runs()[0]["dagStateChanges"][-1]["state"] == "KILLED"


# -- Tailer (its API cannot stop a run) --------------------------------------------------------------

TAILER = "from airflow_provider_pipelines.operators.tailer import TailerLaunchJobOperator"
TAILER_LAUNCH = ("POST", r"^/v1/dag/launch$")


def tailer_launch(configuration_id: str, deferrable: bool) -> str:
    return (
        f'TailerLaunchJobOperator(task_id="launch", account="000099", environment="DEV", '
        f'configuration_type="table-to-table", configuration_id="{configuration_id}", '
        f"deferrable={deferrable}, {WAIT})"
    )


@MODES
def test_tailer_lost_launch_reply_launches_once(tailer: Any, deferrable: bool, kind: str) -> None:
    tailer.add_fault(*TAILER_LAUNCH, kind)
    result = run_dag(tailer_launch("000099_sales", deferrable), imports=TAILER)
    assert result.states == {"launch": "success"}
    (run,) = tailer.runs()
    assert result.xcom("launch", "run_id") == run["run_id"]


@MODES
def test_tailer_lost_launch_reply_of_a_failing_run_fails_once(
    tailer: Any, deferrable: bool, kind: str
) -> None:
    tailer.add_fault(*TAILER_LAUNCH, "lost-504")
    result = run_dag(tailer_launch("000099_load_fail", deferrable), imports=TAILER)
    assert result.states == {"launch": "failed"}
    assert len(tailer.runs()) == 1


# -- FlowEngine -------------------------------------------------------------------------------------

FLOWENGINE = (
    "from airflow_provider_pipelines.operators.flowengine import "
    "FlowEngineStartPipelineOperator, FlowEngineStopRunOperator"
)
FLOWENGINE_START = ("POST", r"/start$")


def flowengine_start(pipeline_id: int, deferrable: bool, extra: str = "") -> str:
    return (
        f"FlowEngineStartPipelineOperator(task_id='start', pipeline_id={pipeline_id}, "
        f"deferrable={deferrable}, {WAIT}{', ' + extra if extra else ''})"
    )


@MODES
def test_flowengine_lost_start_reply_starts_once(flowengine: Any, deferrable: bool, kind: str) -> None:
    flowengine.add_fault(*FLOWENGINE_START, kind)
    result = run_dag(flowengine_start(1, deferrable), imports=FLOWENGINE)
    assert result.states == {"start": "success"}
    (run,) = flowengine.runs()
    assert result.xcom("start", "run_id") == run["id"]


@MODES
def test_flowengine_lost_start_reply_of_a_failing_run_fails_once(
    flowengine: Any, deferrable: bool, kind: str, capfd: pytest.CaptureFixture[str]
) -> None:
    flowengine.add_fault(*FLOWENGINE_START, "lost-504")
    result = run_dag(flowengine_start(2, deferrable), imports=FLOWENGINE)
    assert result.states == {"start": "failed"}
    assert len(flowengine.runs()) == 1
    assert "Simulated failure in bad_step" in "".join(capfd.readouterr())


@MODES
def test_flowengine_lost_stop_reply_on_timeout_still_stops(
    flowengine: Any, deferrable: bool, kind: str, capfd: pytest.CaptureFixture[str]
) -> None:
    flowengine.config.running_seconds = 30
    flowengine.add_fault("DELETE", r"/stopHistory$", kind)
    result = run_dag(flowengine_start(1, deferrable, "timeout=0.5"), imports=FLOWENGINE)
    assert result.states == {"start": "failed"}
    assert flowengine.stats()["run_stops"] == 1
    stopped(capfd)


def test_flowengine_stop_operator_with_a_lost_reply_succeeds(flowengine: Any) -> None:
    flowengine.config.running_seconds = 30
    run_dag(flowengine_start(1, False, "wait_for_completion=False"), imports=FLOWENGINE)
    (run,) = flowengine.runs()
    flowengine.add_fault("DELETE", r"/stopHistory$", "lost-drop")
    result = run_dag(f"FlowEngineStopRunOperator(task_id='stop', run_id={run['id']})", imports=FLOWENGINE)
    assert result.states == {"stop": "success"}
    assert flowengine.stats()["run_stops"] == 1


# -- EnOS -------------------------------------------------------------------------------------------

ENOS = """
from airflow_provider_pipelines.operators.enos import (
    EnosStartStreamingPipelineOperator, EnosStopStreamingPipelineOperator, EnosTriggerFlowOperator,
)
"""
ENOS_FLOW = ("POST", r"/flows$")
ENOS_PIPELINE = ("POST", r"/pipeline/pl-demo-1$")


@MODES
def test_enos_lost_flow_trigger_reply_triggers_once(enos: Any, deferrable: bool, kind: str) -> None:
    enos.add_fault(*ENOS_FLOW, kind)
    result = run_dag(
        f'EnosTriggerFlowOperator(task_id="flow", flow_id=101, deferrable={deferrable}, {WAIT})', imports=ENOS
    )
    assert result.states == {"flow": "success"}
    (instance,) = enos.flow_instances()
    assert result.xcom("flow", "run_id") == instance["flowInstId"]


@MODES
def test_enos_lost_flow_trigger_reply_of_a_failing_run_fails_once(
    enos: Any, deferrable: bool, kind: str, capfd: pytest.CaptureFixture[str]
) -> None:
    enos.add_fault(*ENOS_FLOW, "lost-504")
    result = run_dag(
        f'EnosTriggerFlowOperator(task_id="flow", flow_id=401, deferrable={deferrable}, {WAIT})', imports=ENOS
    )
    assert result.states == {"flow": "failed"}
    assert len(enos.flow_instances()) == 1
    assert "task load" in "".join(capfd.readouterr())


@MODES
def test_enos_lost_flow_cancel_reply_on_timeout_still_cancels(
    enos: Any, deferrable: bool, kind: str, capfd: pytest.CaptureFixture[str]
) -> None:
    enos.add_fault("POST", r"/flowInstances$", kind)
    result = run_dag(
        f'EnosTriggerFlowOperator(task_id="flow", flow_id=901, deferrable={deferrable}, {WAIT}, timeout=0.5)',
        imports=ENOS,
    )
    assert result.states == {"flow": "failed"}
    assert enos.stats()["flow_cancels"] == 1
    stopped(capfd)


@MODES
def test_enos_lost_streaming_start_and_stop_replies(enos: Any, deferrable: bool, kind: str) -> None:
    enos.add_fault(*ENOS_PIPELINE, kind)  # the start's reply
    started = run_dag(
        f'EnosStartStreamingPipelineOperator(task_id="start", pipeline_id="pl-demo-1", '
        f"deferrable={deferrable}, {WAIT})",
        imports=ENOS,
    )
    assert started.states == {"start": "success"}
    assert enos.stats()["starts"] == 1
    enos.add_fault(*ENOS_PIPELINE, "lost-504")  # the stop's reply
    result = run_dag(
        f'EnosStopStreamingPipelineOperator(task_id="stop", pipeline_id="pl-demo-1", '
        f"deferrable={deferrable}, {WAIT})",
        imports=ENOS,
    )
    assert result.states == {"stop": "success"}
    assert enos.stats()["stops"] >= 1
    assert enos.pipeline("pl-demo-1")["status"] == "STOPPED"


def test_flowengine_look_up_tells_a_start_from_another_tasks_by_its_parameters(flowengine: Any) -> None:
    from airflow_provider_pipelines.core.start import CannotTell, new_attempt
    from airflow_provider_pipelines.hooks.flowengine import FlowEngineHook

    hook = FlowEngineHook()
    attempt = new_attempt("m", hook.start_facts({"pipeline_id": 1}))
    mine = hook.start_pipeline(1, {"node_sql": {"task": "mine"}})
    hook.start_pipeline(1, {"node_sql": {"task": "another"}})  # another task, same pipeline, meanwhile
    found = hook.find_started_run({"pipeline_id": 1}, {**attempt, "params": {"node_sql": {"task": "mine"}}})
    assert found == hook.run_ref(1, mine["id"])
    gone = hook.find_started_run({"pipeline_id": 1}, {**attempt, "params": {"node_sql": {"task": "lost"}}})
    assert gone is None  # only other tasks' runs: this start made none
    with pytest.raises(CannotTell, match="2 new runs"):
        hook.find_started_run({"pipeline_id": 1}, attempt)  # no parameters to tell them apart
