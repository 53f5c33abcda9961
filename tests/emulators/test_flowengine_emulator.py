"""The FlowEngine emulator over real HTTP: what the provider's FlowEngine hook will be tested against."""

from __future__ import annotations

import copy
import hashlib
import json
import os
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
from airflow_provider_pipelines.emulators.base import Timeline
from airflow_provider_pipelines.emulators.flowengine import FlowEngineEmulatorConfig, FlowEngineEmulatorHandle

# The plugin's fixtures, also when the package's pytest11 entry point is not installed.
_flowengine_emulator_session = pytest_plugin._flowengine_emulator_session
flowengine_emulator = pytest_plugin.flowengine_emulator
flowengine_emulator_factory = pytest_plugin.flowengine_emulator_factory

KEY = "emulator-engine"
OK = "后台处理正常"

# The vendor page's create body (03), as published.
VENDOR_TEMPLATE = json.loads(
    '{"id":19,"engineTemplateId":23,"data":{"onPreStart":null,"onComplete":null,"onTimeout":null,'
    '"onError":null,"onCondition":null,"id":"b49a3391-daaf-11ed-840b-eb96ba015c6a","name":"test1",'
    '"describe":"test1","nodes":[{"onPreStart":null,"onComplete":null,"onTimeout":null,"onError":null,'
    '"onCondition":null,"id":null,"runId":null,"name":"start","engineTemplateId":null,"indexType":"DAG",'
    '"indexSource":null,"params":null,"outputConfig":null,"executionConfig":null,"viewConfig":null,'
    '"system":null,"systemTab":null,"parentJobTemplateId":null,"desc":null,"type":"START","pipelineKey":null,'
    '"sensorJobConfig":null,"source":null,"componentKey":null,"componentJobKey":null,"workerName":null,'
    '"nodeId":"start_node","title":"开始","status":"INITIALIZED","inputSlots":null,"outputSlots":'
    '[{"elementType":"TABLE","id":"c4048285-fe2d-47c6-a2b0-bef7e0dde6bf"}],"isStartNode":false,'
    '"resourceDependency":null}],"edges":[],"status":"init","layout":"","executionConfig":{"runMode":"SINGLE",'
    '"cronExpression":null,"interval":0,"intervalUnit":"MINUTE","isManual":null,'
    '"trigger":"ModelTrainFinishEvent","triggerList":null,"retryCount":null,"delayTime":null,'
    '"delayTimeUnit":null,"timeOut":null,"timeOutUnit":null,"retryGapTime":null,"retryGapTimeUnit":null,'
    '"startAt":null},"openMsgTopicConfig":{},"pipelineParams":null},"jobKey":null,"tiggerKey":null,'
    '"historyList":null,"createTime":1681468370000,"pipelineKey":"test1"}'
)


