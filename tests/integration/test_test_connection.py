"""
"Test connection" on every platform, against the emulators: a working connection succeeds and says what
was checked; a wrong host, wrong credentials and wrong ids fail with a message naming that cause and the
platform, never the connection id (Airflow's UI tests a form under a random temporary id) nor a secret.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from airflow_provider_pipelines.core.errors import PipelineError
from airflow_provider_pipelines.core.hook import PipelineHook
from airflow_provider_pipelines.hooks.cdap import CdapHook
from airflow_provider_pipelines.hooks.daggy import DaggyHook
from airflow_provider_pipelines.hooks.enos import EnosHook
from airflow_provider_pipelines.hooks.flowengine import FlowEngineHook
from airflow_provider_pipelines.hooks.tailer import TailerHook
from tests.integration.conftest import (
    FAST_RETRIES,
    enos_connection,
    flowengine_connection,
    tailer_connection,
)

TEMP_ID = "lMFc4uCL"  # what Airflow's UI names a connection under test
SECRET = "s3cret-value-never-shown"
FEW_TRIES = {**FAST_RETRIES, "retry_attempts": 2}


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:  # bound, never listening: a connect is refused
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def as_ui_test(
    monkeypatch: pytest.MonkeyPatch, hook_class: type[PipelineHook], conn: dict[str, Any]
) -> tuple[bool, str]:
    """``conn`` tested as the UI does: under a random temporary id, by a fresh hook."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{TEMP_ID.upper()}", json.dumps(conn))
    return hook_class(conn_id=TEMP_ID).test_connection()


def failure(result: tuple[bool, str], platform: str, *causes: str, secrets: tuple[str, ...] = ()) -> str:
    """The failure's message, checked: the platform and each cause named, no connection id, no secret."""
    ok, message = result
    assert not ok, message
    assert platform in message, message
    assert TEMP_ID not in message, message
    for cause in causes:
        assert cause in message, f"{cause!r} not in {message!r}"
    for secret in (SECRET, *secrets):
        assert secret not in message, message
    return message


def cdap_conn(url: str, **fields: Any) -> dict[str, Any]:
    return {"conn_type": "cdap", "host": url, "extra": FEW_TRIES, **fields}


def daggy_conn(url: str, **extra: Any) -> dict[str, Any]:
    return {"conn_type": "daggy", "host": url, "extra": {**FEW_TRIES, **extra}}


# -- CDAP -------------------------------------------------------------------------------------------------


