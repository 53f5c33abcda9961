"""Daggy operators, sensor and trigger through real Airflow task runs (dag.test), in both wait modes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.dag_runner import run_dag

IMPORTS = """
from airflow_provider_pipelines.operators.daggy import (
    DaggyKillRunOperator, DaggyKillTaskOperator, DaggyRequeueRunOperator, DaggyRequeueTaskOperator,
    DaggySubmitDagOperator,
)
from airflow_provider_pipelines.sensors.daggy import DaggyRunSensor
"""
RUN_ID = "{{ ti.xcom_pull(task_ids='submit', key='run_id') }}"
MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])


def dag_spec(
    *commands: str, tag: str = "t", parameters: dict[str, Any] | None = None, chain: bool = True
) -> dict:
    names = [f"step{i}" for i in range(len(commands))]
    tasks: dict[str, Any] = {}
    for i, (name, command) in enumerate(zip(names, commands, strict=True)):
        tasks[name] = {"job": {"command": command.split()}}
        if chain and i + 1 < len(names):
            tasks[name]["children"] = [names[i + 1]]
    spec: dict[str, Any] = {"tag": tag, "tasks": tasks}
    if parameters:
        spec["parameters"] = parameters
    return spec


def submit(spec: Any, deferrable: bool = False, extra: str = "") -> str:
    return (
        f"DaggySubmitDagOperator(task_id='submit', dag_spec={spec!r}, deferrable={deferrable}, "
        f"poll_interval=0.1{', ' + extra if extra else ''})"
    )


@MODES
def test_submitted_dag_runs_to_completion_with_expanded_parameters(
    daggy: Any, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    spec = dag_spec("echo part", "echo load", parameters={"JOBNO": ["1", "2"]})
    spec["tasks"]["step0"]["job"]["command"] = ["echo", "part", "{{JOBNO}}", "of", "{{ ds }}"]
    result = run_dag(submit(spec, deferrable), imports=IMPORTS)

    assert result.states == {"submit": "success"}
    (run,) = daggy.runs()
    run_id = result.xcom("submit")
    assert isinstance(run_id, int)
    assert result.xcom("submit", "run_id") == run_id
    assert set(run["taskStates"]) == {"step0_0", "step0_1", "step1"}
    commands = {name: task["job"]["command"] for name, task in run["tasks"].items()}
    assert commands["step0_0"][:3] == ["echo", "part", "1"]
    assert commands["step0_1"][2] == "2"
    day = commands["step0_0"][-1]
    assert len(day) == 10 and day[4] == "-", "Airflow's {{ ds }} is rendered, Daggy's {{JOBNO}} is not"
    out = "".join(capfd.readouterr())
    assert "COMPLETED" in out and "3 COMPLETED" in out, "progress lines show task counts"


@MODES
def test_errored_run_fails_the_task_naming_the_failed_task(
    daggy: Any, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(submit(dag_spec("echo ok", "python fail.py"), deferrable), imports=IMPORTS)

    assert result.states == {"submit": "failed"}
    out = "".join(capfd.readouterr())
    assert "ended ERRORED" in out
    assert "failed tasks: step1 (ERRORED, rc 1)" in out
    assert "simulated failure in step1" in out  # the tail of the failed attempt's errorLog


def test_invalid_dag_fails_before_submission_with_the_servers_reason(
    daggy: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    spec = {"tag": "bad", "tasks": {"a": {"job": {"command": ["x"]}, "children": ["nowhere"]}}}
    result = run_dag(submit(spec), imports=IMPORTS)

    assert result.states == {"submit": "failed"}
    assert daggy.stats()["submits"] == 0
    out = "".join(capfd.readouterr())
    assert "Daggy validate DAG failed (HTTP 400)" in out
    assert "nowhere" in out


def test_dag_spec_from_a_json_string_and_from_a_file(daggy: Any, tmp_path: Path) -> None:
    path = tmp_path / "dag.json"
    path.write_text(json.dumps(dag_spec("echo from-file", tag="file")))
    as_string = json.dumps(dag_spec("echo from-string", tag="string"))
    result = run_dag(
        f"""
        DaggySubmitDagOperator(task_id="from_file", dag_spec={str(path)!r}, poll_interval=0.1)
        DaggySubmitDagOperator(task_id="from_string", dag_spec={as_string!r}, poll_interval=0.1)
        """,
        imports=IMPORTS,
    )
    assert result.states == {"from_file": "success", "from_string": "success"}
    tags = sorted(run["tag"].split(" ")[0] for run in daggy.runs())
    assert tags == ["file", "string"]


@MODES
def test_timeout_kills_the_run(daggy: Any, deferrable: bool) -> None:
    result = run_dag(submit(dag_spec("sleep long"), deferrable, "timeout=0.5"), imports=IMPORTS)
    assert result.states == {"submit": "failed"}
    (run,) = daggy.runs()
    assert run["dagStateChanges"][-1]["state"] == "KILLED"
    assert daggy.stats()["run_kills"] == 1


@MODES
def test_retry_reattaches_to_the_submitted_run(daggy: Any, deferrable: bool) -> None:
    daggy.add_fault("GET", r"^/v1/dagrun/\d+$", 403, times=1)
    result = run_dag(
        submit(dag_spec("echo a", "echo b"), deferrable, "retries=1, retry_delay=timedelta(seconds=0)"),
        imports=IMPORTS,
    )
    assert result.states == {"submit": "success"}
    assert result.tries == {"submit": 2}
    assert daggy.stats()["submits"] == 1


@pytest.mark.parametrize(
    ("mode", "deferrable"),
    [("poke", False), ("reschedule", False), ("poke", True)],
    ids=["poke", "reschedule", "deferrable"],
)
@pytest.mark.parametrize("command", ["echo fine", "python fail.py"], ids=["completes", "errors"])
def test_sensor_waits_for_the_run(daggy: Any, mode: str, deferrable: bool, command: str) -> None:
    result = run_dag(
        f"""
        s = {submit(dag_spec(command), extra="wait_for_completion=False")}
        w = DaggyRunSensor(task_id="wait", run_id="{RUN_ID}", mode="{mode}", deferrable={deferrable},
                           poke_interval=0.1, timeout=60)
        s >> w
        """,
        imports=IMPORTS,
    )
    expected = "failed" if "fail" in command else "success"
    assert result.states == {"submit": "success", "wait": expected}


def test_kill_then_requeue_resumes_the_run(daggy: Any) -> None:
    result = run_dag(
        f"""
        s = {submit(dag_spec("echo a", "echo b", "echo c"), extra="wait_for_completion=False")}
        k = DaggyKillRunOperator(task_id="kill", run_id="{RUN_ID}")
        r = DaggyRequeueRunOperator(task_id="resume", run_id="{RUN_ID}", deferrable=True, poll_interval=0.1)
        s >> k >> r
        """,
        imports=IMPORTS,
    )
    assert result.states == {"submit": "success", "kill": "success", "resume": "success"}
    (run,) = daggy.runs()
    states = [change["state"] for change in run["dagStateChanges"]]
    assert "KILLED" in states and states[-1] == "COMPLETED"
    assert daggy.stats()["requeues"] >= 1


def test_kill_task_then_requeue_task(daggy: Any) -> None:
    result = run_dag(
        f"""
        s = {submit(dag_spec("sleep long", "echo after"), extra="wait_for_completion=False")}
        k = DaggyKillTaskOperator(task_id="kill_task", run_id="{RUN_ID}", task_name="step0")
        r = DaggyRequeueTaskOperator(task_id="requeue_task", run_id="{RUN_ID}", task_name="step0",
                                     wait_for_completion=False)
        s >> k >> r
        """,
        imports=IMPORTS,
    )
    assert result.states == {"submit": "success", "kill_task": "success", "requeue_task": "success"}
    stats = daggy.stats()
    assert stats["task_kills"] == 1
    assert stats["requeues"] == 1


def test_a_killed_task_is_requeued_while_its_run_still_runs(daggy: Any) -> None:
    daggy.config.task_seconds = 5.0  # long enough for the kill to find "steady" running
    spec = {
        "tag": "parallel",
        "tasks": {
            "slow": {"job": {"command": ["sleep", "long"]}},
            "steady": {"job": {"command": ["echo", "x"]}},
        },
    }
    result = run_dag(
        f"""
        s = {submit(spec, extra="wait_for_completion=False")}
        k = DaggyKillTaskOperator(task_id="kill_task", run_id="{RUN_ID}", task_name="steady")
        r = DaggyRequeueTaskOperator(task_id="requeue_task", run_id="{RUN_ID}", task_name="steady",
                                     wait_for_completion=False)
        s >> k >> r
        """,
        imports=IMPORTS,
    )
    assert result.states == {"submit": "success", "kill_task": "success", "requeue_task": "success"}
    (run,) = daggy.runs()
    assert run["state"] == "RUNNING", "the long task keeps the run going"
    assert daggy.stats()["requeues"] == 1


def test_requeue_of_a_run_that_is_not_errored_just_follows_it(daggy: Any) -> None:
    result = run_dag(
        f"""
        s = {submit(dag_spec("echo a"), extra="wait_for_completion=False")}
        r = DaggyRequeueRunOperator(task_id="resume", run_id="{RUN_ID}", poll_interval=0.1)
        s >> r
        """,
        imports=IMPORTS,
    )
    assert result.states == {"submit": "success", "resume": "success"}
    assert daggy.stats()["requeues"] == 0
