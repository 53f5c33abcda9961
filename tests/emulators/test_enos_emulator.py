"""The EnOS emulator over real HTTP: what the provider's EnOS hook and trigger will be tested against.

Signatures are computed here with hashlib, independently of the emulator's own helpers.
"""

from __future__ import annotations

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
from urllib.parse import urlencode

import pytest
import requests

from airflow_provider_pipelines.emulators import pytest_plugin
from airflow_provider_pipelines.emulators.enos import EnosEmulatorHandle

# The plugin's fixtures, also when the package's pytest11 entry point is not installed.
_enos_emulator_session = pytest_plugin._enos_emulator_session
enos_emulator = pytest_plugin.enos_emulator
enos_emulator_factory = pytest_plugin.enos_emulator_factory

APP_KEY, APP_SECRET = "emulator-app-key", "emulator-app-secret"
ORG, USER = "o15589", "u-airflow"
TOKEN_GET = "/apim-token-service/v2.0/token/get"
TOKEN_REFRESH = "/apim-token-service/v2.0/token/refresh"
PIPELINE = "/streaming/v2.0/streaming/pipeline/"
PIPELINES = "/streaming/v2.0/streaming/pipelines"
FLOWS = "/batch-processing-service/v2.1/flows"
INSTANCES = "/batch-processing-service/v2.1/flowInstances"
STANDALONE = {"executionMode": 0, "kafkaRate": 1000, "resourceConfig": {"server": 1}}
CLUSTER = {
    "executionMode": 1,
    "kafkaRate": 1000,
    "resourceConfig": {
        "server": 1,
        "yarn": {"workerCount": 2, "master": 1, "slave": 2},
        "advanced": [{"key": "spark.memory.fraction", "value": "0.8"}],
    },
}

_last_ms = 0


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fresh_ms() -> int:
    """Epoch milliseconds, never the same twice (a reused token timestamp answers 1001)."""
    global _last_ms
    _last_ms = max(int(time.time() * 1000), _last_ms + 1)
    return _last_ms


