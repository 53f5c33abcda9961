"""The Tailer emulator over real HTTP: what the provider's Tailer hook and trigger will be tested against."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_pipelines.emulators import pytest_plugin
from airflow_provider_pipelines.emulators.base import JwtError, decode_hs256_jwt, encode_hs256_jwt
from airflow_provider_pipelines.emulators.tailer import TailerEmulatorHandle

# The plugin's fixtures, also when the package's pytest11 entry point is not installed.
_tailer_emulator_session = pytest_plugin._tailer_emulator_session
tailer_emulator = pytest_plugin.tailer_emulator
tailer_emulator_factory = pytest_plugin.tailer_emulator_factory

LAUNCH, STATUS = "/v1/dag/launch", "/v1/dag/status"
WORKFLOW, CONFIGURATION = "/v1/workflow/status", "/v1/configuration/status"
SALES = {
    "account": "000099",
    "environment": "DEV",
    "configuration_type": "table-to-table",
    "configuration_id": "000099_sales_DEV",
}
OK = {"code": 200, "data": {}, "message": "ok"}
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$")
DURATION = re.compile(r"^\d+:\d{2}:\d{2}\.\d{6}$")
RECORD_KEYS = [
    "account",
    "configuration_id",
    "configuration_type",
    "duration",
    "environment",
    "job_id",
    "last_update_date",
    "run_id",
    "start_execution_date",
    "status",
    "execution_date",
]


def ident(configuration_id: str, configuration_type: str = "table-to-table", **fields: Any) -> dict[str, Any]:
    return {**SALES, "configuration_type": configuration_type, "configuration_id": configuration_id, **fields}


def post(
    emulator: TailerEmulatorHandle, path: str, body: Any, token: str | None = "mint"
) -> requests.Response:
    headers = {}
    if token == "mint":
        token = emulator.mint_jwt()
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(emulator.url + path, json=body, headers=headers, timeout=5)


def launch(emulator: TailerEmulatorHandle, identity: dict[str, Any] = SALES, **fields: Any) -> str:
    reply = post(emulator, LAUNCH, {"action": "launch_job", **identity, **fields})
    assert reply.status_code == 200, reply.text
    assert list(reply.json()) == ["run_id"]
    run_id: str = reply.json()["run_id"]
    return run_id


def check(emulator: TailerEmulatorHandle, run_id: str, identity: dict[str, Any] = SALES) -> list[Any]:
    prefix = "gbq-to-gcs" if identity["configuration_type"] == "table-to-storage" else "gbq-to-gbq"
    body = {
        "action": "check_run_status",
        **identity,
        "job_id": f"{prefix}|{identity['configuration_id']}",
        "run_id": run_id,
    }
    reply = post(emulator, STATUS, body)
    assert reply.status_code == 200, reply.text
    results: list[Any] = reply.json()["results"]
    return results


def wait_status(
    emulator: TailerEmulatorHandle, run_id: str, wanted: str, identity: dict[str, Any] = SALES
) -> dict[str, Any]:
    deadline = time.monotonic() + 3
    while True:
        results = check(emulator, run_id, identity)
        if results and results[0]["status"] == wanted:
            record: dict[str, Any] = results[0]
            return record
        assert time.monotonic() < deadline, f"run {run_id} never reached {wanted}: {results}"
        time.sleep(0.01)


def last_status(emulator: TailerEmulatorHandle, identity: dict[str, Any] = SALES, **filters: Any) -> Any:
    reply = post(emulator, STATUS, {"action": "get_last_status", **identity, **filters})
    assert reply.status_code == 200, reply.text
    return reply.json()["results"]


def test_launch_pending_running_success(tailer_emulator: TailerEmulatorHandle) -> None:
    tailer_emulator.config.pending_seconds = 0.3  # room for two requests on a busy machine
    before = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_id = launch(tailer_emulator)
    after = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    assert RUN_ID.match(run_id) and before <= run_id[:15] <= after
    assert check(tailer_emulator, run_id) == []  # documented: empty right after the launch
    assert last_status(tailer_emulator) == []
    assert tailer_emulator.run(run_id)["status"] == "PENDING"
    running = wait_status(tailer_emulator, run_id, "RUNNING")
    assert list(running) == RECORD_KEYS
    assert running == {
        **SALES,
        "duration": running["duration"],
        "job_id": "gbq-to-gbq|000099_sales_DEV",
        "last_update_date": running["start_execution_date"],
        "run_id": run_id,
        "start_execution_date": running["start_execution_date"],
        "status": "RUNNING",
        "execution_date": datetime.now(UTC).date().isoformat(),
    }
    done = wait_status(tailer_emulator, run_id, "SUCCESS")
    assert all(ISO.match(done[key]) for key in ("last_update_date", "start_execution_date"))
    assert DURATION.match(done["duration"]) and done["duration"] == "0:00:00.300000"
    started = datetime.fromisoformat(done["start_execution_date"])
    ended = datetime.fromisoformat(done["last_update_date"])
    assert (ended - started).total_seconds() == 0.3  # duration = last_update_date - start_execution_date
    assert done["start_execution_date"] == running["start_execution_date"]
    # The explicit job_id and execution_date are accepted; the run carries the execution date.
    second = launch(tailer_emulator, job_id="gbq-to-gbq|000099_sales_DEV", execution_date="2024-03-01")
    assert tailer_emulator.run(second)["execution_date"] == "2024-03-01"
    assert [record["run_id"] for record in tailer_emulator.runs()] == [second, run_id]
    stats = tailer_emulator.stats()
    assert stats["launches"] == 2 and stats["launches_by_configuration"] == {"000099_sales_DEV": 2}
    assert stats["status_checks"] >= 3 and stats["requests"]["POST dag_launch"] == 2
    assert stats["actions"]["launch_job"] == 2 and stats["actions"]["get_last_status"] == 1


def test_table_to_storage_and_job_id(tailer_emulator: TailerEmulatorHandle) -> None:
    export = ident("000099-export-sales", "table-to-storage")  # no environment suffix needed here
    run_id = launch(tailer_emulator, export)
    assert (
        wait_status(tailer_emulator, run_id, "SUCCESS", export)["job_id"] == "gbq-to-gcs|000099-export-sales"
    )
    wrong = post(tailer_emulator, LAUNCH, {"action": "launch_job", **SALES, "job_id": "gbq-to-gbq|other_DEV"})
    assert wrong.status_code == 400
    assert wrong.json()["message"].startswith("job_id 'gbq-to-gbq|other_DEV' does not match configuration")
    storage_id = post(tailer_emulator, LAUNCH, {"action": "launch_job", **export, "job_id": "gbq-to-gbq|x"})
    assert storage_id.status_code == 400
    # A known run under another identity or job id is invisible.
    assert check(tailer_emulator, run_id, ident("000099-export-sales", "table-to-storage", account="1")) == []
    body = {
        "action": "check_run_status",
        **export,
        "job_id": "gbq-to-gbq|000099-export-sales",
        "run_id": run_id,
    }
    assert post(tailer_emulator, STATUS, body).json() == {"results": []}
    assert check(tailer_emulator, "20200101-000000-unknown") == []
    assert tailer_emulator.stats()["launches"] == 1


def test_table_to_table_needs_the_environment_suffix(tailer_emulator: TailerEmulatorHandle) -> None:
    bare = ident("000099_sales")
    for body in (
        {"action": "launch_job", **bare},
        {"action": "launch_job", **ident("000099_sales_PROD")},
        {"action": "launch_job", **ident("000099_sales_dev")},
    ):
        reply = post(tailer_emulator, LAUNCH, body)
        assert reply.status_code == 404
        assert reply.json()["code"] == 404
        assert reply.json()["message"].startswith(f"configuration not found: {body['configuration_id']}")
    assert (
        "000099_sales_DEV"
        in post(tailer_emulator, LAUNCH, {"action": "launch_job", **bare}).json()["message"]
    )
    assert post(tailer_emulator, STATUS, {"action": "get_last_status", **bare}).status_code == 404
    change = {"action": "set_configuration_status", **bare, "activated": False, "archived": False}
    assert post(tailer_emulator, CONFIGURATION, change).status_code == 404
    assert tailer_emulator.runs() == [] and tailer_emulator.stats()["launches"] == 0


@pytest.mark.parametrize("configuration_type", ["workflow", "storage-to-storage", "table-to-tables"])
def test_only_table_jobs_can_be_launched(
    tailer_emulator: TailerEmulatorHandle, configuration_type: str
) -> None:
    reply = post(tailer_emulator, LAUNCH, {"action": "launch_job", **ident("x_DEV", configuration_type)})
    assert reply.status_code == 400
    assert reply.json() == {
        "code": 400,
        "message": f"configuration type '{configuration_type}' cannot be launched: "
        "only table-to-table and table-to-storage jobs can be",
    }


def test_outcomes_by_name(tailer_emulator: TailerEmulatorHandle) -> None:
    failing, unmatched, slow = (
        ident("000099_fail_load_DEV"),
        ident("000099_nomatch_DEV"),
        ident("000099_Long_DEV"),
    )
    runs = {
        name: launch(tailer_emulator, identity)
        for name, identity in [("failing", failing), ("unmatched", unmatched), ("slow", slow)]
    }
    assert (
        wait_status(tailer_emulator, runs["failing"], "FAILED", failing)["job_id"]
        == "gbq-to-gbq|000099_fail_load_DEV"
    )
    wait_status(tailer_emulator, runs["unmatched"], "NO_MATCH", unmatched)
    assert check(tailer_emulator, runs["slow"], slow)[0]["status"] == "RUNNING"  # 100 times running_seconds


def test_get_last_status_order_filters_and_limit(tailer_emulator: TailerEmulatorHandle) -> None:
    tailer_emulator.config.pending_seconds = 0
    tailer_emulator.config.running_seconds = 0
    oldest = launch(tailer_emulator, execution_date="2020-12-09")
    middle = launch(tailer_emulator, execution_date="2020-12-09")
    newest = launch(tailer_emulator)
    other = launch(tailer_emulator, ident("000099_other_DEV"), execution_date="2020-12-09")
    assert tailer_emulator.set_run_status(middle, "checked")["status"] == "CHECKED"
    assert [run["run_id"] for run in last_status(tailer_emulator)] == [newest, middle, oldest]
    dated = last_status(tailer_emulator, execution_date="2020-12-09")
    assert [run["run_id"] for run in dated] == [middle, oldest]
    success = last_status(tailer_emulator, execution_date="2020-12-09", status="SUCCESS", limit=2)
    assert [run["run_id"] for run in success] == [oldest]
    assert [run["run_id"] for run in last_status(tailer_emulator, limit=1)] == [newest]
    assert [run["run_id"] for run in last_status(tailer_emulator, ident("000099_other_DEV"))] == [other]
    assert last_status(tailer_emulator, execution_date="1999-01-01") == []
    tailer_emulator.config.pending_seconds = 5  # pending runs are not listed yet
    launch(tailer_emulator)
    assert len(last_status(tailer_emulator)) == 3 and len(tailer_emulator.runs()) == 5
    for bad in (
        {"limit": 0},
        {"limit": "2"},
        {"limit": True},
        {"status": "DONE"},
        {"execution_date": "2020-1-9"},
    ):
        reply = post(tailer_emulator, STATUS, {"action": "get_last_status", **SALES, **bad})
        assert reply.status_code == 400, bad
        assert reply.json()["code"] == 400 and reply.json()["message"]


def test_get_by_status_across_configurations(tailer_emulator: TailerEmulatorHandle) -> None:
    tailer_emulator.config.pending_seconds = 0
    tailer_emulator.config.running_seconds = 0
    good = launch(tailer_emulator, ident("000099_a_DEV"))
    bad = launch(tailer_emulator, ident("000099_b_fail_DEV"))
    prod = launch(tailer_emulator, ident("000099_c_PROD", environment="PROD"))
    launch(tailer_emulator, ident("000100_a_DEV", account="000100"))
    launch(tailer_emulator, ident("000099-export", "table-to-storage"))
    scope = {"account": "000099", "configuration_type": "table-to-table"}

    def by_status(**filters: Any) -> list[str]:
        reply = post(tailer_emulator, STATUS, {"action": "get_by_status", **scope, **filters})
        assert reply.status_code == 200, reply.text
        return [run["run_id"] for run in reply.json()["results"]]

    assert by_status() == [prod, bad, good]
    assert by_status(status="FAILED") == [bad]
    assert by_status(status="SUCCESS", limit=1) == [prod]
    assert by_status(environment="DEV") == [bad, good]
    assert by_status(execution_date="2001-01-01") == []
    missing = post(tailer_emulator, STATUS, {"action": "get_by_status", "account": "000099"})
    assert missing.json() == {"code": 400, "message": "missing field: configuration_type"}


def test_set_run_status_checked(tailer_emulator: TailerEmulatorHandle) -> None:
    failing = ident("000099_fail_DEV")
    tailer_emulator.config.pending_seconds = 0.3
    run_id = launch(tailer_emulator, failing)
    body = {"action": "set_run_status", **failing, "run_id": run_id, "status": "CHECKED"}
    pending = post(tailer_emulator, STATUS, body)  # not visible yet
    assert (pending.status_code, pending.json()) == (
        404,
        {"code": 404, "message": f"run not found: {run_id}"},
    )
    wait_status(tailer_emulator, run_id, "FAILED", failing)
    reply = post(tailer_emulator, STATUS, body)
    assert (reply.status_code, reply.json()) == (200, OK)
    checked = check(tailer_emulator, run_id, failing)[0]
    assert checked["status"] == "CHECKED" and checked["last_update_date"] > checked["start_execution_date"]
    unknown = post(tailer_emulator, STATUS, {**body, "run_id": "20200101-000000-nope"})
    assert unknown.status_code == 404
    elsewhere = post(tailer_emulator, STATUS, {**body, "configuration_id": "000099_other_DEV"})
    assert elsewhere.status_code == 404
    assert post(tailer_emulator, STATUS, {**body, "status": "DONE"}).status_code == 400
    assert (
        post(tailer_emulator, STATUS, {**body, "status": None}).json()["message"] == "missing field: status"
    )


def test_reset_workflow_status(tailer_emulator: TailerEmulatorHandle) -> None:
    flow = ident("000099-iowa-liquor-load-pda", "workflow")
    reply = post(tailer_emulator, WORKFLOW, {"action": "reset_workflow_status", **flow})
    assert (reply.status_code, reply.json()) == (200, OK)
    table = post(tailer_emulator, WORKFLOW, {"action": "reset_workflow_status", **SALES})
    assert table.status_code == 400 and "workflow" in table.json()["message"]
    wrong_path = post(tailer_emulator, STATUS, {"action": "reset_workflow_status", **flow})
    assert wrong_path.status_code == 400
    stats = tailer_emulator.stats()
    assert stats["workflow_resets"] == 1
    assert stats["workflow_resets_by_configuration"] == {"000099-iowa-liquor-load-pda": 1}


def test_set_configuration_status_refuses_launch(tailer_emulator: TailerEmulatorHandle) -> None:
    def set_status(activated: Any, archived: Any) -> requests.Response:
        body = {"action": "set_configuration_status", **SALES, "activated": activated, "archived": archived}
        return post(tailer_emulator, CONFIGURATION, body)

    assert (set_status(False, False).status_code, set_status(False, False).json()) == (200, OK)
    refused = post(tailer_emulator, LAUNCH, {"action": "launch_job", **SALES})
    assert refused.status_code == 409
    assert refused.json()["message"].startswith("configuration is not active: 000099_sales_DEV")
    assert set_status(True, True).status_code == 200  # archived: still refused
    assert post(tailer_emulator, LAUNCH, {"action": "launch_job", **SALES}).status_code == 409
    assert set_status(True, False).status_code == 200
    launch(tailer_emulator)
    launch(tailer_emulator, ident("000099_other_DEV"))  # other configurations are untouched
    for activated, archived in ((None, False), ("true", False), (True, 0)):
        bad = set_status(activated, archived)
        assert bad.status_code == 400 and "must be true or false" in bad.json()["message"]
    assert {
        (c["configuration_id"], c["activated"], c["archived"]) for c in tailer_emulator.configurations()
    } == {
        ("000099_sales_DEV", True, False),
        ("000099_other_DEV", True, False),
    }
    assert tailer_emulator.stats()["configuration_changes"] == 4


def test_request_validation(tailer_emulator: TailerEmulatorHandle) -> None:
    cases: list[tuple[str, Any, str]] = [
        (
            LAUNCH,
            {"action": "check_run_status", **SALES},
            'unknown action "check_run_status" for /v1/dag/launch',
        ),
        (STATUS, {"action": "launch_job", **SALES}, 'unknown action "launch_job" for /v1/dag/status'),
        (CONFIGURATION, {**SALES}, "missing field: action"),
        (LAUNCH, {"action": ["launch_job"], **SALES}, "unknown action"),
        (
            LAUNCH,
            {"action": "launch_job", "account": "000099"},
            "missing fields: environment, configuration_type",
        ),
        (LAUNCH, {"action": "launch_job", **SALES, "account": 99}, "field 'account' must be a string"),
        (LAUNCH, [1, 2], "the body must be a JSON object"),
        (LAUNCH, {"action": "launch_job", **SALES, "execution_date": "2024-02-30"}, "execution_date must be"),
        (STATUS, {"action": "check_run_status", **SALES, "run_id": "x"}, "missing field: job_id"),
    ]
    for path, body, message in cases:
        reply = post(tailer_emulator, path, body)
        assert reply.status_code == 400, (path, body)
        assert reply.json()["code"] == 400 and message in reply.json()["message"], reply.json()
    garbled = requests.post(
        tailer_emulator.url + LAUNCH,
        data="{not json",
        headers={"Authorization": f"Bearer {tailer_emulator.mint_jwt()}"},
        timeout=5,
    )
    assert garbled.json() == {"code": 400, "message": "the body is not valid JSON"}
    auth = {"Authorization": f"Bearer {tailer_emulator.mint_jwt()}"}
    wrong_method = requests.get(tailer_emulator.url + STATUS, headers=auth, timeout=5)
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, 405)
    unknown = requests.post(tailer_emulator.url + "/v2/dag/launch", json={}, timeout=5)
    assert unknown.json() == {"code": 404, "message": "not found: /v2/dag/launch"}
    assert tailer_emulator.runs() == []


def test_jwt_checks(tailer_emulator: TailerEmulatorHandle) -> None:
    body = {"action": "get_last_status", **SALES}
    assert post(tailer_emulator, STATUS, body, tailer_emulator.mint_jwt(60, subject="me")).status_code == 200
    expired = post(tailer_emulator, STATUS, body, tailer_emulator.mint_jwt(-10))
    assert (expired.status_code, expired.json()) == (401, {"code": 401, "message": "token expired"})
    assert "invalid_token" in expired.headers["WWW-Authenticate"]
    good = tailer_emulator.mint_jwt()
    header, payload, signature = good.split(".")
    other_secret = encode_hs256_jwt({"iss": "tailer-emulator", "sub": "x", "exp": time.time() + 60}, "nope")
    wrong_issuer = encode_hs256_jwt(
        {"iss": "other", "exp": time.time() + 60}, tailer_emulator.emulator.jwt_secret
    )
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + payload + "."
    for token in (
        other_secret,
        wrong_issuer,
        f"{header}.{payload}.{flipped}",
        unsigned,
        "garbled",
        "a.b.c",
        None,
    ):
        reply = post(tailer_emulator, STATUS, body, token)
        assert (reply.status_code, reply.json()) == (401, {"code": 401, "message": "invalid token"}), token
    basic = requests.post(
        tailer_emulator.url + STATUS, json=body, headers={"Authorization": f"Basic {good}"}, timeout=5
    )
    assert basic.status_code == 401
    lower = requests.post(
        tailer_emulator.url + STATUS, json=body, headers={"Authorization": f"bearer {good}"}, timeout=5
    )
    assert lower.status_code == 200
    control = requests.get(tailer_emulator.url + "/_emulator/stats", timeout=5)  # never checked
    assert control.status_code == 200 and control.json()["requests"]["POST dag_status"] == 11


def test_jwt_interoperates_with_pyjwt(tailer_emulator_factory: Callable[..., TailerEmulatorHandle]) -> None:
    jwt = pytest.importorskip("jwt")
    emulator = tailer_emulator_factory(jwt_secret="s3cret-of-at-least-32-bytes-for-pyjwt", token="static")
    claims = jwt.decode(
        emulator.mint_jwt(120, subject="bob"), "s3cret-of-at-least-32-bytes-for-pyjwt", algorithms=["HS256"]
    )
    assert claims["iss"] == "tailer-emulator" and claims["sub"] == "bob"
    assert 120 <= claims["exp"] - claims["iat"] <= 121
    theirs = jwt.encode(
        {"iss": "tailer-emulator", "sub": "ci", "exp": int(time.time()) + 60},
        "s3cret-of-at-least-32-bytes-for-pyjwt",
        algorithm="HS256",
    )
    body = {"action": "get_last_status", **SALES}
    assert post(emulator, STATUS, body, theirs).status_code == 200
    assert post(emulator, STATUS, body, "static").status_code == 200  # config.token: accepted as is
    assert post(emulator, STATUS, body, "statics").status_code == 401
    assert decode_hs256_jwt(theirs, "s3cret-of-at-least-32-bytes-for-pyjwt")["sub"] == "ci"
    with pytest.raises(JwtError) as caught:
        decode_hs256_jwt(emulator.mint_jwt(-1), "s3cret-of-at-least-32-bytes-for-pyjwt")
    assert caught.value.expired


def test_firebase_refresh_token_stand_in(tailer_emulator: TailerEmulatorHandle) -> None:
    url = tailer_emulator.token_url
    assert url == f"{tailer_emulator.url}/_emulator/firebase/v1/token"
    form = {"grant_type": "refresh_token", "refresh_token": "emulator-refresh-token"}
    reply = requests.post(url, params={"key": "emulator-api-key"}, data=form, timeout=5)
    assert reply.status_code == 200, reply.text
    tokens = reply.json()
    assert tokens["expires_in"] == "3600" and tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"] == "emulator-refresh-token" and tokens["user_id"] == "emulator-user"
    assert tokens["access_token"] == tokens["id_token"]
    claims = decode_hs256_jwt(tokens["id_token"], tailer_emulator.emulator.jwt_secret)
    assert claims["sub"] == "emulator-user" and claims["exp"] - claims["iat"] in (3600, 3601)
    assert (
        post(tailer_emulator, LAUNCH, {"action": "launch_job", **SALES}, tokens["id_token"]).status_code
        == 200
    )

    def error(params: dict[str, str], data: Any) -> tuple[int, Any]:
        failed = requests.post(url, params=params, data=data, timeout=5)
        return failed.status_code, failed.json()["error"]

    key = {"key": "emulator-api-key"}
    assert error({"key": "wrong"}, form) == (
        400,
        {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
        },
    )
    assert error({}, form)[0] == 403
    assert error(key, {**form, "refresh_token": "stolen"})[1]["message"] == "INVALID_REFRESH_TOKEN"
    assert error(key, {**form, "grant_type": "password"}) == (
        400,
        {"code": 400, "message": "INVALID_GRANT_TYPE", "status": "INVALID_ARGUMENT"},
    )
    assert error(key, {"grant_type": "refresh_token"})[1]["message"] == "MISSING_REFRESH_TOKEN"
    as_json = requests.post(url, params=key, json=form, timeout=5)  # JSON bodies work too
    assert as_json.status_code == 200
    stats = tailer_emulator.stats()
    assert stats["token_refreshes"] == 2 and stats["requests"]["POST firebase_token"] == 7


def test_firebase_settings(tailer_emulator_factory: Callable[..., TailerEmulatorHandle]) -> None:
    emulator = tailer_emulator_factory(
        api_key="k", refresh_tokens={"rt-1": "user-1", "rt-2": "user-2"}, token_seconds=1.5
    )
    reply = requests.post(
        emulator.token_url,
        params={"key": "k"},
        data={"grant_type": "refresh_token", "refresh_token": "rt-2"},
        timeout=5,
    )
    tokens = reply.json()
    assert (tokens["user_id"], tokens["expires_in"]) == ("user-2", "1.5")
    assert decode_hs256_jwt(tokens["id_token"], emulator.emulator.jwt_secret)["sub"] == "user-2"


def test_faults(tailer_emulator: TailerEmulatorHandle) -> None:
    tailer_emulator.add_fault("POST", r"^/v1/dag/launch$", 503)
    assert post(tailer_emulator, LAUNCH, {"action": "launch_job", **SALES}).status_code == 503
    assert tailer_emulator.stats()["launches"] == 0
    tailer_emulator.add_fault("POST", r"/firebase/", 429, retry_after=0.05)
    throttled = requests.post(tailer_emulator.token_url, params={"key": "emulator-api-key"}, timeout=5)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "0.05")
    tailer_emulator.add_fault("POST", r"^/v1/dag/status$", "drop")
    with pytest.raises(requests.ConnectionError):
        post(tailer_emulator, STATUS, {"action": "get_last_status", **SALES})
    tailer_emulator.add_fault(None, None, "slow", seconds=0.2)
    began = time.monotonic()
    launch(tailer_emulator)
    assert time.monotonic() - began >= 0.2
    tailer_emulator.set_random_faults(1.0, ["malformed"], seed=1)
    with pytest.raises(ValueError):
        post(tailer_emulator, STATUS, {"action": "get_last_status", **SALES}).json()
    assert requests.get(tailer_emulator.url + "/_emulator/tailer/runs", timeout=5).status_code == 200
    tailer_emulator.clear_faults()
    assert post(tailer_emulator, STATUS, {"action": "get_last_status", **SALES}).status_code == 200
    stats = tailer_emulator.stats()
    assert stats["faults_injected"] == {"503": 1, "429": 1, "drop": 1, "slow": 1, "malformed": 1}
    assert stats["launches"] == 1 and stats["requests"]["POST dag_launch"] == 2


def test_control_routes_and_reset(tailer_emulator: TailerEmulatorHandle) -> None:
    base = tailer_emulator.url
    tailer_emulator.config.pending_seconds = 60
    run_id = launch(tailer_emulator)
    [listed] = requests.get(f"{base}/_emulator/tailer/runs", timeout=5).json()
    assert listed["run_id"] == run_id and listed["status"] == "PENDING"
    forced = requests.put(f"{base}/_emulator/tailer/runs/{run_id}", json={"status": "failed"}, timeout=5)
    assert forced.status_code == 200 and forced.json()["status"] == "FAILED"
    assert check(tailer_emulator, run_id)[0]["status"] == "FAILED"  # visible at once
    assert (
        requests.put(f"{base}/_emulator/tailer/runs/nope", json={"status": "FAILED"}, timeout=5).status_code
        == 404
    )
    assert (
        requests.put(f"{base}/_emulator/tailer/runs/{run_id}", json={"status": "X"}, timeout=5).status_code
        == 400
    )
    with pytest.raises(KeyError):
        tailer_emulator.set_run_status("nope", "SUCCESS")
    minted = requests.post(f"{base}/_emulator/tailer/token", json={"seconds": 30}, timeout=5).json()
    assert minted["expires_in"] == "30"
    assert (
        post(tailer_emulator, STATUS, {"action": "get_last_status", **SALES}, minted["id_token"]).status_code
        == 200
    )
    assert requests.get(f"{base}/_emulator/tailer/configurations", timeout=5).json()[0]["activated"] is True
    assert requests.post(f"{base}/_emulator/reset", timeout=5).status_code == 200
    assert tailer_emulator.runs() == [] and tailer_emulator.configurations() == []
    assert tailer_emulator.config.pending_seconds == 0.1
    assert (
        post(tailer_emulator, STATUS, {"action": "get_last_status", **SALES}, minted["id_token"]).status_code
        == 200
    )
    assert tailer_emulator.stats()["requests"] == {"POST dag_status": 1}


def test_cli_serves_and_stops_on_sigterm() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "airflow_provider_pipelines.emulators", "tailer", "--port", "0"]
    command += ["--token", "T", "--api-key", "K", "--refresh-token", "R", "--pending-seconds", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("tailer emulator listening on http://127.0.0.1:")
            base = line.rsplit(" ", 1)[1]
            body = {"action": "launch_job", **SALES}
            assert requests.post(base + LAUNCH, json=body, timeout=5).status_code == 401
            launched = requests.post(
                base + LAUNCH, json=body, headers={"Authorization": "Bearer T"}, timeout=5
            )
            assert RUN_ID.match(launched.json()["run_id"])
            form = {"grant_type": "refresh_token", "refresh_token": "R"}
            refreshed = requests.post(base + "/_emulator/firebase/v1/token?key=K", data=form, timeout=5)
            headers = {"Authorization": f"Bearer {refreshed.json()['id_token']}"}
            status = {"action": "get_last_status", **SALES}
            assert (
                len(requests.post(base + STATUS, json=status, headers=headers, timeout=5).json()["results"])
                == 1
            )
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
