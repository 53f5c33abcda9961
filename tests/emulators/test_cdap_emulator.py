"""The CDAP emulator over real HTTP: what the provider's hooks and triggers will be tested against."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from airflow_provider_pipelines.emulators import pytest_plugin
from airflow_provider_pipelines.emulators.base import Timeline
from airflow_provider_pipelines.emulators.cdap import CdapEmulatorHandle

# The plugin's fixtures, also when the package's pytest11 entry point is not installed.
_cdap_emulator_session = pytest_plugin._cdap_emulator_session
cdap_emulator = pytest_plugin.cdap_emulator
cdap_emulator_factory = pytest_plugin.cdap_emulator_factory

BATCH = "workflows/DataPipelineWorkflow"
STREAMING = "spark/DataStreamsSparkStreaming"


def batch_item(app: str, **args: str) -> dict[str, Any]:
    return {"appId": app, "programType": "workflow", "programId": "DataPipelineWorkflow", "runtimeargs": args}


def streaming_item(app: str) -> dict[str, Any]:
    return {"appId": app, "programType": "spark", "programId": "DataStreamsSparkStreaming", "runtimeargs": {}}


def start(base: str, *items: dict[str, Any], ns: str = "default") -> list[dict[str, Any]]:
    reply = requests.post(f"{base}/v3/namespaces/{ns}/start", json=list(items), timeout=5)
    assert reply.status_code == 200, reply.text
    results: list[dict[str, Any]] = reply.json()
    return results


def run_url(base: str, app: str, run_id: str, program: str = BATCH, ns: str = "default") -> str:
    return f"{base}/v3/namespaces/{ns}/apps/{quote(app, safe='')}/{program}/runs/{run_id}"


def wait_status(url: str, wanted: str, timeout: float = 3.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        reply = requests.get(url, timeout=5)
        if reply.status_code == 200 and reply.json()["status"] == wanted:
            record: dict[str, Any] = reply.json()
            return record
        assert time.monotonic() < deadline, f"never reached {wanted}: {reply.status_code} {reply.text}"
        time.sleep(0.02)


def test_timeline_by_wall_clock() -> None:
    timeline = Timeline(100.0, (("PENDING", 1.0), ("RUNNING", 2.0)), "COMPLETED")
    assert [timeline.state_at(t) for t in (100.0, 100.99, 101.0, 102.9, 103.0, 1e9)] == [
        "PENDING",
        "PENDING",
        "RUNNING",
        "RUNNING",
        "COMPLETED",
        "COMPLETED",
    ]
    assert timeline.entered_at("RUNNING") == 101.0
    assert timeline.entered_at("COMPLETED") == 103.0
    assert timeline.entered_at("FAILED") is None
    assert Timeline(0.0, (("RUNNING", float("inf")),)).state_at(1e12) == "RUNNING"


def test_ping_and_namespaces(cdap_emulator: CdapEmulatorHandle) -> None:
    base = cdap_emulator.url
    assert requests.get(f"{base}/ping", timeout=5).text == "OK."
    assert requests.get(f"{base}/v3/namespaces/default", timeout=5).json()["name"] == "default"
    unknown = requests.get(f"{base}/v3/namespaces/team", timeout=5)
    assert (unknown.status_code, unknown.text) == (404, "Namespace 'team' was not found.")
    start(base, batch_item("p"), ns="team")
    assert requests.get(f"{base}/v3/namespaces/team", timeout=5).json()["name"] == "team"


def test_batch_run_progresses_and_record_has_cdap_shape(cdap_emulator: CdapEmulatorHandle) -> None:
    base = cdap_emulator.url
    [item] = start(base, batch_item("sales", day="2024-01-01"))
    assert set(item) == {"statusCode", "runId", "appId", "programType", "programId"}
    assert (item["statusCode"], item["appId"], item["programType"], item["programId"]) == (
        200,
        "sales",
        "Workflow",
        "DataPipelineWorkflow",
    )
    url = run_url(base, "sales", item["runId"])
    pending = requests.get(url, timeout=5).json()
    assert pending["status"] == "PENDING"
    assert "start" not in pending and "end" not in pending
    assert pending["cluster"] == {"status": "PROVISIONING", "numNodes": 0}
    running = wait_status(url, "RUNNING")
    assert running["start"] >= running["starting"] and "end" not in running
    assert running["cluster"]["status"] == "PROVISIONED"
    done = wait_status(url, "COMPLETED")
    assert list(done) == ["runid", "starting", "start", "end", "status", "properties", "cluster", "profile"]
    assert done["runid"] == item["runId"]
    assert all(isinstance(done[key], int) for key in ("starting", "start", "end"))
    assert json.loads(done["properties"]["runtimeArgs"])["day"] == "2024-01-01"
    assert "phase-1" in done["properties"]
    assert done["cluster"]["status"] == "DEPROVISIONED" and "end" in done["cluster"]
    assert done["profile"] == {"profileName": "native", "namespace": "system", "entity": "PROFILE"}
    assert cdap_emulator.stats()["starts_by_pipeline"] == {"default/sales": 1}
    assert [run["runid"] for run in cdap_emulator.runs("default", "sales")] == [item["runId"]]


def test_start_answers_200_with_per_item_errors(cdap_emulator: CdapEmulatorHandle) -> None:
    base = cdap_emulator.url
    cdap_emulator.configure_pipeline("busy", start_error={"statusCode": 409, "error": "Conflict: busy"})
    wrong_program = dict(batch_item("ok"), programId="SomethingElse")
    wrong_type = dict(batch_item("ok"), programType="mapreduce")
    results = start(base, batch_item("missing_pipe"), wrong_program, wrong_type, batch_item("busy"))
    assert [r["statusCode"] for r in results] == [404, 400, 400, 409]
    assert results[0] == {
        "statusCode": 404,
        "error": "App: missing_pipe not found",
        "appId": "missing_pipe",
        "programType": "workflow",
        "programId": "DataPipelineWorkflow",
    }
    assert results[3]["error"] == "Conflict: busy"
    assert all("runId" not in r for r in results)
    assert cdap_emulator.stats()["starts"] == 0
    start(base, batch_item("ok"))
    assert start(base, streaming_item("ok"))[0]["statusCode"] == 400
    for body in ("{}", "not json", json.dumps([{"appId": "x"}])):
        reply = requests.post(f"{base}/v3/namespaces/default/start", data=body, timeout=5)
        assert reply.status_code == 400, body


def test_unknown_apps_without_auto_create(cdap_emulator_factory: Callable[..., CdapEmulatorHandle]) -> None:
    emulator = cdap_emulator_factory(auto_create=False)
    assert start(emulator.url, batch_item("new"))[0]["error"] == "App: new not found"
    emulator.configure_pipeline("new")
    assert start(emulator.url, batch_item("new"))[0]["statusCode"] == 200
    reply = requests.post(f"{emulator.url}/v3/namespaces/other/start", json=[batch_item("new")], timeout=5)
    assert reply.status_code == 404


def test_fresh_run_is_404_during_not_found_window(cdap_emulator: CdapEmulatorHandle) -> None:
    cdap_emulator.config.not_found_seconds = 0.3
    [item] = start(cdap_emulator.url, batch_item("slowrecord"))
    url = run_url(cdap_emulator.url, "slowrecord", item["runId"])
    early = requests.get(url, timeout=5)
    assert (early.status_code, early.text) == (404, f"'runid' '{item['runId']}' not found.")
    listed = requests.get(url.rsplit("/", 1)[0], timeout=5).json()
    assert listed == []
    wait_status(url, "RUNNING")
    assert requests.get(run_url(cdap_emulator.url, "slowrecord", "nope"), timeout=5).status_code == 404


def test_run_stop_goes_stopping_then_killed(cdap_emulator: CdapEmulatorHandle) -> None:
    base = cdap_emulator.url
    [item] = start(base, batch_item("long_job"))
    url = run_url(base, "long_job", item["runId"])
    wait_status(url, "RUNNING")
    assert requests.post(url + "/stop", timeout=5).status_code == 200
    assert requests.get(url, timeout=5).json()["status"] == "STOPPING"
    killed = wait_status(url, "KILLED")
    assert "end" in killed and killed["cluster"]["status"] == "DEPROVISIONED"
    again = requests.post(url + "/stop", timeout=5)
    assert again.status_code == 400 and "is not running" in again.text
    assert requests.post(run_url(base, "long_job", "unknown") + "/stop", timeout=5).status_code == 404
    stats = cdap_emulator.stats()
    assert stats["run_stops"][f"default/long_job/{item['runId']}"] == 2
    assert stats["program_level_stops"] == 0
    assert stats["requests"]["POST stop_run"] == 3


def test_program_level_stop_is_counted_and_stops_some_run(cdap_emulator: CdapEmulatorHandle) -> None:
    base = cdap_emulator.url
    first, second = start(base, batch_item("long_a"), batch_item("long_a"))
    program_url = f"{base}/v3/namespaces/default/apps/long_a/{BATCH}"
    assert requests.post(program_url + "/stop", timeout=5).status_code == 200
    assert cdap_emulator.stats()["program_level_stops"] == 1
    statuses = {r["runid"]: r["status"] for r in cdap_emulator.runs("default", "long_a")}
    assert statuses[first["runId"]] == "STOPPING" and statuses[second["runId"]] != "STOPPING"
    assert requests.post(f"{base}/v3/namespaces/default/apps/idle/{BATCH}/stop", timeout=5).status_code == 400
    assert cdap_emulator.stats()["program_level_stops"] == 2


def test_single_program_start_gives_no_run_id(cdap_emulator: CdapEmulatorHandle) -> None:
    url = f"{cdap_emulator.url}/v3/namespaces/default/apps/solo/{BATCH}/start"
    reply = requests.post(url, json={"k": "v"}, timeout=5)
    assert (reply.status_code, reply.text) == (200, "")
    assert cdap_emulator.stats()["program_level_starts"] == 1
    assert len(cdap_emulator.runs("default", "solo")) == 1


def test_streaming_run_stays_running_until_stopped(cdap_emulator: CdapEmulatorHandle) -> None:
    base = cdap_emulator.url
    [item] = start(base, streaming_item("events"))
    assert (item["programType"], item["programId"]) == ("Spark", "DataStreamsSparkStreaming")
    url = run_url(base, "events", item["runId"], STREAMING)
    running = wait_status(url, "RUNNING")
    assert "phase-1" not in running["properties"]
    time.sleep(0.4)  # past the batch running time (0.3 s)
    assert requests.get(url, timeout=5).json()["status"] == "RUNNING"
    assert requests.get(run_url(base, "events", item["runId"], BATCH), timeout=5).status_code == 404
    assert start(base, streaming_item("events"))[0]["statusCode"] == 409
    assert requests.post(url + "/stop", timeout=5).status_code == 200
    wait_status(url, "KILLED")


def test_outcomes_by_name_and_logs(cdap_emulator: CdapEmulatorHandle) -> None:
    base = cdap_emulator.url
    failed, killed = start(base, batch_item("nightly_fail"), batch_item("was_killed"))
    failed_url = run_url(base, "nightly_fail", failed["runId"])
    record = wait_status(failed_url, "FAILED")
    wait_status(run_url(base, "was_killed", killed["runId"]), "KILLED")
    logs = requests.get(failed_url + "/logs", params={"format": "text"}, timeout=5)
    assert logs.status_code == 200
    assert "Pipeline 'nightly_fail' failed" in logs.text
    assert " - ERROR " in logs.text and " - INFO " in logs.text
    before = requests.get(failed_url + "/logs", params={"start": 0, "stop": record["starting"]}, timeout=5)
    assert before.text == ""
    assert requests.get(run_url(base, "nightly_fail", "nope") + "/logs", timeout=5).status_code == 404


def test_list_runs_filters(cdap_emulator: CdapEmulatorHandle) -> None:
    base = cdap_emulator.url
    cdap_emulator.configure_pipeline("lister", running_seconds=0.0)
    [done] = start(base, batch_item("lister"))
    wait_status(run_url(base, "lister", done["runId"]), "COMPLETED")
    cdap_emulator.configure_pipeline("lister", running_seconds=60)
    [newer] = start(base, batch_item("lister"))
    runs_url = f"{base}/v3/namespaces/default/apps/lister/{BATCH}/runs"
    assert [r["runid"] for r in requests.get(runs_url, timeout=5).json()] == [newer["runId"], done["runId"]]
    assert [r["runid"] for r in requests.get(runs_url, params={"limit": 1}, timeout=5).json()] == [
        newer["runId"]
    ]
    completed = requests.get(runs_url, params={"status": "completed"}, timeout=5).json()
    assert [r["runid"] for r in completed] == [done["runId"]]
    assert requests.get(runs_url, params={"end": 1}, timeout=5).json() == []
    assert requests.get(runs_url, params={"limit": "x"}, timeout=5).status_code == 400


def test_api_prefix_and_odd_names(cdap_emulator: CdapEmulatorHandle) -> None:
    api = cdap_emulator.url + "/api"
    app = "Sales Q1+ü"
    [item] = start(api, batch_item(app))
    assert item["appId"] == app
    url = run_url(api, app, item["runId"])
    assert requests.get(url, timeout=5).json()["runid"] == item["runId"]
    assert requests.get(f"{api}/ping", timeout=5).text == "OK."
    stats = cdap_emulator.stats()
    assert stats["requests"]["POST start"] == 1 and stats["requests"]["GET get_run"] == 1
    assert stats["last_paths"][-2] == url.removeprefix(cdap_emulator.url)
    assert stats["starts_by_pipeline"] == {f"default/{app}": 1}


def test_bearer_token(cdap_emulator_factory: Callable[..., CdapEmulatorHandle]) -> None:
    base = cdap_emulator_factory(token="s3cret").url
    assert requests.get(f"{base}/ping", timeout=5).status_code == 200
    assert requests.get(f"{base}/v3/namespaces/default", timeout=5).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert requests.get(f"{base}/api/v3/namespaces/default", headers=wrong, timeout=5).status_code == 401
    right = {"Authorization": "Bearer s3cret"}
    assert requests.get(f"{base}/api/v3/namespaces/default", headers=right, timeout=5).status_code == 200
    assert requests.get(f"{base}/_emulator/stats", timeout=5).status_code == 200


def test_scripted_faults_of_each_kind(cdap_emulator: CdapEmulatorHandle) -> None:
    base = cdap_emulator.url
    ping = f"{base}/ping"
    cdap_emulator.add_fault("GET", "/ping$", 503, times=2)
    assert [requests.get(ping, timeout=5).status_code for _ in range(3)] == [503, 503, 200]
    cdap_emulator.add_fault(None, "ping", "429", retry_after=0.05)
    throttled = requests.get(ping, timeout=5)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "0.05")
    cdap_emulator.add_fault("GET", "ping", "drop")
    with pytest.raises(requests.ConnectionError):
        requests.get(ping, timeout=5)
    cdap_emulator.add_fault("GET", "ping", "malformed")
    malformed = requests.get(ping, timeout=5)
    assert malformed.status_code == 200
    with pytest.raises(ValueError):
        malformed.json()
    cdap_emulator.add_fault("GET", "ping", "slow", seconds=0.2)
    began = time.monotonic()
    assert requests.get(ping, timeout=5).text == "OK."
    assert time.monotonic() - began >= 0.2
    cdap_emulator.add_fault("POST", "ping", 500)
    assert requests.get(ping, timeout=5).status_code == 200
    cdap_emulator.clear_faults()
    rule: dict[str, Any] = {"method": "POST", "path": "/start$", "status": 502, "body": "upstream down"}
    assert requests.post(f"{base}/_emulator/faults", json=rule, timeout=5).status_code == 200
    failed = requests.post(f"{base}/v3/namespaces/default/start", json=[batch_item("x")], timeout=5)
    assert (failed.status_code, failed.text) == (502, "upstream down")
    assert cdap_emulator.stats()["starts"] == 0
    assert requests.post(f"{base}/_emulator/faults", json={"kind": "nope"}, timeout=5).status_code == 400
    cdap_emulator.add_fault(None, None, 500, times=5)
    assert requests.get(f"{base}/_emulator/stats", timeout=5).status_code == 200
    assert requests.delete(f"{base}/_emulator/faults", timeout=5).status_code == 200
    assert requests.get(ping, timeout=5).status_code == 200
    assert cdap_emulator.stats()["faults_injected"] == {
        "503": 2,
        "429": 1,
        "drop": 1,
        "malformed": 1,
        "slow": 1,
        "502": 1,
    }


def test_random_faults_are_reproducible_with_a_seed(cdap_emulator: CdapEmulatorHandle) -> None:
    ping = f"{cdap_emulator.url}/ping"

    def statuses() -> list[int]:
        cdap_emulator.set_random_faults(0.5, ["503", "500"], seed=42)
        return [requests.get(ping, timeout=5).status_code for _ in range(20)]

    first = statuses()
    assert first == statuses()
    assert {200, 500, 503} <= set(first)
    body: dict[str, Any] = {"fault_rate": 0.0, "fault_kinds": ["503"]}
    assert requests.post(f"{cdap_emulator.url}/_emulator/faults", json=body, timeout=5).status_code == 200
    assert {requests.get(ping, timeout=5).status_code for _ in range(5)} == {200}


def test_random_faults_from_config(cdap_emulator_factory: Callable[..., CdapEmulatorHandle]) -> None:
    emulator = cdap_emulator_factory(fault_rate=1.0, fault_kinds=("429",), retry_after=0.05, seed=1)
    reply = requests.get(f"{emulator.url}/ping", timeout=5)
    assert (reply.status_code, reply.headers["Retry-After"]) == (429, "0.05")


def test_max_concurrent_runs_rejects_whole_request(
    cdap_emulator_factory: Callable[..., CdapEmulatorHandle],
) -> None:
    emulator = cdap_emulator_factory(max_concurrent_runs=1, running_seconds=60)
    start(emulator.url, batch_item("a"))
    reply = requests.post(f"{emulator.url}/v3/namespaces/default/start", json=[batch_item("b")], timeout=5)
    assert reply.status_code == 429
    assert emulator.stats()["starts"] == 1


def test_configure_pipeline_over_http(cdap_emulator: CdapEmulatorHandle) -> None:
    base = cdap_emulator.url
    control = f"{base}/_emulator/cdap/pipelines/default/quick"
    assert requests.put(control, json={"outcome": "failed", "running_seconds": 0}, timeout=5).ok
    [item] = start(base, batch_item("quick"))
    wait_status(run_url(base, "quick", item["runId"]), "FAILED")
    assert requests.put(control, json={"outcome": "MAYBE"}, timeout=5).status_code == 400
    assert requests.put(control, json={"colour": "red"}, timeout=5).status_code == 400
    assert requests.put(control, json={"exists": False}, timeout=5).ok
    assert start(base, batch_item("quick"))[0]["statusCode"] == 404


def test_reset_clears_everything(cdap_emulator: CdapEmulatorHandle) -> None:
    base = cdap_emulator.url
    cdap_emulator.config.running_seconds = 99
    cdap_emulator.configure_pipeline("r", exists=False)
    cdap_emulator.add_fault("GET", "ping", 500, times=3)
    start(base, batch_item("other"))
    assert requests.post(f"{base}/_emulator/reset", timeout=5).status_code == 200
    assert cdap_emulator.runs() == []
    assert cdap_emulator.config.running_seconds == 0.3
    assert requests.get(f"{base}/ping", timeout=5).status_code == 200
    assert start(base, batch_item("r"))[0]["statusCode"] == 200
    stats = cdap_emulator.stats()
    assert stats["starts"] == 1 and stats["requests"] == {"GET ping": 1, "POST start": 1}


def test_cli_serves_and_stops_on_sigterm() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "airflow_provider_pipelines.emulators", "cdap", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("cdap emulator listening on http://127.0.0.1:")
            assert requests.get(line.rsplit(" ", 1)[1] + "/ping", timeout=5).text == "OK."
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