def test_cdap_works(cdap: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert as_ui_test(monkeypatch, CdapHook, cdap_conn(cdap.url)) == (
        True,
        "CDAP connection works: read namespace default without credentials",
    )
    cdap.config.token = SECRET
    assert as_ui_test(monkeypatch, CdapHook, cdap_conn(cdap.api_url, password=SECRET)) == (
        True,
        "CDAP connection works: read namespace default with the bearer token",
    )


def test_cdap_wrong_host(cdap: Any, monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    result = as_ui_test(monkeypatch, CdapHook, cdap_conn(f"http://127.0.0.1:{closed_port}"))
    failure(result, "CDAP", f"cannot connect to 127.0.0.1:{closed_port}", "connection refused", "host")

    result = as_ui_test(monkeypatch, CdapHook, cdap_conn(cdap.url + "/nope"))
    failure(result, "CDAP", "/nope is not CDAP's API (HTTP 404", "check the connection's host")


def test_cdap_wrong_credentials(cdap: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cdap.config.token = SECRET
    wrong = "wrong-bearer-token-0123"
    result = as_ui_test(monkeypatch, CdapHook, cdap_conn(cdap.url, password=wrong))
    message = failure(result, "CDAP", "refused the credentials (HTTP 401", secrets=(wrong,))
    assert "check the token in the password" in message


def test_cdap_unusable_connection_names_no_id(monkeypatch: pytest.MonkeyPatch) -> None:
    result = as_ui_test(monkeypatch, CdapHook, cdap_conn(""))
    assert result == (
        False,
        "CDAP connection is not usable: the connection has no host: set it to the API's base URL",
    )
    # A task's run, on the other hand, is told which connection to fix.
    with pytest.raises(PipelineError, match=f"CDAP connection '{TEMP_ID}' is not usable"):
        CdapHook(conn_id=TEMP_ID).client  # noqa: B018


# -- Daggy ------------------------------------------------------------------------------------------------


def test_daggy_works(daggy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert as_ui_test(monkeypatch, DaggyHook, daggy_conn(daggy.url)) == (
        True,
        "Daggy connection works: daggyd answered GET /ready",
    )
    # Behind a proxy that wants a header: /ready, and a call that needs the header too.
    daggy.config.required_headers = {"X-Proxy-Key": SECRET}
    ok, message = as_ui_test(monkeypatch, DaggyHook, daggy_conn(daggy.url, headers={"X-Proxy-Key": SECRET}))
    assert ok, message
    assert message.startswith("Daggy connection works: daggyd answered GET /ready, and GET /v1/dagruns")


def test_daggy_wrong_host(daggy: Any, monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    result = as_ui_test(monkeypatch, DaggyHook, daggy_conn(f"http://127.0.0.1:{closed_port}"))
    failure(result, "Daggy", f"cannot connect to 127.0.0.1:{closed_port}", "host")


def test_daggy_wrong_credentials(daggy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    daggy.config.required_headers = {"X-Proxy-Key": SECRET}
    wrong = "wrong-proxy-key-0123"
    result = as_ui_test(monkeypatch, DaggyHook, daggy_conn(daggy.url, headers={"X-Proxy-Key": wrong}))
    message = failure(result, "Daggy", "refused the credentials (HTTP 401", secrets=(wrong,))
    assert "check the headers extra" in message


# -- Tailer -----------------------------------------------------------------------------------------------


def test_tailer_works_without_naming_an_account(tailer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ok, message = as_ui_test(monkeypatch, TailerHook, tailer_connection(tailer))
    assert ok, message
    assert message.startswith(
        "Tailer connection works: Firebase issued an ID token for the refresh token; the Tailer API "
        "accepted it (asked for the runs of no account, it answered HTTP 400"
    )
    call = next(TailerHook(conn_id="tailer_default").check_token_plan())
    assert "account" not in call.json

    jwt = tailer.mint_jwt(3600)
    ok, message = as_ui_test(
        monkeypatch, TailerHook, {"conn_type": "tailer", "host": tailer.url, "password": jwt}
    )
    assert ok, message
    assert message.startswith("Tailer connection works: the Tailer API accepted the JWT, valid until ")
    assert jwt not in message


@pytest.mark.parametrize(
    "answer",
    [
        (403, '{"code": 403, "message": "no access to account"}'),
        (404, '{"code": 404, "message": "account not found"}'),
        (422, '{"code": 422, "message": "invalid request"}'),
    ],
)
def test_tailer_answers_about_the_request_mean_the_token_was_accepted(
    tailer: Any, monkeypatch: pytest.MonkeyPatch, answer: tuple[int, str]
) -> None:
    tailer.add_fault("POST", "/v1/dag/status$", answer[0], body=answer[1])
    ok, message = as_ui_test(monkeypatch, TailerHook, tailer_connection(tailer))
    assert ok, message
    assert f"it answered HTTP {answer[0]}" in message


def test_tailer_wrong_host(tailer: Any, monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    conn = {**tailer_connection(tailer), "host": f"http://127.0.0.1:{closed_port}"}
    failure(as_ui_test(monkeypatch, TailerHook, conn), "Tailer", "cannot connect to 127.0.0.1", "host")

    # Some other server: a 404, or a 403 that is not about an account.
    tailer.add_fault("POST", "/v1/dag/status$", 404, body="Not Found")
    result = as_ui_test(monkeypatch, TailerHook, tailer_connection(tailer))
    failure(result, "Tailer", "is not Tailer's API (HTTP 404", "check the connection's host")


def test_tailer_wrong_credentials(tailer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = tailer_connection(tailer, refresh_token=SECRET)
    message = failure(as_ui_test(monkeypatch, TailerHook, conn), "Tailer", "INVALID_REFRESH_TOKEN")
    assert "check the credentials, the refresh_token and firebase_api_key extras" in message

    wrong_key = "wrong-firebase-api-key"
    conn = tailer_connection(tailer, firebase_api_key=wrong_key)
    result = as_ui_test(monkeypatch, TailerHook, conn)
    failure(result, "Tailer", "API key not valid", "check the credentials", secrets=(wrong_key,))

    forged = tailer.mint_jwt(3600)[:-4] + "AAAA"
    conn = {"conn_type": "tailer", "host": tailer.url, "password": forged, "extra": FEW_TRIES}
    result = as_ui_test(monkeypatch, TailerHook, conn)
    failure(result, "Tailer", "refused the credentials (HTTP 401", "refresh_token", secrets=(forged,))

    expired = tailer.mint_jwt(-10)
    conn = {"conn_type": "tailer", "host": tailer.url, "password": expired}
    message = failure(as_ui_test(monkeypatch, TailerHook, conn), "Tailer", "expired", secrets=(expired,))
    assert message.startswith("The JWT in Tailer connection expired at ")

    tailer.add_fault("POST", "/v1/dag/status$", 403, body='{"code": 403, "message": "Forbidden"}')
    result = as_ui_test(monkeypatch, TailerHook, tailer_connection(tailer))
    failure(result, "Tailer", "refused the credentials (HTTP 403")


# -- FlowEngine -------------------------------------------------------------------------------------------


def test_flowengine_works(flowengine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert as_ui_test(monkeypatch, FlowEngineHook, flowengine_connection(flowengine)) == (
        True,
        "FlowEngine connection works: the engine key found engine 6 at /engine/15/cess-data-3",
    )


def test_flowengine_wrong_host(flowengine: Any, monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    conn = {**flowengine_connection(flowengine), "host": f"http://127.0.0.1:{closed_port}"}
    failure(as_ui_test(monkeypatch, FlowEngineHook, conn), "FlowEngine", "cannot connect", "host")


def test_flowengine_wrong_engine_key(flowengine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = flowengine_connection(flowengine, engine_key="wrong-engine")
    message = failure(as_ui_test(monkeypatch, FlowEngineHook, conn), "FlowEngine", "engine key")
    assert message.startswith("FlowEngine refused the engine key (get engine info: status 1001")
    assert message.endswith("check the engine_key extra")


def test_flowengine_wrong_user_id(flowengine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = flowengine_connection(flowengine, user_id="2")
    message = failure(as_ui_test(monkeypatch, FlowEngineHook, conn), "FlowEngine", "user id", "HTTP 401")
    assert "check the user_id extra" in message


def test_flowengine_wrong_credentials(flowengine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    flowengine.config.required_headers = {"Access-Key": SECRET}
    wrong = "wrong-access-key-0123"
    conn = flowengine_connection(flowengine, headers={"Access-Key": wrong})
    result = as_ui_test(monkeypatch, FlowEngineHook, conn)
    message = failure(result, "FlowEngine", "refused the user id or the gateway headers", secrets=(wrong,))
    assert "the headers extra" in message
    conn = flowengine_connection(flowengine, headers={"Access-Key": SECRET})
    assert as_ui_test(monkeypatch, FlowEngineHook, conn)[0]


# -- EnOS -------------------------------------------------------------------------------------------------


def test_enos_works(enos: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert as_ui_test(monkeypatch, EnosHook, enos_connection(enos)) == (
        True,
        "EnOS connection works: the token service accepted the app key, and org o15589 lists 25 stream "
        "pipelines; the batch data flow service accepted user u-airflow",
    )
    assert as_ui_test(monkeypatch, EnosHook, enos_connection(enos, user_id=None)) == (
        True,
        "EnOS connection works: the token service accepted the app key, and org o15589 lists 25 stream "
        "pipelines",
    )


def test_enos_wrong_host(enos: Any, monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    conn = {**enos_connection(enos), "host": f"http://127.0.0.1:{closed_port}"}
    message = failure(as_ui_test(monkeypatch, EnosHook, conn), "EnOS", f"127.0.0.1:{closed_port}")
    assert "cannot be reached" in message
    assert message.endswith("check the connection's host (the API gateway URL)")

    conn = {**enos_connection(enos), "host": enos.url + "/nope"}
    message = failure(as_ui_test(monkeypatch, EnosHook, conn), "EnOS", "did not answer as EnOS's token")
    assert message.endswith("check the connection's host (the API gateway URL)")


def test_enos_wrong_credentials(enos: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {**enos_connection(enos), "password": SECRET}
    message = failure(as_ui_test(monkeypatch, EnosHook, conn), "EnOS", "encryption invalid")
    assert message.endswith(
        "check the credentials, the login (the app key) and the password (the app secret)"
    )
    conn = {**enos_connection(enos), "login": "wrong-app-key"}
    failure(as_ui_test(monkeypatch, EnosHook, conn), "EnOS", "appKey does not exist", "credentials")


def test_enos_wrong_org_id(enos: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = enos_connection(enos, org_id="o-not-mine")
    message = failure(as_ui_test(monkeypatch, EnosHook, conn), "EnOS", "org id 'o-not-mine'", "62101")
    assert message.endswith("check the org_id extra")


def test_enos_wrong_user_id(enos: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = enos_connection(enos, user_id="u-nobody")
    message = failure(as_ui_test(monkeypatch, EnosHook, conn), "EnOS", "user id 'u-nobody'", "62101")
    assert message.endswith("check the user_id extra")
