"""The Daggy emulator over real HTTP: what the provider's Daggy hook and trigger will be tested against."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_pipelines.emulators import pytest_plugin
from airflow_provider_pipelines.emulators.daggy import DagError, DaggyEmulatorHandle, parse_dag

# The plugin's fixtures, also when the package's pytest11 entry point is not installed.
_daggy_emulator_session = pytest_plugin._daggy_emulator_session
daggy_emulator = pytest_plugin.daggy_emulator
daggy_emulator_factory = pytest_plugin.daggy_emulator_factory

NS_TIME = re.compile(r"^\d{19}$")


def task(*command: str, **fields: Any) -> dict[str, Any]:
    return {"job": {"command": list(command), "cores": "1", "memoryMB": "100"}, **fields}


def submit(base: str, tasks: dict[str, Any], **dag: Any) -> int:
    reply = requests.post(f"{base}/v1/dagrun", json={"tag": "test", **dag, "tasks": tasks}, timeout=5)
    assert reply.status_code == 200, reply.text
    run_id: int = reply.json()["runID"]
    return run_id


def get_run(base: str, run_id: int) -> dict[str, Any]:
    reply = requests.get(f"{base}/v1/dagrun/{run_id}", timeout=5)
    assert reply.status_code == 200, reply.text
    document: dict[str, Any] = reply.json()
    return document


def run_state(base: str, run_id: int) -> str:
    state: str = requests.get(f"{base}/v1/dagrun/{run_id}/state", timeout=5).json()["state"]
    return state


def wait_run(base: str, run_id: int, wanted: str, timeout: float = 3.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = run_state(base, run_id)
        if state == wanted:
            return get_run(base, run_id)
        assert time.monotonic() < deadline, f"run {run_id} never reached {wanted}: {state}"
        time.sleep(0.01)


def wait_task(base: str, run_id: int, name: str, wanted: str, timeout: float = 3.0) -> None:
    url = f"{base}/v1/dagrun/{run_id}/task/{name}/state"
    deadline = time.monotonic() + timeout
    while (state := requests.get(url, timeout=5).json()["state"]) != wanted:
        assert time.monotonic() < deadline, f"task {name} never reached {wanted}: {state}"
        time.sleep(0.01)


def all_times(document: dict[str, Any]) -> list[str]:
    times = [change["time"] for change in document["dagStateChanges"]]
    for attempts in document["taskAttempts"].values():
        for attempt in attempts:
            times += [attempt["startTime"], attempt["stopTime"]]
    return times


def test_ready_submit_and_documented_expansion(daggy_emulator: DaggyEmulatorHandle) -> None:
    base = daggy_emulator.url
    assert requests.get(f"{base}/ready", timeout=5).json() == {"msg": "Ya like DAGs?"}
    example = {"simple": task("/usr/bin/python3", "script.py", "{{JOBNO}}")}
    valid = requests.post(
        f"{base}/v1/dagrun/validate", json={"parameters": {"JOBNO": ["1", "2"]}, "tasks": example}, timeout=5
    )
    assert (valid.status_code, valid.json()) == (200, {"valid": True})
    assert daggy_emulator.runs() == []
    assert submit(base, example, parameters={"JOBNO": ["1", "2"]}) == 0
    assert submit(base, example, parameters={"JOBNO": "7"}) == 1
    document = wait_run(base, 0, "COMPLETED")
    assert list(document) == ["runID", "tag", "tasks", "taskStates", "taskAttempts", "dagStateChanges"]
    assert (document["runID"], document["tag"]) == (0, "test")
    assert document["tasks"]["simple_0"] == {
        "maxRetries": 0,
        "retryIntervalSeconds": 0,
        "job": {
            "command": ["/usr/bin/python3", "script.py", "1"],
            "cores": "1",
            "memoryMB": "100",
            "environment": [],
        },
        "children": [],
        "parents": [],
        "isGenerator": False,
    }
    assert document["tasks"]["simple_1"]["job"]["command"][-1] == "2"
    assert document["taskStates"] == {"simple_0": "COMPLETED", "simple_1": "COMPLETED"}
    [attempt] = document["taskAttempts"]["simple_1"]
    assert set(attempt) == {"startTime", "stopTime", "rc", "outputLog", "errorLog", "executorLog"}
    assert (attempt["rc"], attempt["errorLog"]) == (0, "")
    assert attempt["outputLog"].startswith("Echoing /usr/bin/python3 script.py 2")
    assert all(NS_TIME.match(moment) for moment in all_times(document))
    single = get_run(base, 1)  # a single value is substituted without renaming
    assert single["tasks"]["simple"]["job"]["command"] == ["/usr/bin/python3", "script.py", "7"]
    one = requests.get(f"{base}/v1/dagrun/0/task/simple_0", timeout=5)
    assert one.json() == document["tasks"]["simple_0"]
    stats = daggy_emulator.stats()
    assert (stats["submits"], stats["validations"], stats["invalid_dags"]) == (2, 1, 0)
    assert stats["requests"]["POST submit"] == 2 and stats["requests"]["GET get_task"] == 1


def test_cross_product_and_edges_to_expanded_tasks() -> None:
    dag = parse_dag(
        '{"parameters": {"A": ["x", "y"], "B": ["1", "2"], "C": "c"}, "tasks": {'
        '"t": {"job": {"command": ["run", "{{B}}{{A}}", "{{C}}"]}, "children": ["after"]},'
        '"after": {"job": {"command": ["echo", "{{A}}"]}},'
        '"first": {"job": {"command": ["prep"]}, "children": ["t"]}}}'
    )
    assert [(name, spec["job"]["command"]) for name, spec in dag.tasks.items()] == [
        ("t_0", ["run", "1x", "c"]),
        ("t_1", ["run", "2x", "c"]),
        ("t_2", ["run", "1y", "c"]),
        ("t_3", ["run", "2y", "c"]),
        ("after_0", ["echo", "x"]),
        ("after_1", ["echo", "y"]),
        ("first", ["prep"]),
    ]
    assert dag.tasks["first"]["children"] == ["t_0", "t_1", "t_2", "t_3"]
    assert dag.tasks["t_2"]["parents"] == ["first"]
    assert dag.tasks["t_2"]["children"] == ["after_0", "after_1"]
    assert dag.tasks["after_1"]["parents"] == ["t_0", "t_1", "t_2", "t_3"]
    with pytest.raises(DagError, match="Duplicate task name 't_0'"):
        parse_dag(
            '{"parameters": {"A": ["1", "2"]}, "tasks": {"t": {"job": {"command": ["{{A}}"]}},'
            '"t_0": {"job": {"command": ["x"]}}}}'
        )
    ten = json.dumps([str(n) for n in range(10)])
    huge = f'{{"parameters": {{"A": {ten}, "B": {ten}, "C": {ten}, "D": {ten}, "E": {ten}}},'
    with pytest.raises(DagError, match="more than 10000 tasks"):
        parse_dag(huge + '"tasks": {"t": {"job": {"command": ["{{A}}{{B}}{{C}}{{D}}{{E}}"]}}}}')


def test_parents_complete_before_children_start(daggy_emulator: DaggyEmulatorHandle) -> None:
    base = daggy_emulator.url
    daggy_emulator.config.queued_seconds = 0.15
    daggy_emulator.config.task_seconds = 0.25  # wide enough to see each task RUNNING on a busy machine
    tasks = {
        "extract": task("extract.sh", children=["transform"]),
        "transform": task("transform.sh"),
        "load": task("load.sh", parents=["transform"]),
    }
    run_id = submit(base, tasks)
    queued = get_run(base, run_id)
    assert run_state(base, run_id) == "QUEUED"
    assert set(queued["taskStates"].values()) == {"QUEUED"}
    assert queued["taskAttempts"] == {"extract": [], "transform": [], "load": []}
    wait_task(base, run_id, "extract", "RUNNING")
    running = get_run(base, run_id)
    assert running["taskStates"] == {"extract": "RUNNING", "transform": "QUEUED", "load": "QUEUED"}
    assert [change["state"] for change in running["dagStateChanges"]] == ["QUEUED", "RUNNING"]
    wait_task(base, run_id, "transform", "RUNNING")
    assert requests.get(f"{base}/v1/dagrun/{run_id}/task/load/state", timeout=5).json() == {"state": "QUEUED"}
    done = wait_run(base, run_id, "COMPLETED")
    assert done["tasks"]["transform"]["parents"] == ["extract"]
    assert done["tasks"]["transform"]["children"] == ["load"]
    starts = {name: int(tries[0]["startTime"]) for name, tries in done["taskAttempts"].items()}
    stops = {name: int(tries[0]["stopTime"]) for name, tries in done["taskAttempts"].items()}
    assert starts["transform"] >= stops["extract"] and starts["load"] >= stops["transform"]
    assert stops["extract"] - starts["extract"] == 250_000_000
    changes = done["dagStateChanges"]
    assert [change["state"] for change in changes] == ["QUEUED", "RUNNING", "COMPLETED"]
    times = [int(change["time"]) for change in changes]
    assert times == sorted(times) and times[1] - times[0] == 150_000_000
    assert times[1] == starts["extract"] and times[2] == stops["load"]
    assert all(NS_TIME.match(moment) for moment in all_times(done))


def test_failing_task_errors_after_retries(daggy_emulator: DaggyEmulatorHandle) -> None:
    base = daggy_emulator.url
    tasks = {
        "flaky": task("python", "job.py", "--fail", maxRetries=2, retryIntervalSeconds=0.05),
        "downstream": task("report.sh", parents=["flaky"]),
        "independent": task("other.sh"),
    }
    run_id = submit(base, tasks)
    document = wait_run(base, run_id, "ERRORED")
    assert document["taskStates"] == {"flaky": "ERRORED", "downstream": "QUEUED", "independent": "COMPLETED"}
    attempts = document["taskAttempts"]["flaky"]
    assert len(attempts) == 3 and {attempt["rc"] for attempt in attempts} == {1}
    assert attempts[0]["errorLog"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: simulated failure in flaky" in attempts[0]["errorLog"]
    assert attempts[0]["outputLog"]
    for earlier, later in itertools.pairwise(attempts):
        assert int(later["startTime"]) - int(earlier["stopTime"]) == 50_000_000
    assert document["taskAttempts"]["downstream"] == []
    [summary] = requests.get(f"{base}/v1/dagruns", timeout=5).json()
    assert summary["taskCounts"] == {"ERRORED": 1, "QUEUED": 1, "COMPLETED": 1}


def test_kill_run(daggy_emulator: DaggyEmulatorHandle) -> None:
    base = daggy_emulator.url
    run_id = submit(base, {"slow": task("sleep", "60", children=["next"]), "next": task("echo")})
    wait_task(base, run_id, "slow", "RUNNING")
    reply = requests.delete(f"{base}/v1/dagrun/{run_id}", timeout=5)
    assert (reply.status_code, reply.json()) == (200, {})
    document = get_run(base, run_id)
    assert run_state(base, run_id) == "KILLED"
    assert document["taskStates"] == {"slow": "KILLED", "next": "KILLED"}
    [attempt] = document["taskAttempts"]["slow"]
    assert attempt["rc"] == -1 and attempt["executorLog"]
    assert document["dagStateChanges"][-1]["state"] == "KILLED"
    again = requests.delete(f"{base}/v1/dagrun/{run_id}", timeout=5)  # already ended: no change
    assert again.status_code == 200 and get_run(base, run_id) == document
    assert daggy_emulator.stats()["run_kills"] == 2


def test_kill_task_ends_run_killed_once_nothing_else_runs(daggy_emulator: DaggyEmulatorHandle) -> None:
    base = daggy_emulator.url
    tasks = {"long_job": task("long_job.sh", children=["after"]), "after": task("x"), "quick": task("q")}
    run_id = submit(base, tasks)
    wait_task(base, run_id, "long_job", "RUNNING")
    reply = requests.delete(f"{base}/v1/dagrun/{run_id}/task/long_job", timeout=5)
    assert (reply.status_code, reply.json()) == (200, {})
    document = wait_run(base, run_id, "KILLED")
    assert document["taskStates"] == {"long_job": "KILLED", "after": "QUEUED", "quick": "COMPLETED"}
    assert daggy_emulator.stats()["task_kills"] == 1
    # Re-queue only the killed task, once it no longer takes 100 times task_seconds: the run resumes.
    daggy_emulator.config.long_factor = 1.0
    url = f"{base}/v1/dagrun/{run_id}/task/long_job/state"
    assert requests.get(url, timeout=5).json() == {"state": "KILLED"}
    reply = requests.patch(url + "/QUEUED", timeout=5)
    assert (reply.status_code, reply.json()) == (200, {"runID": run_id})
    done = wait_run(base, run_id, "COMPLETED")
    assert [attempt["rc"] for attempt in done["taskAttempts"]["long_job"]] == [-1, 0]
    assert [change["state"] for change in done["dagStateChanges"]] == [
        "QUEUED",
        "RUNNING",
        "KILLED",
        "QUEUED",
        "RUNNING",
        "COMPLETED",
    ]
    completed = requests.patch(f"{base}/v1/dagrun/{run_id}/task/quick/state/QUEUED", timeout=5)
    assert completed.status_code == 400 and "COMPLETED" in completed.json()["error"]
    assert daggy_emulator.stats()["requeues"] == 1


def test_requeue_killed_run_completes(daggy_emulator: DaggyEmulatorHandle) -> None:
    base = daggy_emulator.url
    daggy_emulator.config.task_seconds = 0.3
    run_id = submit(base, {"a": task("a.sh", children=["b"]), "b": task("b.sh")})
    wait_task(base, run_id, "a", "RUNNING")
    running = requests.patch(f"{base}/v1/dagrun/{run_id}/state/QUEUED", timeout=5)
    assert running.status_code == 400 and "RUNNING" in running.json()["error"]
    requests.delete(f"{base}/v1/dagrun/{run_id}", timeout=5)
    for bad in ("COMPLETED", "BOGUS"):
        reply = requests.patch(f"{base}/v1/dagrun/{run_id}/state/{bad}", timeout=5)
        assert reply.status_code == 400 and bad in reply.json()["error"]
    daggy_emulator.config.task_seconds = 0.05
    reply = requests.patch(f"{base}/v1/dagrun/{run_id}/state/QUEUED", timeout=5)
    assert (reply.status_code, reply.json()) == (200, {"runID": run_id})
    assert run_state(base, run_id) == "QUEUED"
    done = wait_run(base, run_id, "COMPLETED")
    assert done["taskStates"] == {"a": "COMPLETED", "b": "COMPLETED"}
    assert [attempt["rc"] for attempt in done["taskAttempts"]["a"]] == [-1, 0]
    assert len(done["taskAttempts"]["b"]) == 1
    assert daggy_emulator.stats()["requeues"] == 1


def test_requeued_failing_task_fails_again(daggy_emulator: DaggyEmulatorHandle) -> None:
    base = daggy_emulator.url
    run_id = submit(base, {"broken": task("fail", maxRetries=1)})
    wait_run(base, run_id, "ERRORED")
    assert requests.patch(f"{base}/v1/dagrun/{run_id}/state/queued", timeout=5).status_code == 200
    document = wait_run(base, run_id, "ERRORED")
    assert len(document["taskAttempts"]["broken"]) == 4  # a fresh budget of maxRetries + 1 attempts


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("this is not json", "Invalid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"tag": "x"}', "no tasks"),
        ('{"tasks": {}}', "no tasks"),
        ('{"tasks": {"a": {"job": {}}}}', "Task 'a' has no job.command"),
        ('{"tasks": {"a": {"job": {"command": []}}}}', "Task 'a' has no job.command"),
        ('{"tasks": {"a": {"maxRetries": 1}}}', "Task 'a' has no job.command"),
        ('{"tasks": {"a": {"job": {"command": ["x"]}, "children": ["ghost"]}}}', "unknown child 'ghost'"),
        ('{"tasks": {"a": {"job": {"command": ["x"]}, "parents": ["ghost"]}}}', "unknown parent 'ghost'"),
        (
            '{"tasks": {"a": {"job": {"command": ["x"]}, "children": ["b"]},'
            ' "b": {"job": {"command": ["x"]}, "children": ["c"]},'
            ' "c": {"job": {"command": ["x"]}, "children": ["a"]}}}',
            "cycle: a -> b -> c -> a",
        ),
        ('{"tasks": {"a": {"job": {"command": ["x"]}, "parents": ["a"]}}}', "cycle: a -> a"),
        ('{"tasks": {"a": {"job": {"command": ["x", "{{DAY}}"]}}}}', "undefined parameter 'DAY'"),
        ('{"parameters": {"P": 3}, "tasks": {"a": {"job": {"command": ["x"]}}}}', "Parameter 'P'"),
    ],
)
def test_invalid_dags_answer_400_with_reason(
    daggy_emulator: DaggyEmulatorHandle, body: str, reason: str
) -> None:
    base = daggy_emulator.url
    for path in ("/v1/dagrun/validate", "/v1/dagrun"):
        reply = requests.post(base + path, data=body, timeout=5)
        assert reply.status_code == 400
        assert reason in reply.json()["error"]
    assert daggy_emulator.runs() == []
    stats = daggy_emulator.stats()
    assert (stats["validations"], stats["invalid_dags"], stats["submits"]) == (1, 2, 0)


def test_list_runs_with_and_without_all(daggy_emulator: DaggyEmulatorHandle) -> None:
    base = daggy_emulator.url
    done = submit(base, {"t": task("echo")}, tag="quick")
    wait_run(base, done, "COMPLETED")
    busy = submit(base, {"t": task("sleep", "10"), "u": task("echo")}, tag="slow")
    wait_task(base, busy, "u", "COMPLETED")
    everything = requests.get(f"{base}/v1/dagruns", params={"all": "1"}, timeout=5).json()
    assert [(run["runID"], run["tag"], run["state"]) for run in everything] == [
        (done, "quick", "COMPLETED"),
        (busy, "slow", "RUNNING"),
    ]
    assert list(everything[0]) == ["runID", "tag", "state", "startTime", "lastUpdate", "taskCounts"]
    assert everything[0]["taskCounts"] == {"COMPLETED": 1}
    assert everything[1]["taskCounts"] == {"RUNNING": 1, "COMPLETED": 1}
    assert all(NS_TIME.match(run[key]) for run in everything for key in ("startTime", "lastUpdate"))
    assert int(everything[0]["lastUpdate"]) > int(everything[0]["startTime"])
    unfinished = requests.get(f"{base}/v1/dagruns", timeout=5).json()
    assert [run["runID"] for run in unfinished] == [busy]
    assert [run["runID"] for run in daggy_emulator.runs()] == [done, busy]
    assert daggy_emulator.run(busy)["state"] == "RUNNING"


def test_unknown_and_malformed_ids(daggy_emulator: DaggyEmulatorHandle) -> None:
    base = daggy_emulator.url
    for method in ("GET", "DELETE"):
        missing = requests.request(method, f"{base}/v1/dagrun/7", timeout=5)
        assert (missing.status_code, missing.json()) == (404, {"error": "No such run: 7"})
    assert requests.get(f"{base}/v1/dagrun/7/state", timeout=5).status_code == 404
    assert requests.patch(f"{base}/v1/dagrun/7/state/QUEUED", timeout=5).status_code == 404
    bad = requests.get(f"{base}/v1/dagrun/abc", timeout=5)
    assert bad.status_code == 400 and "abc" in bad.json()["error"]
    for odd in ("1.5", "1_0", "0x1"):
        assert requests.get(f"{base}/v1/dagrun/{odd}/state", timeout=5).status_code == 400
    run_id = submit(base, {"t": task("echo")})
    for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/state"), ("PATCH", "/state/QUEUED")):
        reply = requests.request(method, f"{base}/v1/dagrun/{run_id}/task/nope{suffix}", timeout=5)
        assert reply.status_code == 404 and "nope" in reply.json()["error"]
    assert requests.get(f"{base}/v1/dagrun/{run_id}/task/t", timeout=5).status_code == 200


def test_required_headers(daggy_emulator_factory: Callable[..., DaggyEmulatorHandle]) -> None:
    base = daggy_emulator_factory(required_headers={"X-Api-Key": "k3y"}).url
    denied = requests.get(f"{base}/ready", timeout=5)
    assert (denied.status_code, denied.json()) == (401, {"error": "unauthorized"})
    assert requests.get(f"{base}/v1/dagruns", headers={"X-Api-Key": "nope"}, timeout=5).status_code == 401
    assert requests.get(f"{base}/v1/dagruns", headers={"x-api-key": "k3y"}, timeout=5).status_code == 200
    assert requests.get(f"{base}/ready", headers={"X-Api-Key": "k3y"}, timeout=5).status_code == 200
    assert requests.get(f"{base}/_emulator/stats", timeout=5).status_code == 200


def test_faults(daggy_emulator: DaggyEmulatorHandle) -> None:
    base = daggy_emulator.url
    daggy_emulator.add_fault("POST", r"^/v1/dagrun$", 503)
    dag = {"tasks": {"t": task("echo")}}
    assert requests.post(f"{base}/v1/dagrun", json=dag, timeout=5).status_code == 503
    assert daggy_emulator.stats()["submits"] == 0
    daggy_emulator.add_fault("POST", r"^/v1/dagrun$", "slow", seconds=0.2)
    began = time.monotonic()
    assert requests.post(f"{base}/v1/dagrun", json=dag, timeout=5).json() == {"runID": 0}
    assert time.monotonic() - began >= 0.2
    daggy_emulator.add_fault("GET", r"/state$", "drop")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/v1/dagrun/0/state", timeout=5)
    daggy_emulator.add_fault("GET", r"/v1/dagrun/\d+$", 429, retry_after=0.05)
    throttled = requests.get(f"{base}/v1/dagrun/0", timeout=5)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "0.05")
    daggy_emulator.set_random_faults(1.0, ["malformed"], seed=3)
    with pytest.raises(ValueError):
        requests.get(f"{base}/ready", timeout=5).json()
    daggy_emulator.clear_faults()
    assert requests.get(f"{base}/ready", timeout=5).status_code == 200
    stats = daggy_emulator.stats()
    assert stats["faults_injected"] == {"503": 1, "slow": 1, "drop": 1, "429": 1, "malformed": 1}
    assert stats["submits"] == 1 and stats["requests"]["POST submit"] == 2


def test_reset_and_control_routes(daggy_emulator: DaggyEmulatorHandle) -> None:
    base = daggy_emulator.url
    daggy_emulator.config.task_seconds = 9
    submit(base, {"t": task("echo")})
    [document] = requests.get(f"{base}/_emulator/daggy/runs", timeout=5).json()
    assert document["runID"] == 0 and document["state"] in ("QUEUED", "RUNNING")
    assert requests.post(f"{base}/_emulator/reset", timeout=5).status_code == 200
    assert daggy_emulator.runs() == [] and daggy_emulator.config.task_seconds == 0.1
    assert submit(base, {"t": task("echo")}) == 0
    assert daggy_emulator.stats()["requests"] == {"POST submit": 1}


def test_cli_serves_with_required_header_and_stops_on_sigterm() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "airflow_provider_pipelines.emulators", "daggy", "--port", "0"]
    command += ["--header", "X-Proxy=ok", "--task-seconds", "0.05"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("daggy emulator listening on http://127.0.0.1:")
            base = line.rsplit(" ", 1)[1]
            assert requests.get(f"{base}/ready", timeout=5).status_code == 401
            ready = requests.get(f"{base}/ready", headers={"X-Proxy": "ok"}, timeout=5)
            assert ready.json() == {"msg": "Ya like DAGs?"}
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
