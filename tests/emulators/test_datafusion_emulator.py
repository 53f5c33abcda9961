"""The Data Fusion emulator over real HTTP: instances, long-running operations, Google's error shapes,
fault injection, and its OAuth2 token and IAM impersonation stand-ins."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from typing import Any

import requests

from airflow_provider_pipelines.emulators import pytest_plugin
from airflow_provider_pipelines.emulators.datafusion import DataFusionEmulatorHandle

# The plugin's fixtures, also when the package's pytest11 entry point is not installed.
_datafusion_emulator_session = pytest_plugin._datafusion_emulator_session
datafusion_emulator = pytest_plugin.datafusion_emulator
datafusion_emulator_factory = pytest_plugin.datafusion_emulator_factory

BASE = "/v1/projects/acme/locations/us-central1"
INSTANCE = BASE + "/instances/etl"


def call(
    emulator: DataFusionEmulatorHandle,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = "issue",
    **params: str,
) -> requests.Response:
    headers = {}
    if token == "issue":
        token = emulator.issue_token()
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(
        method, emulator.url + path, json=body, headers=headers, params=params, timeout=10
    )


def wait_done(emulator: DataFusionEmulatorHandle, operation: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        current = call(emulator, "GET", "/v1/" + operation["name"]).json()
        if current.get("done"):
            return dict(current)
        time.sleep(0.05)
    raise AssertionError(f"operation {operation['name']} not done")


def test_create_answers_an_operation_that_ends_with_the_active_instance(
    datafusion_emulator: DataFusionEmulatorHandle,
) -> None:
    reply = call(datafusion_emulator, "POST", BASE + "/instances", {"type": "BASIC"}, instanceId="etl")
    assert reply.status_code == 200
    operation = reply.json()
    assert operation["name"].startswith("projects/acme/locations/us-central1/operations/operation-")
    assert "done" not in operation, "proto3 JSON leaves a false done out"
    assert operation["metadata"]["verb"] == "create"
    assert operation["metadata"]["target"] == "projects/acme/locations/us-central1/instances/etl"

    creating = call(datafusion_emulator, "GET", INSTANCE).json()
    assert creating["state"] == "CREATING"
    assert "apiEndpoint" not in creating

    done = wait_done(datafusion_emulator, operation)
    assert done["done"] is True and "error" not in done
    instance = done["response"]
    assert instance["@type"] == "type.googleapis.com/google.cloud.datafusion.v1.Instance"
    assert instance["state"] == "ACTIVE"
    assert instance["apiEndpoint"] == datafusion_emulator.config.api_endpoint
    assert instance["serviceEndpoint"] == datafusion_emulator.config.service_endpoint
    assert call(datafusion_emulator, "GET", INSTANCE).json()["state"] == "ACTIVE"
    listed = call(datafusion_emulator, "GET", BASE + "/instances").json()
    assert [item["name"] for item in listed["instances"]] == [instance["name"]]


def test_errors_have_googles_shape(datafusion_emulator: DataFusionEmulatorHandle) -> None:
    missing = call(datafusion_emulator, "GET", BASE + "/instances/nope")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "code": 404,
            "message": "Resource 'projects/acme/locations/us-central1/instances/nope' was not found",
            "status": "NOT_FOUND",
        }
    }
    datafusion_emulator.put_instance("acme", "us-central1", "etl")
    again = call(datafusion_emulator, "POST", BASE + "/instances", {"type": "BASIC"}, instanceId="etl")
    assert again.status_code == 409
    assert again.json()["error"]["status"] == "ALREADY_EXISTS"

    no_type = call(datafusion_emulator, "POST", BASE + "/instances", {}, instanceId="other")
    assert no_type.status_code == 400 and no_type.json()["error"]["status"] == "INVALID_ARGUMENT"
    bad_id = call(datafusion_emulator, "POST", BASE + "/instances", {"type": "BASIC"}, instanceId="Bad_Id")
    assert bad_id.status_code == 400 and "instanceId" in bad_id.json()["error"]["message"]
    unknown = call(
        datafusion_emulator, "POST", BASE + "/instances", {"type": "BASIC", "colour": 1}, instanceId="x"
    )
    assert unknown.status_code == 400 and 'Unknown name "colour"' in unknown.json()["error"]["message"]
    bad_mask = call(datafusion_emulator, "PATCH", INSTANCE, {"type": "ENTERPRISE"}, updateMask="type")
    assert bad_mask.status_code == 400 and "type" in bad_mask.json()["error"]["message"]
    route = call(datafusion_emulator, "GET", "/v1/nowhere")
    assert route.status_code == 404 and route.json()["error"]["status"] == "NOT_FOUND"
    datafusion_emulator.assert_paths_safe()


def test_update_restart_and_delete_move_the_instance_through_their_states(
    datafusion_emulator: DataFusionEmulatorHandle,
) -> None:
    datafusion_emulator.put_instance(
        "acme", "us-central1", "etl", {"labels": {"team": "a"}, "options": {"x": "1"}}
    )

    update = call(
        datafusion_emulator, "PATCH", INSTANCE, {"labels": {"team": "b"}}, updateMask="labels"
    ).json()
    assert call(datafusion_emulator, "GET", INSTANCE).json()["state"] == "UPDATING"
    busy = call(datafusion_emulator, "POST", INSTANCE + ":restart")
    assert busy.status_code == 400 and busy.json()["error"]["status"] == "FAILED_PRECONDITION"
    updated = wait_done(datafusion_emulator, update)["response"]
    assert updated["labels"] == {"team": "b"} and updated["options"] == {"x": "1"}, "only the masked field"

    restart = call(datafusion_emulator, "POST", INSTANCE + ":restart").json()
    assert call(datafusion_emulator, "GET", INSTANCE).json()["state"] == "RESTARTING"
    assert wait_done(datafusion_emulator, restart)["response"]["state"] == "ACTIVE"

    delete = call(datafusion_emulator, "DELETE", INSTANCE).json()
    assert call(datafusion_emulator, "GET", INSTANCE).json()["state"] == "DELETING"
    assert wait_done(datafusion_emulator, delete)["response"] == {
        "@type": "type.googleapis.com/google.protobuf.Empty"
    }
    assert call(datafusion_emulator, "GET", INSTANCE).status_code == 404
    assert datafusion_emulator.stats()["operations_by_verb"] == {"update": 1, "restart": 1, "delete": 1}


def test_a_label_or_a_scheduled_failure_fails_the_operation(
    datafusion_emulator: DataFusionEmulatorHandle,
) -> None:
    labels = {"emulator-fail": "create"}
    operation = call(
        datafusion_emulator,
        "POST",
        BASE + "/instances",
        {"type": "BASIC", "labels": labels},
        instanceId="etl",
    ).json()
    failed = wait_done(datafusion_emulator, operation)
    assert failed["error"]["code"] == 13 and "Simulated failure" in failed["error"]["message"]
    assert "response" not in failed
    instance = call(datafusion_emulator, "GET", INSTANCE).json()
    assert instance["state"] == "FAILED" and "Simulated failure" in instance["stateMessage"]

    datafusion_emulator.put_instance("acme", "us-central1", "other")
    control = requests.post(
        f"{datafusion_emulator.url}/_emulator/datafusion/instances/other/fail",
        json={"verb": "restart", "message": "disk full"},
        timeout=5,
    )
    assert control.status_code == 200
    restart = call(datafusion_emulator, "POST", BASE + "/instances/other:restart").json()
    assert wait_done(datafusion_emulator, restart)["error"]["message"] == "disk full"


def test_calls_need_a_token_the_emulator_issued(datafusion_emulator: DataFusionEmulatorHandle) -> None:
    datafusion_emulator.put_instance("acme", "us-central1", "etl")
    for token in (None, "ya29.made-up"):
        refused = call(datafusion_emulator, "GET", INSTANCE, token=token)
        assert refused.status_code == 401 and refused.json()["error"]["status"] == "UNAUTHENTICATED"
    datafusion_emulator.config.require_auth = False
    assert call(datafusion_emulator, "GET", INSTANCE, token=None).status_code == 200


def _jwt(claims: dict[str, Any]) -> str:
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


def test_token_endpoint_and_impersonation(datafusion_emulator: DataFusionEmulatorHandle) -> None:
    now = int(time.time())
    claims = {
        "iss": "sa@acme.iam.gserviceaccount.com",
        "scope": "https://www.googleapis.com/auth/iam",
        "iat": now,
        "exp": now + 3600,
    }
    grant = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": _jwt(claims)}
    token = requests.post(datafusion_emulator.token_uri, data=grant, timeout=5).json()
    assert token["token_type"] == "Bearer" and token["access_token"].startswith("ya29.")
    expired = requests.post(
        datafusion_emulator.token_uri,
        data={**grant, "assertion": _jwt({**claims, "exp": now - 1})},
        timeout=5,
    )
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"

    datafusion_emulator.config.refused_accounts = ("locked@acme.iam.gserviceaccount.com",)
    iam = "/v1/projects/-/serviceAccounts/{}:generateAccessToken"
    body = {"scope": ["https://www.googleapis.com/auth/cloud-platform"], "delegates": []}
    acting = call(
        datafusion_emulator,
        "POST",
        iam.format("etl@acme.iam.gserviceaccount.com"),
        body,
        token=token["access_token"],
    )
    assert acting.status_code == 200
    assert set(acting.json()) == {"accessToken", "expireTime"}
    refused = call(
        datafusion_emulator,
        "POST",
        iam.format("locked@acme.iam.gserviceaccount.com"),
        body,
        token=token["access_token"],
    )
    assert refused.status_code == 403 and refused.json()["error"]["status"] == "PERMISSION_DENIED"
    via = {**body, "delegates": ["projects/-/serviceAccounts/locked@acme.iam.gserviceaccount.com"]}
    delegated = call(
        datafusion_emulator,
        "POST",
        iam.format("etl@acme.iam.gserviceaccount.com"),
        via,
        token=token["access_token"],
    )
    assert delegated.status_code == 403, "a refused delegate refuses the chain"

    datafusion_emulator.put_instance("acme", "us-central1", "etl")
    assert call(datafusion_emulator, "GET", INSTANCE, token=acting.json()["accessToken"]).status_code == 200
    assert datafusion_emulator.stats()["calls_by_principal"]["etl@acme.iam.gserviceaccount.com"] == 1


def test_a_registered_key_has_its_signature_checked(datafusion_emulator: DataFusionEmulatorHandle) -> None:
    key = datafusion_emulator.service_account_key("signed@acme.iam.gserviceaccount.com")
    assert key["token_uri"] == datafusion_emulator.token_uri and "PRIVATE KEY" in key["private_key"]
    now = int(time.time())
    forged = _jwt({"iss": key["client_email"], "iat": now, "exp": now + 600})
    reply = requests.post(
        datafusion_emulator.token_uri,
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": forged},
        timeout=5,
    )
    assert reply.status_code == 400 and "Signature" in reply.json()["error_description"]


def test_durations_and_endpoints_are_configurable(datafusion_emulator_factory: Any) -> None:
    emulator = datafusion_emulator_factory(
        create_seconds=0.0, api_endpoint="http://cdap-{instance}:11015/api", require_auth=False
    )
    operation = call(
        emulator, "POST", BASE + "/instances", {"type": "DEVELOPER"}, token=None, instanceId="etl"
    )
    done = call(emulator, "GET", "/v1/" + operation.json()["name"], token=None).json()
    assert done["done"] is True
    assert done["response"]["apiEndpoint"] == "http://cdap-etl:11015/api"


def test_the_cli_serves_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "airflow_provider_pipelines.emulators", "datafusion", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "--refuse-account" in done.stdout and "--create-seconds" in done.stdout


def test_the_demo_environment_reaches_it_through_the_provider(
    datafusion_emulator: DataFusionEmulatorHandle, monkeypatch: Any
) -> None:
    from airflow_provider_pipelines.emulators.connections import connection_env, wire_datafusion
    from airflow_provider_pipelines.hooks.datafusion import DataFusionHook

    urls = {"datafusion": datafusion_emulator.url, "cdap": "http://127.0.0.1:9"}
    env = connection_env(urls)
    assert set(env) == {
        "AIRFLOW_CONN_CDAP_DEFAULT",
        "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT",
        "AIRFLOW__PIPELINES__DATAFUSION_API_URL",
        "AIRFLOW__PIPELINES__GOOGLE_IAM_URL",
    }
    wire_datafusion(urls)
    assert datafusion_emulator.config.api_endpoint == "http://127.0.0.1:9/api"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # An unregistered key: its assertions are accepted unverified, so a CLI-served emulator works.
    hook = DataFusionHook()
    operation = hook.create_instance(None, "us-central1", "demo", {"type": "DEVELOPER"})
    assert hook.wait_for_operation(operation, poll_interval=0.05)["apiEndpoint"] == "http://127.0.0.1:9/api"
    assert operation["name"].startswith("projects/emulator-project/"), "the key's project by default"

    bad = requests.patch(
        f"{datafusion_emulator.url}/_emulator/datafusion/config", json={"colour": 1}, timeout=5
    )
    assert bad.status_code == 400 and "unknown settings" in bad.json()["error"]