def token_request(
    emulator: EnosEmulatorHandle,
    path: str = TOKEN_GET,
    app_key: str = APP_KEY,
    secret: str = APP_SECRET,
    timestamp: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    stamp = fresh_ms() if timestamp is None else timestamp
    body = {"appKey": app_key, "encryption": sha(f"{app_key}{stamp}{secret}"), "timestamp": stamp, **extra}
    reply = requests.post(emulator.url + path, json=body, timeout=5)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def get_token(emulator: EnosEmulatorHandle) -> str:
    reply = token_request(emulator)
    assert reply["status"] == 0, reply
    token: str = reply["data"]["accessToken"]
    return token


def signature(
    token: str, params: dict[str, Any], body: bytes, stamp: int | str, secret: str = APP_SECRET
) -> str:
    params_data = "".join(f"{name}{value}" for name, value in sorted(params.items()))
    return sha(f"{token}{params_data}{body.decode('utf-8')}{stamp}{secret}")


def call(
    emulator: EnosEmulatorHandle,
    method: str,
    path: str,
    params: dict[str, Any],
    body: Any = None,
    token: str | None = None,
    secret: str = APP_SECRET,
    sent_body: bytes | None = None,
    stamp: int | None = None,
) -> requests.Response:
    """A signed call; ``sent_body`` sends other bytes than the signed ones (a tampered body)."""
    token = get_token(emulator) if token is None else token
    raw = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = int(time.time() * 1000) if stamp is None else stamp
    headers = {
        "apim-accesstoken": token,
        "apim-timestamp": str(stamp),
        "apim-signature": signature(token, params, raw, stamp, secret),
        "Content-Type": "application/json",
    }
    data = raw if sent_body is None else sent_body
    return requests.request(
        method, emulator.url + path, params=params, data=data or None, headers=headers, timeout=5
    )


def api(
    emulator: EnosEmulatorHandle, method: str, path: str, params: dict[str, Any], body: Any = None, **kw: Any
) -> Any:
    """A signed call answered HTTP 200; returns the envelope."""
    reply = call(emulator, method, path, params, body, **kw)
    assert reply.status_code == 200, reply.text
    envelope = reply.json()
    assert list(envelope) == ["code", "msg", "requestId", "data"]
    return envelope


def operate(emulator: EnosEmulatorHandle, pipeline_id: str, action: str, body: Any = None, **kw: Any) -> Any:
    return api(emulator, "POST", PIPELINE + pipeline_id, {"action": action, "orgId": ORG}, body, **kw)


def start(emulator: EnosEmulatorHandle, pipeline_id: str, body: Any = STANDALONE, **kw: Any) -> Any:
    return operate(emulator, pipeline_id, "start", body, **kw)


def listed_status(emulator: EnosEmulatorHandle, pipeline_id: str, token: str) -> str:
    """The pipeline's status as a client sees it: walk the list's pages."""
    page = 1
    while True:
        data = api(emulator, "GET", PIPELINES, {"orgId": ORG, "pageSize": 10, "pageNo": page}, token=token)[
            "data"
        ]
        for item in data["pipelines"]:
            if item["pipelineId"] == pipeline_id:
                status: str = item["status"]
                return status
        assert data["pipelines"], f"{pipeline_id} not listed"
        page += 1


def wait_pipeline(emulator: EnosEmulatorHandle, pipeline_id: str, wanted: str, token: str) -> None:
    deadline = time.monotonic() + 3
    while listed_status(emulator, pipeline_id, token) != wanted:
        assert time.monotonic() < deadline, f"{pipeline_id} never reached {wanted}"
        time.sleep(0.02)


def trigger(emulator: EnosEmulatorHandle, body: dict[str, Any], action: str = "trigger", **kw: Any) -> Any:
    return api(emulator, "POST", FLOWS, {"action": action, "userId": USER, "orgId": ORG}, body, **kw)


def instance(emulator: EnosEmulatorHandle, instance_id: str, token: str) -> Any:
    params = {"action": "get", "flowInstId": instance_id, "userId": USER, "orgId": ORG}
    return api(emulator, "GET", INSTANCES, params, token=token)


def wait_instance(emulator: EnosEmulatorHandle, instance_id: str, status: int, token: str) -> dict[str, Any]:
    deadline = time.monotonic() + 3
    while True:
        data: dict[str, Any] = instance(emulator, instance_id, token)["data"]
        if data["status"] == status:
            return data
        assert time.monotonic() < deadline, f"{instance_id} never reached {status}: {data}"
        time.sleep(0.02)


# ----- token service -----


def test_token_get_same_token_and_errors(enos_emulator: EnosEmulatorHandle) -> None:
    stamp = fresh_ms()
    first = token_request(enos_emulator, timestamp=stamp)
    assert first["status"] == 0 and first["msg"] == "SUCCESS"
    assert set(first["data"]) == {"accessToken", "expire"} and first["data"]["expire"] == 7200
    token = first["data"]["accessToken"]
    again = token_request(enos_emulator)
    assert again["data"]["accessToken"] == token and 0 < again["data"]["expire"] <= 7200
    assert token_request(enos_emulator, timestamp=stamp) == {
        "status": 1001,
        "msg": "encryption reused",
        "data": None,
    }
    assert token_request(enos_emulator, secret="wrong")["status"] == 1003
    assert token_request(enos_emulator, app_key="nobody")["status"] == 1002
    assert token_request(enos_emulator, timestamp=fresh_ms() - 6 * 60 * 1000)["status"] == 1004
    assert token_request(enos_emulator, timestamp=int(time.time()))["status"] == 1004  # seconds, not ms
    missing = requests.post(enos_emulator.url + TOKEN_GET, json={"appKey": APP_KEY}, timeout=5).json()
    assert missing["status"] == 1005 and "encryption" in missing["msg"]
    stats = enos_emulator.stats()
    assert (stats["tokens_issued"], stats["token_gets"], stats["token_errors"]) == (1, 2, 6)
    assert stats["requests"]["POST token_get"] == 8


def test_token_expiry_and_refresh(enos_emulator: EnosEmulatorHandle) -> None:
    enos_emulator.config.token_seconds = 0.2
    token = get_token(enos_emulator)
    params = {"orgId": ORG}
    time.sleep(0.25)
    expired = call(enos_emulator, "GET", PIPELINES, params, token=token)
    assert (expired.status_code, expired.json()) == (401, {"status": 1203, "msg": "token expired"})
    renewed = get_token(enos_emulator)
    assert renewed != token
    enos_emulator.config.token_seconds = 7200
    renewed = get_token(enos_emulator)  # the 0.2 s one may have expired meanwhile: either way valid
    refreshed = token_request(enos_emulator, TOKEN_REFRESH, accessToken=renewed)
    assert refreshed["status"] == 0 and refreshed["data"]["expire"] == 7200
    new = refreshed["data"]["accessToken"]
    assert new != renewed
    old = call(enos_emulator, "GET", PIPELINES, params, token=renewed)
    assert (old.status_code, old.json()) == (401, {"status": 1202, "msg": "token invalid"})
    assert call(enos_emulator, "GET", PIPELINES, params, token=new).status_code == 200
    assert get_token(enos_emulator) == new  # token/get now answers the refreshed token
    assert token_request(enos_emulator, TOKEN_REFRESH, accessToken=renewed)["status"] == 1202
    assert token_request(enos_emulator, TOKEN_REFRESH)["status"] == 1005  # no accessToken
    assert enos_emulator.stats()["token_refreshes"] == 1


# ----- gateway signatures -----


def test_signatures(enos_emulator: EnosEmulatorHandle) -> None:
    token = get_token(enos_emulator)
    params = {"orgId": ORG, "pageSize": 5, "pageNo": 1, "note": "a b/é&x=1"}  # values signed decoded
    assert call(enos_emulator, "GET", PIPELINES, params, token=token).status_code == 200
    wrong = call(enos_emulator, "GET", PIPELINES, params, token=token, secret="not-the-secret")
    assert (wrong.status_code, wrong.json()) == (401, {"status": 1204, "msg": "signature invalid"})
    assert wrong.headers["X-Emulator-Reason"].startswith("signature mismatch")
    body = {"flowId": 123, "triggerTime": 0}
    params = {"action": "trigger", "userId": USER, "orgId": ORG}
    tampered = call(enos_emulator, "POST", FLOWS, params, body, token=token, sent_body=b'{"flowId": 124}')
    assert tampered.json()["status"] == 1204
    # The exact bytes are signed: the same JSON with other spacing is another body.
    spaced = call(
        enos_emulator, "POST", FLOWS, params, body, token=token, sent_body=json.dumps(body, indent=1).encode()
    )
    assert spaced.json()["status"] == 1204
    assert enos_emulator.stats()["flow_triggers"] == 0
    # Parameters are sorted before signing: their order in the URL does not matter.
    stamp = int(time.time() * 1000)
    listing = {"pageSize": "3", "orgId": ORG, "pageNo": "2"}
    headers = {
        "apim-accesstoken": token,
        "apim-timestamp": str(stamp),
        "apim-signature": signature(token, listing, b"", stamp),
    }
    for order in (["pageSize", "orgId", "pageNo"], ["pageNo", "pageSize", "orgId"]):
        query = urlencode([(name, listing[name]) for name in order])
        reply = requests.get(f"{enos_emulator.url}{PIPELINES}?{query}", headers=headers, timeout=5)
        assert reply.status_code == 200 and len(reply.json()["data"]["pipelines"]) == 3
    # The handle's helpers agree with the computation above.
    assert enos_emulator.sign(token, listing, b"", stamp) == headers["apim-signature"]
    assert enos_emulator.encryption(stamp) == sha(f"{APP_KEY}{stamp}{APP_SECRET}")
    signed = enos_emulator.signed_headers(token, {"orgId": ORG})
    assert requests.get(enos_emulator.url + PIPELINES, params={"orgId": ORG}, headers=signed, timeout=5).ok
    # Missing or wrong headers.
    bare = requests.get(enos_emulator.url + PIPELINES, params={"orgId": ORG}, timeout=5)
    assert (bare.status_code, bare.json()) == (401, {"status": 1202, "msg": "token invalid"})
    unknown = call(enos_emulator, "GET", PIPELINES, {"orgId": ORG}, token="not-a-token")
    assert unknown.json()["status"] == 1202
    seconds = call(enos_emulator, "GET", PIPELINES, {"orgId": ORG}, token=token, stamp=int(time.time()))
    assert seconds.json()["status"] == 1204 and "milliseconds" in seconds.headers["X-Emulator-Reason"]
    no_signature = requests.get(
        enos_emulator.url + PIPELINES,
        params={"orgId": ORG},
        headers={"apim-accesstoken": token, "apim-timestamp": str(stamp)},
        timeout=5,
    )
    assert no_signature.json()["status"] == 1204
    stats = enos_emulator.stats()
    assert stats["signature_failures"] == 5 and stats["token_failures"] == 2
    # The token service itself needs no signature; unknown paths answer 404 whatever the headers.
    assert requests.get(enos_emulator.url + "/streaming/v9/nope", timeout=5).status_code == 404


def test_reject_first_token_use(enos_emulator: EnosEmulatorHandle) -> None:
    token = get_token(enos_emulator)
    enos_emulator.config.reject_first_token_use = 1
    first = call(enos_emulator, "GET", PIPELINES, {"orgId": ORG}, token=token)
    assert (first.status_code, first.json()) == (401, {"status": 1203, "msg": "token expired"})
    # The token really ended: the same token keeps failing, and the token service issues a new one.
    assert call(enos_emulator, "GET", PIPELINES, {"orgId": ORG}, token=token).json()["status"] == 1203
    fresh = get_token(enos_emulator)
    assert fresh != token
    assert call(enos_emulator, "GET", PIPELINES, {"orgId": ORG}, token=fresh).status_code == 200
    stats = enos_emulator.stats()
    assert stats["forced_token_expiries"] == 1 and stats["tokens_issued"] == 2


# ----- streaming -----


def test_start_pause_resume_stop(enos_emulator: EnosEmulatorHandle) -> None:
    token = get_token(enos_emulator)
    enos_emulator.config.start_seconds = 0.3  # room for a request on a busy machine
    started = start(enos_emulator, "pl-demo-1", token=token)
    assert started == {"code": 0, "msg": "OK", "requestId": started["requestId"], "data": ""}
    assert listed_status(enos_emulator, "pl-demo-1", token) == "PUBLISHED"  # still starting
    assert enos_emulator.pipeline("pl-demo-1")["operation"] == "start"
    wait_pipeline(enos_emulator, "pl-demo-1", "RUNNING", token)
    assert enos_emulator.pipeline("pl-demo-1")["operation"] is None
    assert start(enos_emulator, "pl-demo-1", token=token)["code"] == 61165  # already running
    assert operate(enos_emulator, "pl-demo-1", "pause", token=token)["code"] == 0
    assert listed_status(enos_emulator, "pl-demo-1", token) == "PAUSED"
    assert (
        operate(enos_emulator, "pl-demo-1", "pause", token=token)["msg"]
        == "cannot change from [PAUSED] to Paused"
    )
    assert start(enos_emulator, "pl-demo-1", CLUSTER, token=token)["code"] == 0  # resume
    wait_pipeline(enos_emulator, "pl-demo-1", "RUNNING", token)
    enos_emulator.config.stop_seconds = 0.3
    assert operate(enos_emulator, "pl-demo-1", "stop", token=token)["data"] == ""
    assert listed_status(enos_emulator, "pl-demo-1", token) == "RUNNING"  # still stopping
    assert operate(enos_emulator, "pl-demo-1", "stop", token=token)["code"] == 0  # stopping: accepted
    wait_pipeline(enos_emulator, "pl-demo-1", "STOPPED", token)
    stopped = operate(enos_emulator, "pl-demo-1", "stop", token=token)
    assert (stopped["code"], stopped["msg"]) == (61152, "cannot change from [STOPPED] to Stopped")
    assert operate(enos_emulator, "pl-stopped-5", "stop", token=token)["code"] == 61152
    assert operate(enos_emulator, "pl-demo-1", "release", token=token)["code"] == 0
    assert operate(enos_emulator, "pl-demo-1", "save", token=token)["code"] == 0
    assert enos_emulator.pipeline("pl-demo-1")["status"] == "STOPPED"
    assert operate(enos_emulator, "pl-running-3", "stop", token=token)["code"] == 0  # seeded RUNNING
    assert operate(enos_emulator, "pl-paused-4", "stop", token=token)["code"] == 0  # seeded PAUSED
    stats = enos_emulator.stats()
    assert (stats["starts"], stats["stops"], stats["pauses"]) == (2, 4, 1)
    assert (stats["releases"], stats["saves"]) == (1, 1)
    assert stats["starts_by_pipeline"] == {"pl-demo-1": 2}
    assert stats["errors"] == {"61165": 1, "61152": 3}
    assert stats["actions"]["start"] == 3


def test_update_time_and_request_ids(enos_emulator: EnosEmulatorHandle) -> None:
    token = get_token(enos_emulator)
    enos_emulator.config.start_seconds = 0.4
    before = enos_emulator.pipeline("pl-demo-1")["updateTime"]
    first, second = (
        start(enos_emulator, "pl-demo-1", token=token),
        start(enos_emulator, "pl-demo-1", token=token),
    )
    assert first["requestId"] != second["requestId"] and len(first["requestId"]) == 36
    assert second["code"] == 61121  # its own start is in progress
    assert enos_emulator.pipeline("pl-demo-1")["updateTime"] == before  # unchanged while starting
    wait_pipeline(enos_emulator, "pl-demo-1", "RUNNING", token)
    assert enos_emulator.pipeline("pl-demo-1")["updateTime"] > before


def test_start_errors(enos_emulator: EnosEmulatorHandle) -> None:
    token = get_token(enos_emulator)

    def code(pipeline_id: str, body: Any, **params: str) -> tuple[int, str]:
        query = {"action": "start", "orgId": ORG, **params}
        envelope = api(enos_emulator, "POST", PIPELINE + pipeline_id, query, body, token=token)
        return envelope["code"], envelope["msg"]

    enos_emulator.config.start_seconds = 0.4  # room for the "one start at a time" check below

    assert code("pl-demo-1", b"{not json")[0] == 61100
    assert code("pl-demo-1", None)[0] == 61100
    assert code("pl-demo-1", {"executionMode": 0})[0] == 61100  # no kafkaRate
    assert code("pl-demo-1", {"executionMode": 2, "kafkaRate": 1000})[0] == 61100
    assert code("pl-demo-1", {**STANDALONE, "resourceConfig": {"server": "many"}})[0] == 61100
    assert code("pl-nope", STANDALONE) == (61108, "stream processing pipeline does not exit.")
    assert "pl-nope" not in {p["pipelineId"] for p in enos_emulator.pipelines()}  # not created on use
    assert code("pl-running-3", STANDALONE) == (
        61165,
        "Stream processing job with status [RUNNING] cannot be started.",
    )
    assert code("pl-nocluster-6", CLUSTER)[0] == 61128
    assert code("pl-demo-1", {**STANDALONE, "resourceConfig": {"server": 9}})[0] == 61126
    assert code("pl-demo-1", {**STANDALONE, "resourceConfig": {"server": "8"}})[0] == 0  # 8 is the limit
    # One start at a time in the organization: another pipeline waits until the first has started.
    busy = code("pl-nocluster-6", STANDALONE)
    assert busy[0] == 61121 and "try again later" in busy[1]
    wait_pipeline(enos_emulator, "pl-demo-1", "RUNNING", token)
    enos_emulator.config.busy_starts = 2
    assert code("pl-nocluster-6", STANDALONE)[0] == 61121
    assert code("pl-nocluster-6", STANDALONE)[0] == 61121
    assert code("pl-nocluster-6", STANDALONE)[0] == 0  # standalone mode is fine without a cluster
    assert code("pl-demo-1", STANDALONE, orgId="o-other")[0] == 62101
    assert code("pl-demo-1", STANDALONE, action="explode")[0] == 99400
    stats = enos_emulator.stats()
    assert stats["starts"] == 2
    assert stats["errors"] == {
        "61100": 5,
        "61108": 1,
        "61165": 1,
        "61128": 1,
        "61126": 1,
        "61121": 3,
        "62101": 1,
        "99400": 1,
    }


def test_concurrent_starts_when_allowed(enos_emulator: EnosEmulatorHandle) -> None:
    token = get_token(enos_emulator)
    enos_emulator.config.one_start_at_a_time = False
    assert start(enos_emulator, "pl-demo-1", token=token)["code"] == 0
    assert start(enos_emulator, "pl-sample-7", token=token)["code"] == 0


def test_crash_falls_back_to_stopped(enos_emulator: EnosEmulatorHandle) -> None:
    token = get_token(enos_emulator)
    assert start(enos_emulator, "pl-crash-2", token=token)["code"] == 0
    assert enos_emulator.pipeline("pl-crash-2")["status"] == "PUBLISHED"
    wait_pipeline(enos_emulator, "pl-crash-2", "STOPPED", token)
    time.sleep(0.05)
    assert enos_emulator.pipeline("pl-crash-2")["status"] == "STOPPED"  # never RUNNING
    assert start(enos_emulator, "pl-crash-2", token=token)["code"] == 0  # STOPPED can be started again


def test_list_pages_and_offset_lag(enos_emulator: EnosEmulatorHandle) -> None:
    token = get_token(enos_emulator)
    first = api(enos_emulator, "GET", PIPELINES, {"orgId": ORG}, token=token)["data"]
    assert first["count"] == 25 and len(first["pipelines"]) == 10  # default page size 10, page 1
    assert first["pipelines"][0] == {
        "pipelineId": "pl-demo-1",
        "pipelineName": "demo-1",
        "status": "PUBLISHED",
        "version": 1,
        "updateTime": first["pipelines"][0]["updateTime"],
    }
    assert isinstance(first["pipelines"][0]["updateTime"], int)
    seen: list[str] = []
    page = 1
    while True:
        params = {"orgId": ORG, "pageSize": 7, "pageNo": page}
        data = api(enos_emulator, "GET", PIPELINES, params, token=token)["data"]
        assert data["count"] == 25
        if not data["pipelines"]:
            break
        seen += [item["pipelineId"] for item in data["pipelines"]]
        page += 1
    assert page == 5 and len(seen) == len(set(seen)) == 25
    assert seen[:6] == [
        "pl-demo-1",
        "pl-crash-2",
        "pl-running-3",
        "pl-paused-4",
        "pl-stopped-5",
        "pl-nocluster-6",
    ]
    assert seen[-1] == "pl-sample-25"
    statuses = {item["pipelineId"]: item["status"] for item in enos_emulator.pipelines()}
    assert statuses["pl-running-3"] == "RUNNING" and statuses["pl-paused-4"] == "PAUSED"
    for bad in ({"pageSize": 0}, {"pageNo": "x"}, {"pageSize": 5000}):
        assert api(enos_emulator, "GET", PIPELINES, {"orgId": ORG, **bad}, token=token)["code"] == 99400
    assert api(enos_emulator, "GET", PIPELINES, {}, token=token)["code"] == 62101  # no orgId
    lag = api(enos_emulator, "GET", PIPELINE + "pl-running-3/offset-lag", {"orgId": ORG}, token=token)
    assert (lag["code"], lag["data"]) == (0, {"lag": 42})
    missing = api(enos_emulator, "GET", PIPELINE + "pl-nope/offset-lag", {"orgId": ORG}, token=token)
    assert missing["code"] == 61108
    stats = enos_emulator.stats()
    assert stats["list_calls"] == 6 and stats["offset_lag_calls"] == 2


# ----- batch flows -----


def test_trigger_get_success_and_parameters(enos_emulator: EnosEmulatorHandle) -> None:
    token = get_token(enos_emulator)
    enos_emulator.config.init_seconds = 0.3
    first = trigger(enos_emulator, {"flowId": 123, "triggerTime": 0}, token=token)
    assert first["code"] == 0 and first["data"] == {"flowInstanceId": "123-19700101000000"}
    again = trigger(enos_emulator, {"flowId": 123, "triggerTime": 0}, token=token)["data"]["flowInstanceId"]
    assert again == "123-19700101000000-2"  # unique per trigger
    params = [{"key": "day", "value": "2024-01-01"}, {"key": "limit", "value": 5}]
    updated = trigger(
        enos_emulator,
        {"flowId": 2123, "triggerTime": 86_400_000, "parameters": params},
        "updateAndTrigger",
        token=token,
    )["data"]["flowInstanceId"]
    assert updated == "2123-19700102000000"
    pending = instance(enos_emulator, "123-19700101000000", token)["data"]
    assert (pending["status"], pending["statusDesc"], pending["endTime"]) == (0, "INIT", None)
    assert [task["status"] for task in pending["graph"]["tasks"]] == [0, 0]
    done = wait_instance(enos_emulator, "123-19700101000000", 1, token)
    assert set(done) == {
        "flowInstId",
        "flowId",
        "status",
        "statusDesc",
        "triggerTime",
        "startTime",
        "endTime",
        "parameters",
        "graph",
    }
    assert (done["flowId"], done["statusDesc"], done["parameters"]) == (123, "SUCCESS", [])
    assert abs(done["endTime"] - done["startTime"] - 600) <= 1  # INIT 0.3 s + RUNNING 0.3 s
    tasks = done["graph"]["tasks"]
    assert [(task["name"], task["status"], task["statusDesc"]) for task in tasks] == [
        ("extract", 1, "SUCCESS"),
        ("load", 1, "SUCCESS"),
    ]
    assert done["graph"]["edges"] == [{"from": tasks[0]["taskId"], "to": tasks[1]["taskId"]}]
    assert "task load succeeded" in tasks[1]["log"]
    assert wait_instance(enos_emulator, updated, 1, token)["parameters"] == params
    assert enos_emulator.flow_instance(updated)["parameters"] == params
    assert [record["flowInstId"] for record in enos_emulator.flow_instances()] == [
        updated,
        again,
        "123-19700101000000",
    ]
    stats = enos_emulator.stats()
    assert stats["flow_triggers"] == 3 and stats["flow_triggers_by_flow"] == {"123": 2, "2123": 1}
    assert stats["actions"]["updateAndTrigger"] == 1 and stats["flow_gets"] >= 3


@pytest.mark.parametrize(
    ("flow_id", "status", "desc"), [(401, 4, "INTERNAL_ERROR"), (1702, 7, "TIMEOUT"), (355, -1, "FAIL")]
)
def test_flow_failures(enos_emulator: EnosEmulatorHandle, flow_id: int, status: int, desc: str) -> None:
    token = get_token(enos_emulator)
    instance_id = trigger(enos_emulator, {"flowId": flow_id, "triggerTime": fresh_ms()}, token=token)["data"][
        "flowInstanceId"
    ]
    running = wait_instance(enos_emulator, instance_id, 2, token)
    assert running["statusDesc"] == "RUNNING" and running["graph"]["tasks"][0]["status"] in (2, 1)
    failed = wait_instance(enos_emulator, instance_id, status, token)
    assert failed["statusDesc"] == desc and failed["endTime"] is not None
    extract, load = failed["graph"]["tasks"]
    assert extract["status"] == 1
    assert (load["status"], load["statusDesc"]) == (status, desc)
    assert f"ERROR task load failed: {desc}" in load["log"]


def test_flow_errors(enos_emulator: EnosEmulatorHandle) -> None:
    token = get_token(enos_emulator)
    no_task = trigger(enos_emulator, {"flowId": 0, "triggerTime": 0}, token=token)
    assert (no_task["code"], no_task["msg"]) == (62104, "flow has no task")
    assert trigger(enos_emulator, {"flowId": "abc"}, token=token)["code"] == 99400
    assert (
        trigger(enos_emulator, {"flowId": 1, "parameters": "x"}, "updateAndTrigger", token=token)["code"]
        == 99400
    )
    wrong_user = api(
        enos_emulator,
        "POST",
        FLOWS,
        {"action": "trigger", "userId": "u-x", "orgId": ORG},
        {"flowId": 1},
        token=token,
    )
    assert wrong_user["code"] == 62101
    wrong_org = api(
        enos_emulator,
        "POST",
        FLOWS,
        {"action": "trigger", "userId": USER, "orgId": "o-x"},
        {"flowId": 1},
        token=token,
    )
    assert wrong_org["code"] == 62101
    unknown = instance(enos_emulator, "1-19700101000000", token)
    assert unknown["code"] == 62109 and unknown["data"] is None
    assert enos_emulator.stats()["flow_triggers"] == 0


def test_cancel(enos_emulator: EnosEmulatorHandle) -> None:
    token = get_token(enos_emulator)
    cancel_params = {"action": "cancel", "userId": USER, "orgId": ORG}
    long_id = trigger(enos_emulator, {"flowId": 901, "triggerTime": fresh_ms()}, token=token)["data"][
        "flowInstanceId"
    ]
    wait_instance(enos_emulator, long_id, 2, token)
    time.sleep(0.3)
    assert instance(enos_emulator, long_id, token)["data"]["status"] == 2  # 9xx: long-running
    cancelled = api(enos_emulator, "POST", INSTANCES, cancel_params, {"flowInstId": long_id}, token=token)
    assert cancelled["code"] == 0
    data = instance(enos_emulator, long_id, token)["data"]
    assert (data["status"], data["statusDesc"]) == (8, "CANCEL") and data["endTime"] is not None
    assert [task["statusDesc"] for task in data["graph"]["tasks"]] == ["CANCEL", "CANCEL"]
    assert "cancelled" in data["graph"]["tasks"][0]["log"]
    again = api(enos_emulator, "POST", INSTANCES, cancel_params, {"flowInstId": long_id}, token=token)
    assert again["code"] == 62109 and "CANCEL" in again["msg"]
    quick = trigger(enos_emulator, {"flowId": 5, "triggerTime": fresh_ms()}, token=token)["data"][
        "flowInstanceId"
    ]
    wait_instance(enos_emulator, quick, 1, token)
    ended = api(enos_emulator, "POST", INSTANCES, cancel_params, {"flowInstId": quick}, token=token)
    assert ended["code"] == 62109 and "SUCCESS" in ended["msg"]
    unknown = api(enos_emulator, "POST", INSTANCES, cancel_params, {"flowInstId": "nope"}, token=token)
    assert unknown["code"] == 62109
    assert enos_emulator.stats()["flow_cancels"] == 1


# ----- faults, control API, CLI -----


def test_faults(enos_emulator: EnosEmulatorHandle) -> None:
    enos_emulator.add_fault("POST", r"/token/get$", 503)
    faulted = requests.post(enos_emulator.url + TOKEN_GET, json={}, timeout=5)
    assert faulted.status_code == 503
    token = get_token(enos_emulator)
    enos_emulator.add_fault("POST", r"/pipeline/", 429, retry_after=0.05)
    throttled = call(
        enos_emulator,
        "POST",
        PIPELINE + "pl-demo-1",
        {"action": "start", "orgId": ORG},
        STANDALONE,
        token=token,
    )
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "0.05")
    assert enos_emulator.stats()["starts"] == 0
    enos_emulator.add_fault("GET", r"/pipelines$", "drop")
    with pytest.raises(requests.ConnectionError):
        call(enos_emulator, "GET", PIPELINES, {"orgId": ORG}, token=token)
    enos_emulator.add_fault(None, None, "slow", seconds=0.2)
    began = time.monotonic()
    assert start(enos_emulator, "pl-demo-1", token=token)["code"] == 0
    assert time.monotonic() - began >= 0.2
    enos_emulator.set_random_faults(1.0, ["malformed"], seed=1)
    with pytest.raises(ValueError):
        call(enos_emulator, "GET", PIPELINES, {"orgId": ORG}, token=token).json()
    assert requests.get(enos_emulator.url + "/_emulator/enos/pipelines", timeout=5).status_code == 200
    enos_emulator.clear_faults()
    assert call(enos_emulator, "GET", PIPELINES, {"orgId": ORG}, token=token).status_code == 200
    stats = enos_emulator.stats()
    assert stats["faults_injected"] == {"503": 1, "429": 1, "drop": 1, "slow": 1, "malformed": 1}
    assert stats["requests"]["POST operate_pipeline"] == 2 and stats["starts"] == 1


