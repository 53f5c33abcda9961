"""Lost replies, on every emulator: the platform carries the request out, then the client sees a 502, a
504 or a dropped connection instead of the reply (the commonest cause of duplicate runs)."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from airflow_provider_pipelines.emulators import pytest_plugin
from airflow_provider_pipelines.emulators.base import (
    FaultInjector,
    FaultRule,
    add_common_arguments,
    common_config_options,
)
from airflow_provider_pipelines.emulators.cdap import CdapEmulatorConfig, CdapEmulatorHandle
from airflow_provider_pipelines.emulators.daggy import DaggyEmulatorHandle
from airflow_provider_pipelines.emulators.enos import EnosEmulatorHandle
from airflow_provider_pipelines.emulators.flowengine import FlowEngineEmulatorHandle
from airflow_provider_pipelines.emulators.tailer import TailerEmulatorHandle

# The plugin's fixtures, also when the package's pytest11 entry point is not installed.
_cdap_emulator_session = pytest_plugin._cdap_emulator_session
cdap_emulator = pytest_plugin.cdap_emulator
cdap_emulator_factory = pytest_plugin.cdap_emulator_factory
_daggy_emulator_session = pytest_plugin._daggy_emulator_session
daggy_emulator = pytest_plugin.daggy_emulator
_tailer_emulator_session = pytest_plugin._tailer_emulator_session
tailer_emulator = pytest_plugin.tailer_emulator
_flowengine_emulator_session = pytest_plugin._flowengine_emulator_session
flowengine_emulator = pytest_plugin.flowengine_emulator
_enos_emulator_session = pytest_plugin._enos_emulator_session
enos_emulator = pytest_plugin.enos_emulator

DROPPED = "dropped"
CDAP_BATCH = "workflows/DataPipelineWorkflow"
TAILER_SALES = {
    "account": "000099",
    "environment": "DEV",
    "configuration_type": "table-to-table",
    "configuration_id": "000099_sales_DEV",
}
TAILER_JOB_ID = "gbq-to-gbq|000099_sales_DEV"
ENOS_ORG, ENOS_USER = "o15589", "u-airflow"
ENOS_PIPELINE = "/streaming/v2.0/streaming/pipeline/"
ENOS_FLOWS = "/batch-processing-service/v2.1/flows"
ENOS_INSTANCES = "/batch-processing-service/v2.1/flowInstances"


def send(method: str, url: str, **kwargs: Any) -> requests.Response | str:
    """The reply, or ``DROPPED`` when the connection ended without one."""
    try:
        return requests.request(method, url, timeout=5, **kwargs)
    except requests.ConnectionError:
        return DROPPED


def outcome(reply: requests.Response | str) -> int | str:
    return reply if isinstance(reply, str) else reply.status_code


def wait_for(check: Callable[[], bool], what: str, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


# ----- CDAP -----


def cdap_start(emulator: CdapEmulatorHandle, app: str) -> requests.Response | str:
    item = {"appId": app, "programType": "workflow", "programId": "DataPipelineWorkflow", "runtimeargs": {}}
    return send("POST", f"{emulator.url}/v3/namespaces/default/start", json=[item])


def cdap_run_url(emulator: CdapEmulatorHandle, app: str, run_id: str) -> str:
    return f"{emulator.url}/v3/namespaces/default/apps/{app}/{CDAP_BATCH}/runs/{run_id}"


def test_cdap_lost_start_and_stop(cdap_emulator: CdapEmulatorHandle) -> None:
    cdap_emulator.add_fault("POST", r"/start$", "lost-502")
    lost = cdap_start(cdap_emulator, "long_sales")
    assert outcome(lost) == 502
    (run,) = cdap_emulator.runs("default", "long_sales")  # exactly one run, although the client saw 502
    record = requests.get(cdap_run_url(cdap_emulator, "long_sales", run["runid"]), timeout=5)
    assert record.status_code == 200 and record.json()["runid"] == run["runid"]

    cdap_emulator.add_fault("POST", r"/runs/[^/]+/stop$", "lost-drop")
    stop = send("POST", cdap_run_url(cdap_emulator, "long_sales", run["runid"]) + "/stop")
    assert stop == DROPPED
    status = requests.get(cdap_run_url(cdap_emulator, "long_sales", run["runid"]), timeout=5).json()["status"]
    assert status in ("STOPPING", "KILLED")  # the stop took effect

    stats = cdap_emulator.stats()
    assert stats["starts"] == 1 and stats["starts_by_pipeline"] == {"default/long_sales": 1}
    assert stats["lost_replies"] == {"start": 1, "stop_run": 1}
    assert stats["faults_injected"] == {"lost-502": 1, "lost-drop": 1}


# ----- Daggy -----


def test_daggy_lost_submit_and_kill(daggy_emulator: DaggyEmulatorHandle) -> None:
    daggy_emulator.add_fault("POST", r"^/v1/dagrun$", "lost-504")
    dag = {"tag": "lost", "tasks": {"nap": {"job": {"command": ["/bin/sleep", "60"]}}}}
    assert outcome(send("POST", f"{daggy_emulator.url}/v1/dagrun", json=dag)) == 504
    (run,) = daggy_emulator.runs()
    assert requests.get(f"{daggy_emulator.url}/v1/dagrun/{run['runID']}", timeout=5).status_code == 200

    daggy_emulator.add_fault("DELETE", r"^/v1/dagrun/\d+$", "lost-502")
    assert outcome(send("DELETE", f"{daggy_emulator.url}/v1/dagrun/{run['runID']}")) == 502
    state = requests.get(f"{daggy_emulator.url}/v1/dagrun/{run['runID']}/state", timeout=5).json()
    assert state == {"state": "KILLED"}

    stats = daggy_emulator.stats()
    assert stats["submits"] == 1 and stats["run_kills"] == 1
    assert stats["lost_replies"] == {"submit": 1, "kill_run": 1}


# ----- Tailer -----


def tailer_post(emulator: TailerEmulatorHandle, path: str, body: dict[str, Any]) -> requests.Response | str:
    headers = {"Authorization": f"Bearer {emulator.mint_jwt()}"}
    return send("POST", emulator.url + path, json=body, headers=headers)


def tailer_status(emulator: TailerEmulatorHandle, run_id: str) -> list[Any]:
    body = {"action": "check_run_status", **TAILER_SALES, "job_id": TAILER_JOB_ID, "run_id": run_id}
    reply = tailer_post(emulator, "/v1/dag/status", body)
    assert isinstance(reply, requests.Response) and reply.status_code == 200
    results: list[Any] = reply.json()["results"]
    return results


def test_tailer_lost_launch_and_set_status(tailer_emulator: TailerEmulatorHandle) -> None:
    tailer_emulator.config.pending_seconds = 0.0
    tailer_emulator.config.running_seconds = 30.0
    tailer_emulator.add_fault("POST", r"^/v1/dag/launch$", "lost-drop")
    lost = tailer_post(tailer_emulator, "/v1/dag/launch", {"action": "launch_job", **TAILER_SALES})
    assert lost == DROPPED
    (run,) = tailer_emulator.runs()
    (record,) = tailer_status(tailer_emulator, run["run_id"])
    assert record["status"] == "RUNNING"

    tailer_emulator.add_fault("POST", r"^/v1/dag/status$", "lost-504")
    body = {"action": "set_run_status", **TAILER_SALES, "run_id": run["run_id"], "status": "FAILED"}
    assert outcome(tailer_post(tailer_emulator, "/v1/dag/status", body)) == 504
    assert tailer_status(tailer_emulator, run["run_id"])[0]["status"] == "FAILED"

    stats = tailer_emulator.stats()
    assert stats["launches"] == 1
    assert stats["lost_replies"] == {"dag_launch": 1, "dag_status": 1}


# ----- FlowEngine -----


def flowengine_call(
    emulator: FlowEngineEmulatorHandle, method: str, path: str, **kwargs: Any
) -> requests.Response | str:
    params = {"engineKey": emulator.config.engine_key, **kwargs.pop("params", {})}
    return send(method, emulator.engine_url + path, params=params, headers=emulator.headers, **kwargs)


def test_flowengine_lost_start_and_stop(flowengine_emulator: FlowEngineEmulatorHandle) -> None:
    flowengine_emulator.config.running_seconds = 30.0
    flowengine_emulator.add_fault("POST", r"/start$", "lost-502")
    assert (
        outcome(flowengine_call(flowengine_emulator, "POST", "/kernel/v1/pipeline/6/1/start", json={})) == 502
    )
    (run,) = flowengine_emulator.runs()
    seen = flowengine_call(flowengine_emulator, "GET", f"/kernel/v1/pipeline/{run['id']}/get")
    assert isinstance(seen, requests.Response) and seen.json()["data"]["id"] == run["id"]

    flowengine_emulator.add_fault("DELETE", r"/stopHistory$", "lost-drop")
    stop = flowengine_call(
        flowengine_emulator, "DELETE", f"/kernel/v1/pipeline/{run['id']}/stopHistory", params={"engineId": 6}
    )
    assert stop == DROPPED
    assert flowengine_emulator.run(run["id"])["status"] in ("stopping", "stopped")

    stats = flowengine_emulator.stats()
    assert stats["starts"] == 1 and stats["run_stops"] == 1
    assert stats["lost_replies"] == {"start_pipeline": 1, "stop_run": 1}


# ----- EnOS -----


def enos_call(
    emulator: EnosEmulatorHandle, method: str, path: str, params: dict[str, Any], body: Any = None
) -> requests.Response | str:
    raw = b"" if body is None else json.dumps(body).encode()
    headers = {**emulator.signed_headers(params=params, body=raw), "Content-Type": "application/json"}
    return send(method, emulator.url + path, params=params, data=raw or None, headers=headers)


def enos_operate(emulator: EnosEmulatorHandle, pipeline_id: str, action: str) -> requests.Response | str:
    body = (
        {"executionMode": 0, "kafkaRate": 1000, "resourceConfig": {"server": 1}}
        if action == "start"
        else None
    )
    return enos_call(
        emulator, "POST", ENOS_PIPELINE + pipeline_id, {"action": action, "orgId": ENOS_ORG}, body
    )


def test_enos_lost_start_stop_trigger_and_cancel(enos_emulator: EnosEmulatorHandle) -> None:
    enos_emulator.add_fault("POST", r"/pipeline/pl-demo-1$", "lost-504")
    assert outcome(enos_operate(enos_emulator, "pl-demo-1", "start")) == 504
    wait_for(lambda: enos_emulator.pipeline("pl-demo-1")["status"] == "RUNNING", "pl-demo-1 RUNNING")

    enos_emulator.add_fault("POST", r"/pipeline/pl-running-3$", "lost-drop")
    assert enos_operate(enos_emulator, "pl-running-3", "stop") == DROPPED
    wait_for(lambda: enos_emulator.pipeline("pl-running-3")["status"] == "STOPPED", "pl-running-3 STOPPED")

    flow_params = {"action": "trigger", "userId": ENOS_USER, "orgId": ENOS_ORG}
    enos_emulator.add_fault("POST", r"/flows$", "lost-502")
    trigger = enos_call(enos_emulator, "POST", ENOS_FLOWS, flow_params, {"flowId": 901})
    assert outcome(trigger) == 502
    (instance,) = enos_emulator.flow_instances()
    get = {"action": "get", "flowInstId": instance["flowInstId"], "userId": ENOS_USER, "orgId": ENOS_ORG}
    seen = enos_call(enos_emulator, "GET", ENOS_INSTANCES, get)
    assert isinstance(seen, requests.Response) and seen.json()["data"]["flowInstId"] == instance["flowInstId"]

    enos_emulator.add_fault("POST", r"/flowInstances$", "lost-drop")
    cancel = {"action": "cancel", "userId": ENOS_USER, "orgId": ENOS_ORG}
    assert (
        enos_call(enos_emulator, "POST", ENOS_INSTANCES, cancel, {"flowInstId": instance["flowInstId"]})
        == DROPPED
    )
    assert enos_emulator.flow_instance(instance["flowInstId"])["statusDesc"] == "CANCEL"

    stats = enos_emulator.stats()
    assert stats["starts"] == 1 and stats["stops"] == 1 and stats["flow_triggers"] == 1
    assert stats["flow_cancels"] == 1
    assert stats["lost_replies"] == {"operate_pipeline": 2, "flows": 1, "flow_instances": 1}


# ----- random lost replies: mutations only -----


def test_random_lost_replies_hit_only_mutations_cdap(cdap_emulator: CdapEmulatorHandle) -> None:
    cdap_emulator.set_lost_replies(1.0, ["502"], seed=1)
    assert outcome(cdap_start(cdap_emulator, "long_a")) == 502
    (run,) = cdap_emulator.runs("default", "long_a")
    for url in (
        cdap_run_url(cdap_emulator, "long_a", run["runid"]),
        f"{cdap_emulator.url}/v3/namespaces/default/apps/long_a/{CDAP_BATCH}/runs",
        f"{cdap_emulator.url}/v3/namespaces/default",
        f"{cdap_emulator.url}/ping",
    ):
        assert requests.get(url, timeout=5).status_code == 200, url
    stop = send("POST", cdap_run_url(cdap_emulator, "long_a", run["runid"]) + "/stop")
    assert outcome(stop) == 502
    stats = cdap_emulator.stats()
    assert stats["lost_replies"] == {"start": 1, "stop_run": 1}
    assert stats["faults_injected"] == {"lost-502": 2}


def test_random_lost_replies_hit_only_mutations_daggy(daggy_emulator: DaggyEmulatorHandle) -> None:
    daggy_emulator.set_lost_replies(1.0, ["504"], seed=2)
    dag = {"tag": "t", "tasks": {"a": {"job": {"command": ["/bin/true"]}}}}
    assert requests.post(f"{daggy_emulator.url}/v1/dagrun/validate", json=dag, timeout=5).status_code == 200
    assert outcome(send("POST", f"{daggy_emulator.url}/v1/dagrun", json=dag)) == 504
    assert requests.get(f"{daggy_emulator.url}/v1/dagrun/0/state", timeout=5).status_code == 200
    assert requests.get(f"{daggy_emulator.url}/v1/dagruns", timeout=5).status_code == 200
    assert daggy_emulator.stats()["lost_replies"] == {"submit": 1}


def test_random_lost_replies_tailer_status_reads_are_never_lost(
    tailer_emulator: TailerEmulatorHandle,
) -> None:
    tailer_emulator.config.pending_seconds = 0.0
    tailer_emulator.set_lost_replies(1.0, ["502"], seed=3)
    assert (
        outcome(tailer_post(tailer_emulator, "/v1/dag/launch", {"action": "launch_job", **TAILER_SALES}))
        == 502
    )
    (run,) = tailer_emulator.runs()
    assert len(tailer_status(tailer_emulator, run["run_id"])) == 1  # check_run_status: a read
    last = tailer_post(tailer_emulator, "/v1/dag/status", {"action": "get_last_status", **TAILER_SALES})
    assert outcome(last) == 200
    by_status = {"action": "get_by_status", "account": "000099", "configuration_type": "table-to-table"}
    assert outcome(tailer_post(tailer_emulator, "/v1/dag/status", by_status)) == 200
    not_json = send("POST", tailer_emulator.url + "/v1/dag/status", data=b"{", headers={"Authorization": "x"})
    assert outcome(not_json) == 401  # not JSON, so not set_run_status: no mutation, the 401 gets through
    body = {"action": "set_run_status", **TAILER_SALES, "run_id": run["run_id"], "status": "SUCCESS"}
    assert outcome(tailer_post(tailer_emulator, "/v1/dag/status", body)) == 502  # sets a status: a mutation
    assert tailer_status(tailer_emulator, run["run_id"])[0]["status"] == "SUCCESS"
    assert tailer_emulator.stats()["lost_replies"] == {"dag_launch": 1, "dag_status": 1}


def test_random_lost_replies_hit_only_mutations_flowengine(
    flowengine_emulator: FlowEngineEmulatorHandle,
) -> None:
    flowengine_emulator.set_lost_replies(1.0, ["drop"], seed=4)
    for path in ("/kernel/v1/pipeline/6/list", "/kernel/v1/pipeline/template/6/1/get"):
        assert outcome(flowengine_call(flowengine_emulator, "GET", path)) == 200, path
    assert flowengine_call(flowengine_emulator, "POST", "/kernel/v1/pipeline/6/1/start", json={}) == DROPPED
    (run,) = flowengine_emulator.runs()
    history = flowengine_call(
        flowengine_emulator, "GET", "/kernel/v1/pipeline/1/historyList", params={"engineId": 6}
    )
    assert isinstance(history, requests.Response) and history.json()["data"]["total"] == 1
    assert outcome(flowengine_call(flowengine_emulator, "GET", f"/kernel/v1/pipeline/{run['id']}/get")) == 200
    assert flowengine_emulator.stats()["lost_replies"] == {"start_pipeline": 1}


def test_random_lost_replies_enos_reads_and_tokens_are_never_lost(enos_emulator: EnosEmulatorHandle) -> None:
    enos_emulator.set_lost_replies(1.0, ["504"], seed=5)
    stamp = int(time.time() * 1000)
    token_body = {"appKey": enos_emulator.config.app_key, "encryption": enos_emulator.encryption(stamp)}
    token = send(
        "POST",
        enos_emulator.url + "/apim-token-service/v2.0/token/get",
        json={**token_body, "timestamp": stamp},
    )
    assert isinstance(token, requests.Response) and token.json()["status"] == 0
    listing = enos_call(enos_emulator, "GET", "/streaming/v2.0/streaming/pipelines", {"orgId": ENOS_ORG})
    assert outcome(listing) == 200
    lag = enos_call(enos_emulator, "GET", ENOS_PIPELINE + "pl-running-3/offset-lag", {"orgId": ENOS_ORG})
    assert outcome(lag) == 200
    unknown_action = enos_operate(enos_emulator, "pl-demo-1", "explode")
    assert isinstance(unknown_action, requests.Response) and unknown_action.json()["code"] != 0
    assert outcome(enos_operate(enos_emulator, "pl-demo-1", "start")) == 504
    assert enos_emulator.stats()["lost_replies"] == {"operate_pipeline": 1}
    assert enos_emulator.stats()["starts"] == 1


# ----- seeds, independence, control API, config, CLI -----


def lost_pattern(emulator: CdapEmulatorHandle, count: int) -> list[int | str]:
    return [outcome(cdap_start(emulator, f"long_{index}")) for index in range(count)]


def test_the_seed_makes_random_lost_replies_reproducible(cdap_emulator: CdapEmulatorHandle) -> None:
    cdap_emulator.set_lost_replies(0.5, seed=11)
    first = lost_pattern(cdap_emulator, 16)
    assert cdap_emulator.stats()["starts"] == 16  # every start acted, lost or not
    assert 200 in first and set(first) - {200}  # some replies lost, some not
    assert cdap_emulator.stats()["lost_replies"] == {"start": sum(1 for item in first if item != 200)}
    cdap_emulator.reset()
    cdap_emulator.set_lost_replies(0.5, seed=11)
    assert lost_pattern(cdap_emulator, 16) == first


def test_random_faults_and_lost_replies_are_independent(cdap_emulator: CdapEmulatorHandle) -> None:
    cdap_emulator.set_random_faults(0.5, ["503"], seed=7)
    cdap_emulator.set_lost_replies(0.5, ["504"], seed=7)
    pattern = lost_pattern(cdap_emulator, 24)
    faulted, lost, answered = pattern.count(503), pattern.count(504), pattern.count(200)
    assert faulted and lost and answered and faulted + lost + answered == 24
    stats = cdap_emulator.stats()
    assert stats["starts"] == lost + answered  # a request faulted before acting never acted
    assert stats["faults_injected"] == {"503": faulted, "lost-504": lost}
    assert stats["lost_replies"] == {"start": lost}


def test_control_api_and_describe(cdap_emulator: CdapEmulatorHandle) -> None:
    faults = f"{cdap_emulator.url}/_emulator/faults"
    body = {"lost_reply_rate": 0.33, "lost_reply_kinds": ["502", "504", "drop"], "seed": 1}
    reply = requests.post(faults, json=body, timeout=5)
    assert reply.status_code == 200
    assert (reply.json()["lost_reply_rate"], reply.json()["lost_reply_kinds"]) == (
        0.33,
        ["502", "504", "drop"],
    )
    described = requests.get(faults, timeout=5).json()
    assert described["lost_reply_rate"] == 0.33 and described["fault_rate"] == 0.0
    assert cdap_emulator.core.faults.describe() == described

    requests.post(faults, json={"lost_reply_rate": 1.0, "lost_reply_kinds": ["drop"]}, timeout=5)
    assert cdap_start(cdap_emulator, "long_x") == DROPPED
    for bad in (
        {"lost_reply_rate": 2},
        {"lost_reply_kinds": ["500"]},
        {"lost_reply_rate": 0.5, "lost_reply_kinds": []},
        {"fault_rate": 0.5, "fault_kinds": ["lost-502"]},
        {"kind": "lost-418"},
    ):
        assert requests.post(faults, json=bad, timeout=5).status_code == 400, bad

    # A scripted lost-* rule over the control API matches by method and path like any rule.
    requests.delete(faults, timeout=5)
    rule = {"kind": "lost-504", "method": "GET", "path": "/ping$", "times": 2}
    assert requests.post(faults, json=rule, timeout=5).json()["rules"][0]["kind"] == "lost-504"
    assert [requests.get(f"{cdap_emulator.url}/ping", timeout=5).status_code for _ in range(3)] == [
        504,
        504,
        200,
    ]
    assert cdap_emulator.stats()["lost_replies"] == {"start": 1, "ping": 2}


def test_clear_delete_and_reset_stop_lost_replies(cdap_emulator: CdapEmulatorHandle) -> None:
    cdap_emulator.set_lost_replies(1.0, ["502"])
    cdap_emulator.clear_faults()
    assert outcome(cdap_start(cdap_emulator, "long_a")) == 200
    assert cdap_emulator.core.faults.describe()["lost_reply_rate"] == 0.0

    cdap_emulator.set_lost_replies(1.0)
    assert (
        requests.delete(f"{cdap_emulator.url}/_emulator/faults", timeout=5).json()["lost_reply_rate"] == 0.0
    )
    assert outcome(cdap_start(cdap_emulator, "long_b")) == 200

    cdap_emulator.set_lost_replies(1.0, ["504"])
    cdap_emulator.add_fault("POST", "/start$", "lost-502", times=5)
    assert outcome(cdap_start(cdap_emulator, "long_c")) == 502  # the scripted rule first
    assert cdap_emulator.stats()["lost_replies"] == {"start": 1}
    cdap_emulator.reset()
    assert cdap_emulator.stats()["lost_replies"] == {} and cdap_emulator.stats()["faults_injected"] == {}
    assert outcome(cdap_start(cdap_emulator, "long_d")) == 200
    assert cdap_emulator.core.faults.describe()["rules"] == []


def test_lost_replies_from_config_survive_a_reset(
    cdap_emulator_factory: Callable[..., CdapEmulatorHandle],
) -> None:
    emulator = cdap_emulator_factory(lost_reply_rate=1.0, lost_reply_kinds=("504",), seed=3)
    assert outcome(cdap_start(emulator, "long_a")) == 504
    emulator.clear_faults()
    assert outcome(cdap_start(emulator, "long_b")) == 200
    emulator.reset()  # back to the config: lost replies again
    assert outcome(cdap_start(emulator, "long_c")) == 504
    assert len(emulator.runs()) == 1


def test_fault_injector_api() -> None:
    injector = FaultInjector(lost_reply_rate=0.25, lost_reply_kinds=["lost-502", "drop"], seed=9)
    assert injector.describe()["lost_reply_kinds"] == ["502", "drop"]
    injector.set_lost_replies(0.5)  # kinds kept
    assert (injector.lost_reply_rate, injector.lost_reply_kinds) == (0.5, ("502", "drop"))
    injector.reset_to(CdapEmulatorConfig())
    assert (injector.lost_reply_rate, injector.lost_reply_kinds) == (0.0, ("502", "504", "drop"))
    assert FaultRule(kind="LOST-DROP").kind == "lost-drop"
    for bad_rate in (-0.1, 1.5):
        with pytest.raises(ValueError, match="lost_reply_rate"):
            injector.set_lost_replies(bad_rate)
    with pytest.raises(ValueError, match="unknown lost reply kinds"):
        injector.set_lost_replies(0.5, ["503"])
    with pytest.raises(ValueError, match="scripted rules"):
        injector.set_random(0.5, ["lost-502"])


def test_cli_options() -> None:
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    options = common_config_options(
        parser.parse_args(["--lost-reply-rate", "0.25", "--lost-reply-kinds", "502,drop"])
    )
    assert (options["lost_reply_rate"], options["lost_reply_kinds"]) == (0.25, ("502", "drop"))
    defaults = common_config_options(parser.parse_args([]))
    assert (defaults["lost_reply_rate"], defaults["lost_reply_kinds"]) == (0.0, ("502", "504", "drop"))
    config = CdapEmulatorConfig(**options)
    assert FaultInjector.from_options(config).describe()["lost_reply_kinds"] == ["502", "drop"]
    with pytest.raises(ValueError):
        common_config_options(parser.parse_args(["--lost-reply-kinds", "500"]))