class Client:
    """Calls the emulator as a client would after discovery: engine path, headers, ``engineKey``."""

    def __init__(self, handle: FlowEngineEmulatorHandle, key: str = KEY) -> None:
        self.handle = handle
        self.key = key

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        key: bool = True,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        query = {"engineKey": self.key} if key else {}
        query.update(params or {})
        base = path if path.startswith("http") else self.handle.engine_url + path
        sent = self.handle.headers if headers is None else headers
        return requests.request(method, base, params=query, headers=sent, timeout=5, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        reply = self.call(method, path, **kwargs)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert (body["status"], body["msg"]) == (0, OK), body
        return body["data"]

    def error(self, method: str, path: str, http: int = 200, **kwargs: Any) -> tuple[int, str]:
        reply = self.call(method, path, **kwargs)
        assert reply.status_code == http, reply.text
        body = reply.json()
        assert body["status"] != 0 and body["data"] is None, body
        return body["status"], body["msg"]

    def start(self, pipeline_id: int, params: dict[str, Any] | None = None) -> dict[str, Any]:
        record: dict[str, Any] = self.ok(
            "POST", f"/kernel/v1/pipeline/6/{pipeline_id}/start", json=params or {}
        )
        return record

    def run(self, run_id: int) -> dict[str, Any]:
        record: dict[str, Any] = self.ok("GET", f"/kernel/v1/pipeline/{run_id}/get")
        return record

    def wait(self, run_id: int, wanted: str, timeout: float = 3.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (record := self.run(run_id))["status"] != wanted:
            assert time.monotonic() < deadline, f"run {run_id} never reached {wanted}: {record['status']}"
            time.sleep(0.01)
        return record

    def history(self, pipeline_id: int, **params: Any) -> dict[str, Any]:
        page: dict[str, Any] = self.ok(
            "GET", f"/kernel/v1/pipeline/{pipeline_id}/historyList", params={"engineId": 6, **params}
        )
        return page


@pytest.fixture
def client(flowengine_emulator: FlowEngineEmulatorHandle) -> Client:
    return Client(flowengine_emulator)


def test_discovery_steps(flowengine_emulator: FlowEngineEmulatorHandle, client: Client) -> None:
    base = flowengine_emulator.url
    info = client.ok("GET", f"{base}/engine-manager/v1/k8s/info/")
    assert info["url"] == "/engine/15/cess-data-3" and info["engineKey"] == KEY
    assert client.ok("GET", f"{base}/engine-manager/v1/k8s/info")["url"] == info["url"]  # no trailing slash
    param = client.ok("GET", f"{base}{info['url']}/kernel/v1/system/getParam")
    assert param["engineId"] == 6
    assert flowengine_emulator.engine_url == base + info["url"]
    raw = requests.get(
        f"{base}/engine-manager/v1/k8s/info/",
        params={"engineKey": KEY},
        headers=client.handle.headers,
        timeout=5,
    )
    assert raw.headers["Content-Type"].startswith("application/json")
    assert raw.json()["msg"] == "后台处理正常"  # sent as UTF-8 text, not \\u escapes
    assert "后台处理正常" in raw.content.decode("utf-8")
    stats = flowengine_emulator.stats()
    assert (stats["engine_info_calls"], stats["engine_param_calls"]) == (3, 1)
    assert stats["requests"] == {"GET engine_info": 3, "GET engine_param": 1}


def test_user_header_and_required_headers(
    flowengine_emulator_factory: Callable[..., FlowEngineEmulatorHandle],
) -> None:
    handle = flowengine_emulator_factory(user_id="42", required_headers={"Cookie": "session=s3cr3t"})
    client = Client(handle)
    path = "/kernel/v1/pipeline/6/list"
    good = {"X-FlowEngine-UserId": "42", "Cookie": "session=s3cr3t"}
    assert handle.headers == good
    assert len(client.ok("GET", path, headers=good)) == 2
    for headers in (
        {},
        {"Cookie": "session=s3cr3t"},
        {"X-FlowEngine-UserId": "1", "Cookie": "session=s3cr3t"},
        {"X-FlowEngine-UserId": "42"},
        {"X-FlowEngine-UserId": "42", "Cookie": "session=other"},
    ):
        status, msg = client.error("GET", path, http=401, headers=headers)
        assert status == 401 and "unauthorized" in msg
    # Checked before anything else, discovery and unknown routes included; the control API never is.
    info = client.call("GET", handle.url + "/engine-manager/v1/k8s/info/", headers={})
    assert (info.status_code, info.json()["status"]) == (401, 401)
    assert client.call("GET", "/nope", headers={}).status_code == 401
    assert requests.get(handle.url + "/_emulator/stats", timeout=5).status_code == 200
    assert handle.stats()["envelope_errors"] == {"401": 7}


def test_engine_key_engine_id_and_route_errors(client: Client) -> None:
    wrong_key = Client(client.handle, key="other-engine")
    for method, path in (
        ("GET", client.handle.url + "/engine-manager/v1/k8s/info/"),
        ("GET", "/kernel/v1/system/getParam"),
        ("GET", "/kernel/v1/pipeline/6/list"),
        ("GET", "/kernel/v1/pipeline/template/6/1/get"),
        ("POST", "/kernel/v1/pipeline/6/1/start"),
    ):
        assert wrong_key.error(method, path)[0] == 1001  # HTTP 200: judge by the envelope
        status, msg = client.error(method, path, key=False)
        assert status == 1001 and "engineKey invalid" in msg
    assert client.handle.stats()["starts"] == 0
    # engineId in the path, or in the query of the history, stop and resume calls.
    assert client.error("GET", "/kernel/v1/pipeline/7/list")[0] == 1002
    assert client.error("GET", "/kernel/v1/pipeline/template/7/1/get")[0] == 1002
    assert client.error("POST", "/kernel/v1/pipeline/7/1/start", json={})[0] == 1002
    status, msg = client.error("GET", "/kernel/v1/pipeline/1/historyList")
    assert (status, msg) == (1002, "engineId 缺失 (engineId missing)")
    assert client.error("GET", "/kernel/v1/pipeline/1/historyList", params={"engineId": 5})[0] == 1002
    assert client.error("DELETE", "/kernel/v1/pipeline/100/stopHistory", params={"engineId": 5})[0] == 1002
    assert client.error("POST", "/kernel/v1/pipeline/100/resumeHistory")[0] == 1002
    # Unknown things.
    assert client.error("GET", "/kernel/v1/pipeline/template/6/42/get") == (
        1,
        "pipeline 42 不存在 (not found)",
    )
    assert client.error("GET", "/kernel/v1/pipeline/template/6/abc/get")[0] == 1
    assert client.error("GET", "/kernel/v1/pipeline/999/get")[0] == 4004
    assert client.error("DELETE", "/kernel/v1/pipeline/999/stopHistory", params={"engineId": 6})[0] == 4004
    # Wrong engine path, unknown route, wrong method: HTTP 404 / 405 with an envelope.
    other_engine = client.handle.url + "/engine/99/elsewhere/kernel/v1/pipeline/6/list"
    assert client.error("GET", other_engine, http=404)[0] == 404
    assert client.error("GET", client.handle.url + "/kernel/v1/pipeline/6/list", http=404)[0] == 404
    assert client.error("GET", "/kernel/v2/nothing", http=404)[0] == 404
    assert client.error("PATCH", "/kernel/v1/pipeline/6/list", http=405)[0] == 405
    errors = client.handle.stats()["envelope_errors"]
    assert errors == {"1001": 10, "1002": 7, "1": 2, "4004": 2, "404": 3, "405": 1}


def test_seeded_pipelines(client: Client) -> None:
    listed = client.ok("GET", "/kernel/v1/pipeline/6/list")
    assert [(p["id"], p["name"], p["pipelineKey"], p["cronEnabled"], p["status"]) for p in listed] == [
        (1, "daily_features", "daily_features", False, "init"),
        (2, "always_fail", "always_fail", False, "init"),
    ]
    assert set(listed[0]) >= {"id", "name", "pipelineKey", "status", "cronEnabled", "createTime"}
    detail = client.ok("GET", "/kernel/v1/pipeline/template/6/1/get")
    assert set(detail) >= {"id", "engineTemplateId", "pipelineKey", "data", "createTime"}
    assert detail["createTime"] == listed[0]["createTime"]
    data = detail["data"]
    assert (data["name"], data["executionConfig"]["cronExpression"]) == ("daily_features", "0 0 2 * * ?")
    nodes = [(n["nodeId"], n["name"], n["title"], n["type"]) for n in data["nodes"]]
    assert nodes[0][0] == "start_node" and nodes[0][3] == "START"
    assert nodes[1:] == [
        ("node_sql", "feature_sql", "特征SQL", "SQL"),
        ("node_train", "train_model", "模型训练", "TRAIN"),
    ]
    assert data["edges"] == [
        {"source": "start_node", "target": "node_sql"},
        {"source": "node_sql", "target": "node_train"},
    ]
    failing = client.ok("GET", "/kernel/v1/pipeline/template/6/2/get")["data"]
    assert [n["nodeId"] for n in failing["nodes"]] == ["start_node", "node_bad"]
    assert failing["nodes"][1]["name"] == "bad_step"
    assert [p["id"] for p in client.handle.pipelines()] == [1, 2]


def test_create_get_update_pipeline(client: Client) -> None:
    created = client.ok("POST", "/kernel/v1/pipeline/template/6/create", json=VENDOR_TEMPLATE)
    assert created["id"] == 3 and created["pipelineKey"] == "test1" and created["engineTemplateId"] != 23
    assert created["data"]["name"] == "test1" and created["data"]["id"] != VENDOR_TEMPLATE["data"]["id"]
    assert created["data"]["nodes"] == VENDOR_TEMPLATE["data"]["nodes"]
    assert client.ok("GET", "/kernel/v1/pipeline/template/6/3/get") == created
    assert [p["id"] for p in client.ok("GET", "/kernel/v1/pipeline/6/list")] == [1, 2, 3]
    # Invalid bodies.
    status, msg = client.error("POST", "/kernel/v1/pipeline/template/6/create", json=VENDOR_TEMPLATE)
    assert status == 1 and "pipelineKey test1" in msg and "already exists" in msg
    nodeless = copy.deepcopy(VENDOR_TEMPLATE)
    nodeless["pipelineKey"] = "other"
    del nodeless["data"]["nodes"]
    assert "data.nodes" in client.error("POST", "/kernel/v1/pipeline/template/6/create", json=nodeless)[1]
    no_data = {"pipelineKey": "x"}
    assert "'data'" in client.error("POST", "/kernel/v1/pipeline/template/6/create", json=no_data)[1]
    garbage = client.error("POST", "/kernel/v1/pipeline/template/6/create", data="{not json")
    assert garbage[0] == 1 and "JSON" in garbage[1]
    # Update: send back the detail, changed.
    changed = copy.deepcopy(created)
    changed["data"]["name"] = "renamed"
    changed["data"]["nodes"].append({"nodeId": "node_new", "name": "new_step", "title": "新", "type": "SQL"})
    changed["pipelineKey"] = "test1_v2"
    updated = client.ok("PUT", "/kernel/v1/pipeline/template/6/update", json=changed)
    assert (updated["id"], updated["createTime"], updated["pipelineKey"]) == (
        3,
        created["createTime"],
        "test1_v2",
    )
    assert [n["nodeId"] for n in updated["data"]["nodes"]] == ["start_node", "node_new"]
    assert client.ok("GET", "/kernel/v1/pipeline/template/6/3/get") == updated
    assert client.ok("GET", "/kernel/v1/pipeline/6/list")[2]["name"] == "renamed"
    unknown = {**changed, "id": 77}
    status, msg = client.error("PUT", "/kernel/v1/pipeline/template/6/update", json=unknown)
    assert status == 4009 and "77" in msg
    taken = {**changed, "pipelineKey": "daily_features"}
    assert client.error("PUT", "/kernel/v1/pipeline/template/6/update", json=taken)[0] == 1
    no_id = {key: value for key, value in changed.items() if key != "id"}
    assert client.error("PUT", "/kernel/v1/pipeline/template/6/update", json=no_id)[0] == 1
    stats = client.handle.stats()
    assert (stats["pipelines_created"], stats["pipelines_updated"]) == (1, 1)


def test_upload_job_file(client: Client) -> None:
    path = "/kernel/v1/template/uploadJobFileParam/1"
    content = b"job-jar-bytes" * 1000
    data = client.ok("POST", path, files={"file": ("dir/job.jar", content)}, data={"note": "x"})
    assert data["fileName"] == "job.jar" and data["size"] == len(content)
    assert data["path"].startswith("/jobfiles/") and data["path"].endswith("/job.jar")
    # The vendor page sends no engineKey here: accepted without one, refused with a wrong one.
    assert client.ok("POST", path, key=False, files={"file": ("b.txt", b"b")})["size"] == 1
    assert Client(client.handle, key="nope").error("POST", path, files={"file": ("c", b"c")})[0] == 1001
    status, msg = client.error("POST", path, files={"other": ("c", b"c")})
    assert status == 1 and "file" in msg
    assert client.error("POST", path, json={"file": "x"})[0] == 1
    uploads = client.handle.uploads()
    assert [(u["fileName"], u["size"]) for u in uploads] == [("job.jar", len(content)), ("b.txt", 1)]
    assert uploads[0]["sha256"] == hashlib.sha256(content).hexdigest()
    assert uploads[0]["path"] == data["path"]
    assert client.handle.stats()["uploads"] == 2


def test_schedule_on_and_off(client: Client) -> None:
    on = client.ok("POST", "/kernel/v1/pipeline/6/1/start", params={"once": "false"}, json={"data": " "})
    assert on["id"] == 1 and on["cronEnabled"] is True
    assert [p["cronEnabled"] for p in client.ok("GET", "/kernel/v1/pipeline/6/list")] == [True, False]
    assert client.handle.stats()["starts"] == 0 and client.handle.runs() == []
    assert client.ok("POST", "/kernel/v1/pipeline/6/1/stop", json={"data": " "})["cronEnabled"] is False
    client.ok("POST", "/kernel/v1/pipeline/6/2/start", params={"once": "false"}, json={"data": " "})
    assert (
        client.ok("DELETE", "/kernel/v1/pipeline/6/2/stop")["cronEnabled"] is False
    )  # the vendor SDK's verb
    assert [p["cronEnabled"] for p in client.handle.pipelines()] == [False, False]
    assert client.error("POST", "/kernel/v1/pipeline/6/9/stop")[0] == 1
    assert client.error("POST", "/kernel/v1/pipeline/6/1/start", params={"once": "maybe"})[0] == 1
    assert client.handle.stats()["schedule_changes"] == 4


def test_start_with_node_parameters(client: Client) -> None:
    params = {"node_sql": {"day": "2024-01-01"}, "node_train": {"epochs": "3"}}
    record = client.start(1, params)
    assert record["id"] == 100 and record["pipelineId"] == 1 and record["status"] == "running"
    assert record["params"] == params and record["endTime"] is None
    assert set(record) == {
        "id",
        "pipelineId",
        "status",
        "createTime",
        "updateTime",
        "endTime",
        "params",
        "nodes",
    }
    assert [n["nodeId"] for n in record["nodes"]] == ["start_node", "node_sql", "node_train"]
    assert client.ok("POST", "/kernel/v1/pipeline/6/1/start", params={"once": "true"})["id"] == 101
    assert client.start(2)["id"] == 102
    status, msg = client.error("POST", "/kernel/v1/pipeline/6/1/start", json={"node_sql": {}, "ghost": {}})
    assert status == 1 and "ghost" in msg
    # The schedule body without once=false is a run whose parameters name a node "data".
    assert "'data'" in client.error("POST", "/kernel/v1/pipeline/6/1/start", json={"data": " "})[1]
    assert "object" in client.error("POST", "/kernel/v1/pipeline/6/1/start", json={"node_sql": "x"})[1]
    assert client.error("POST", "/kernel/v1/pipeline/6/1/start", json=["node_sql"])[0] == 1
    assert client.error("POST", "/kernel/v1/pipeline/6/42/start", json={}) == (
        1,
        "pipeline 42 不存在 (not found)",
    )
    stats = client.handle.stats()
    assert stats["starts"] == 3 and stats["starts_by_pipeline"] == {"1": 2, "2": 1}
    assert [run["id"] for run in client.handle.runs()] == [102, 101, 100]


def test_statuses_over_time_to_success(client: Client) -> None:
    began = time.time() * 1000
    run_id = client.start(1, {"node_sql": {"day": "1"}})["id"]
    first = client.run(run_id)
    assert first["status"] == "init" and {n["status"] for n in first["nodes"]} == {"init"}
    assert first["updateTime"] == first["createTime"] and abs(first["createTime"] - began) < 1000
    running = client.wait(run_id, "running")
    assert [n["status"] for n in running["nodes"]] == ["success", "running", "running"]
    assert running["updateTime"] == running["createTime"] + 50 and running["endTime"] is None
    done = client.wait(run_id, "success")
    assert done["endTime"] == done["updateTime"] == done["createTime"] + 350
    assert {n["status"] for n in done["nodes"]} == {"success"} and {n["msg"] for n in done["nodes"]} == {""}
    assert client.ok("GET", "/kernel/v1/pipeline/6/list")[0]["status"] == "success"


def test_failing_pipeline(client: Client) -> None:
    run_id = client.start(2)["id"]
    failed = client.wait(run_id, "failed")
    assert failed["endTime"] == failed["createTime"] + 350
    start, bad = failed["nodes"]
    assert (start["status"], start["msg"]) == ("success", "")
    assert (bad["nodeId"], bad["status"]) == ("node_bad", "failed")
    assert bad["msg"].startswith("Simulated failure in bad_step: ")
    assert client.ok("GET", "/kernel/v1/pipeline/6/list")[1]["status"] == "failed"


def test_status_vocabulary(client: Client) -> None:
    config = client.handle.config
    config.status_case = "upper"
    run_id = client.start(1)["id"]
    assert client.run(run_id)["status"] == "INIT"
    assert client.wait(run_id, "SUCCESS")["nodes"][0]["status"] == "SUCCESS"
    config.status_case = "title"
    assert client.run(run_id)["status"] == "Success"
    config.status_words = {"success": "FINISHED", "FAILED": "ERROR"}  # keys: canonical words, any case
    assert client.run(run_id)["status"] == "FINISHED"
    config.unknown_status = "WEIRD"
    assert client.start(1)["status"] == "WEIRD"
    failed_id = client.start(2)["id"]
    client.wait(failed_id, "WEIRD")
    record = client.wait(failed_id, "ERROR")
    assert record["nodes"][1]["status"] == "ERROR"
    client.handle.reset()
    assert (config.status_case, config.status_words, config.unknown_status) == ("lower", None, None)
    with pytest.raises(ValueError, match="status_case"):
        FlowEngineEmulatorConfig(status_case="camel")


def test_history_paging(client: Client) -> None:
    ids = [client.start(1)["id"] for _ in range(3)]
    client.start(2)
    first = client.history(1, page=1, size=2)
    assert (first["total"], first["page"], first["size"]) == (3, 1, 2)
    assert [run["id"] for run in first["list"]] == [ids[2], ids[1]]
    assert [run["id"] for run in client.history(1, page=2, size=2)["list"]] == [ids[0]]
    assert client.history(1, page=3, size=2)["list"] == []
    default = client.history(1)
    assert (default["page"], default["size"], len(default["list"])) == (1, 10, 3)
    assert client.history(2)["total"] == 1
    assert client.history(1, page="", size="")["size"] == 10
    for bad in ({"page": 0}, {"size": "x"}, {"page": -1}):
        status, msg = client.error("GET", "/kernel/v1/pipeline/1/historyList", params={"engineId": 6, **bad})
        assert status == 1 and ("page" in msg or "size" in msg)
    assert client.error("GET", "/kernel/v1/pipeline/9/historyList", params={"engineId": 6})[0] == 1


def test_stop_and_resume(client: Client) -> None:
    stop = {"engineId": 6}
    client.handle.config.stop_seconds = 0.3  # long enough to ask twice while stopping
    run_id = client.start(1)["id"]
    client.wait(run_id, "running")
    stopping = client.ok("DELETE", f"/kernel/v1/pipeline/{run_id}/stopHistory", params=stop)
    assert stopping["id"] == run_id and stopping["status"] == "stopping"
    assert (
        client.ok("DELETE", f"/kernel/v1/pipeline/{run_id}/stopHistory", params=stop)["status"] == "stopping"
    )
    stopped = client.wait(run_id, "stopped")
    assert [n["status"] for n in stopped["nodes"]] == ["success", "stopped", "stopped"]
    assert stopped["endTime"] is not None
    status, msg = client.error("DELETE", f"/kernel/v1/pipeline/{run_id}/stopHistory", params=stop)
    assert status == 1 and "run already finished" in msg
    # Resume: the same run plays again from running to its outcome.
    resumed = client.ok("POST", f"/kernel/v1/pipeline/{run_id}/resumeHistory", params=stop)
    assert (resumed["id"], resumed["status"], resumed["endTime"]) == (run_id, "running", None)
    assert "resumed" in client.error("POST", f"/kernel/v1/pipeline/{run_id}/resumeHistory", params=stop)[1]
    done = client.wait(run_id, "success")
    assert done["createTime"] < done["updateTime"] == done["endTime"]
    assert client.error("POST", f"/kernel/v1/pipeline/{run_id}/resumeHistory", params=stop)[0] == 1
    # A stop during init; a failed run fails again after a resume.
    early = client.start(1)["id"]
    assert (
        client.ok("DELETE", f"/kernel/v1/pipeline/{early}/stopHistory", params=stop)["status"] == "stopping"
    )
    failing = client.start(2)["id"]
    client.wait(failing, "failed")
    client.ok("POST", f"/kernel/v1/pipeline/{failing}/resumeHistory", params=stop)
    assert client.wait(failing, "failed")["nodes"][1]["status"] == "failed"
    client.wait(early, "stopped")
    assert [run["id"] for run in client.history(1)["list"]] == [early, run_id]
    assert client.error("POST", "/kernel/v1/pipeline/5/resumeHistory", params=stop)[0] == 4004
    stats = client.handle.stats()
    assert (stats["run_stops"], stats["resumes"], stats["starts"]) == (2, 2, 3)


def test_long_pipeline_runs_until_stopped(client: Client) -> None:
    template = copy.deepcopy(VENDOR_TEMPLATE)
    template["data"]["name"] = template["pipelineKey"] = "long_backfill"
    pipeline_id = client.ok("POST", "/kernel/v1/pipeline/template/6/create", json=template)["id"]
    run_id = client.start(pipeline_id)["id"]
    client.wait(run_id, "running")
    time.sleep(0.4)  # longer than running_seconds: long pipelines run 100 times longer
    assert client.run(run_id)["status"] == "running"
    client.ok("DELETE", f"/kernel/v1/pipeline/{run_id}/stopHistory", params={"engineId": 6})
    client.wait(run_id, "stopped")
    client.handle.config.long_factor = 1  # read at resume
    client.ok("POST", f"/kernel/v1/pipeline/{run_id}/resumeHistory", params={"engineId": 6})
    client.wait(run_id, "success")


def test_start_reply_without_id(flowengine_emulator_factory: Callable[..., FlowEngineEmulatorHandle]) -> None:
    client = Client(flowengine_emulator_factory(start_reply_has_id=False))
    assert client.ok("POST", "/kernel/v1/pipeline/6/1/start", json={"node_sql": {}}) is None
    newest = client.history(1, page=1, size=1)["list"][0]
    assert newest["id"] == 100 and newest["params"] == {"node_sql": {}}
    assert client.handle.stats()["starts"] == 1


def test_other_engine_settings(flowengine_emulator_factory: Callable[..., FlowEngineEmulatorHandle]) -> None:
    handle = flowengine_emulator_factory(
        engine_key="k2", engine_path="engine/7/x/", engine_id=9, string_status=True
    )
    client = Client(handle, key="k2")
    info = requests.get(
        handle.url + "/engine-manager/v1/k8s/info/",
        params={"engineKey": "k2"},
        headers=handle.headers,
        timeout=5,
    ).json()
    assert (info["status"], info["data"]["url"]) == ("0", "/engine/7/x")
    assert handle.engine_url == handle.url + "/engine/7/x"
    param = client.call("GET", "/kernel/v1/system/getParam").json()
    assert param["data"]["engineId"] == 9
    assert client.call("GET", "/kernel/v1/pipeline/6/list").json()["status"] == "1002"
    assert len(client.call("GET", "/kernel/v1/pipeline/9/list").json()["data"]) == 2
    # An engine at the root of the gateway.
    handle.config.engine_path = "/"
    assert handle.engine_url == handle.url
    assert client.call("GET", "/kernel/v1/pipeline/9/list").json()["status"] == "0"
    assert client.call("GET", handle.url + "/engine/7/x/kernel/v1/pipeline/9/list").status_code == 404


def test_faults(client: Client) -> None:
    handle = client.handle
    handle.add_fault("POST", r"/start$", 503)
    assert client.call("POST", "/kernel/v1/pipeline/6/1/start", json={}).status_code == 503
    assert handle.stats()["starts"] == 0
    handle.add_fault("POST", r"/start$", "slow", seconds=0.2)
    began = time.monotonic()
    run_id = client.start(1)["id"]
    assert time.monotonic() - began >= 0.2
    handle.add_fault("GET", r"/get$", "drop")
    with pytest.raises(requests.ConnectionError):
        client.call("GET", f"/kernel/v1/pipeline/{run_id}/get")
    handle.add_fault("GET", r"/historyList$", 429, retry_after=0.05)
    throttled = client.call("GET", "/kernel/v1/pipeline/1/historyList", params={"engineId": 6})
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "0.05")
    handle.set_random_faults(1.0, ["malformed"], seed=3)
    with pytest.raises(ValueError):
        client.call("GET", "/kernel/v1/pipeline/6/list").json()
    handle.clear_faults()
    assert client.run(run_id)["id"] == run_id
    stats = handle.stats()
    assert stats["faults_injected"] == {"503": 1, "slow": 1, "drop": 1, "429": 1, "malformed": 1}
    assert stats["starts"] == 1 and stats["requests"]["POST start_pipeline"] == 2


def test_control_routes_and_reset(client: Client) -> None:
    handle = client.handle
    client.ok("POST", "/kernel/v1/pipeline/template/6/create", json=VENDOR_TEMPLATE)
    run_id = client.start(3)["id"]
    client.ok("POST", "/kernel/v1/template/uploadJobFileParam/1", files={"file": ("a.jar", b"a")})
    handle.config.running_seconds = 9
    [record] = requests.get(handle.url + "/_emulator/flowengine/runs", timeout=5).json()
    assert record["id"] == run_id and record["pipelineId"] == 3 and handle.run(run_id)["id"] == run_id
    pipelines = requests.get(handle.url + "/_emulator/flowengine/pipelines", timeout=5).json()
    assert [p["id"] for p in pipelines] == [1, 2, 3] and handle.pipeline(3)["cronEnabled"] is False
    assert len(requests.get(handle.url + "/_emulator/flowengine/uploads", timeout=5).json()) == 1
    with pytest.raises(KeyError):
        handle.run(5)
    assert requests.post(handle.url + "/_emulator/reset", timeout=5).status_code == 200
    assert handle.runs() == [] and handle.uploads() == [] and [p["id"] for p in handle.pipelines()] == [1, 2]
    assert handle.config.running_seconds == 0.3
    assert client.start(1)["id"] == 100
    assert client.ok("POST", "/kernel/v1/pipeline/template/6/create", json=VENDOR_TEMPLATE)["id"] == 3
    assert handle.stats()["requests"] == {"POST start_pipeline": 1, "POST create_pipeline": 1}


def test_timeline_changed_at() -> None:
    timeline = Timeline(10.0, (("init", 1.0), ("running", 2.0)), "success")
    assert [timeline.changed_at(at) for at in (10.0, 10.5, 11.0, 12.9, 13.0, 99.0)] == [
        10,
        10,
        11,
        11,
        13,
        13,
    ]


def test_cli_serves_with_header_and_stops_on_sigterm() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "airflow_provider_pipelines.emulators", "flowengine", "--port", "0"]
    command += ["--header", "Access-Key=abc", "--engine-key", "k", "--status-case", "upper"]
    command += ["--status-word", "success=FINISHED", "--init-seconds", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("flowengine emulator listening on http://127.0.0.1:")
            base = line.rsplit(" ", 1)[1]
            info = f"{base}/engine-manager/v1/k8s/info/?engineKey=k"
            headers = {"X-FlowEngine-UserId": "1"}
            assert requests.get(info, headers=headers, timeout=5).status_code == 401
            reply = requests.get(info, headers={**headers, "Access-Key": "abc"}, timeout=5).json()
            assert reply["data"]["url"] == "/engine/15/cess-data-3"
            start = f"{base}/engine/15/cess-data-3/kernel/v1/pipeline/6/1/start?engineKey=k"
            started = requests.post(
                start, json={}, headers={**headers, "Access-Key": "abc"}, timeout=5
            ).json()
            assert started["data"]["status"] == "RUNNING"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