def test_control_routes_and_reset(enos_emulator: EnosEmulatorHandle) -> None:
    base = enos_emulator.url
    token = get_token(enos_emulator)
    enos_emulator.config.start_seconds = 60
    assert start(enos_emulator, "pl-demo-1", token=token)["code"] == 0
    listed = requests.get(f"{base}/_emulator/enos/pipelines", timeout=5).json()
    assert len(listed) == 25 and listed[0]["operation"] == "start" and listed[0]["status"] == "PUBLISHED"
    put = requests.put(
        f"{base}/_emulator/enos/pipelines/pl-extra", json={"status": "running", "lag": 7}, timeout=5
    )
    assert put.status_code == 200 and put.json()["status"] == "RUNNING"
    assert (
        requests.put(f"{base}/_emulator/enos/pipelines/x", json={"status": "NOPE"}, timeout=5).status_code
        == 400
    )
    assert enos_emulator.add_pipeline("pl-mine", "Mine", "PAUSED")["pipelineName"] == "Mine"
    lag = api(enos_emulator, "GET", PIPELINE + "pl-extra/offset-lag", {"orgId": ORG}, token=token)
    assert lag["data"] == {"lag": 7}
    instance_id = trigger(enos_emulator, {"flowId": 1, "triggerTime": 0}, token=token)["data"][
        "flowInstanceId"
    ]
    [flow] = requests.get(f"{base}/_emulator/enos/flow-instances", timeout=5).json()
    assert flow["flowInstId"] == instance_id
    minted = requests.post(f"{base}/_emulator/enos/token", timeout=5).json()
    assert minted["accessToken"] == token and 0 < minted["expire"] <= 7200
    assert enos_emulator.issue_token() == token
    assert requests.post(f"{base}/_emulator/reset", timeout=5).status_code == 200
    assert len(enos_emulator.pipelines()) == 25 and enos_emulator.flow_instances() == []
    assert enos_emulator.pipeline("pl-demo-1")["status"] == "PUBLISHED"
    with pytest.raises(KeyError):
        enos_emulator.pipeline("pl-extra")
    assert enos_emulator.config.start_seconds == 0.2
    stale = call(enos_emulator, "GET", PIPELINES, {"orgId": ORG}, token=token)
    assert stale.json()["status"] == 1202  # tokens do not survive a reset
    assert enos_emulator.stats()["requests"] == {"GET list_pipelines": 1}


def test_factory_settings(enos_emulator_factory: Callable[..., EnosEmulatorHandle]) -> None:
    emulator = enos_emulator_factory(
        app_key="k", app_secret="s", org_id="o1", user_id="u1", pipelines=[{"pipelineId": "only"}]
    )
    stamp = fresh_ms()
    body: dict[str, Any] = {"appKey": "k", "encryption": sha(f"k{stamp}s"), "timestamp": stamp}
    token = requests.post(emulator.url + TOKEN_GET, json=body, timeout=5).json()["data"]["accessToken"]
    data = api(emulator, "GET", PIPELINES, {"orgId": "o1"}, token=token, secret="s")["data"]
    assert data["count"] == 1 and [item["pipelineId"] for item in data["pipelines"]] == ["only"]
    params = {"action": "trigger", "userId": "u1", "orgId": "o1"}
    assert api(emulator, "POST", FLOWS, params, {"flowId": 1}, token=token, secret="s")["code"] == 0
    assert api(emulator, "GET", PIPELINES, {"orgId": ORG}, token=token, secret="s")["code"] == 62101


def test_static_token(enos_emulator_factory: Callable[..., EnosEmulatorHandle]) -> None:
    emulator = enos_emulator_factory(token="static-token")
    assert api(emulator, "GET", PIPELINES, {"orgId": ORG}, token="static-token")["code"] == 0
    unsigned = call(emulator, "GET", PIPELINES, {"orgId": ORG}, token="static-token", secret="x")
    assert unsigned.json()["status"] == 1204  # still signed with the app secret
    assert emulator.stats()["tokens_issued"] == 0


def test_cli_serves_and_stops_on_sigterm() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "airflow_provider_pipelines.emulators", "enos", "--port", "0"]
    command += ["--app-key", "K", "--app-secret", "S", "--org-id", "o9", "--start-seconds", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("enos emulator listening on http://127.0.0.1:")
            base = line.rsplit(" ", 1)[1]
            stamp = fresh_ms()
            body: dict[str, Any] = {"appKey": "K", "encryption": sha(f"K{stamp}S"), "timestamp": stamp}
            token = requests.post(base + TOKEN_GET, json=body, timeout=5).json()["data"]["accessToken"]
            params = {"action": "start", "orgId": "o9"}
            raw = json.dumps(STANDALONE).encode()
            stamp = int(time.time() * 1000)
            headers = {
                "apim-accesstoken": token,
                "apim-timestamp": str(stamp),
                "apim-signature": signature(token, params, raw, stamp, "S"),
            }
            started = requests.post(
                base + PIPELINE + "pl-demo-1", params=params, data=raw, headers=headers, timeout=5
            )
            assert started.json()["code"] == 0
            stats = requests.get(base + "/_emulator/stats", timeout=5).json()
            assert stats["starts"] == 1
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
