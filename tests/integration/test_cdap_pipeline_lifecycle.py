"""Deploying, listing and deleting CDAP pipelines: the hook against the emulator over HTTP, and the
operators through real task runs (dag.test); the links they push open pages the emulator serves."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.emulators.cdap import CdapEmulatorHandle
from airflow_provider_pipelines.emulators.connections import emulator_connection
from airflow_provider_pipelines.hooks.cdap import CdapHook, default_ui_url
from tests.dag_runner import run_dag

IMPORTS = """
from airflow_provider_pipelines.operators.cdap import (
    CdapCreatePipelineOperator,
    CdapDeletePipelineOperator,
    CdapListPipelinesOperator,
    CdapStartPipelineOperator,
)
"""
MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])


def pipeline_json(artifact: str = "cdap-data-pipeline", version: str = "6.10.1") -> dict[str, Any]:
    """A pipeline JSON as the Studio exports it (two stages, one connection)."""
    return {
        "name": "ignored-by-cdap",
        "description": "orders to BigQuery",
        "artifact": {"name": artifact, "version": version, "scope": "SYSTEM"},
        "config": {
            "stages": [
                {"name": "GCS", "plugin": {"name": "GCSFile", "type": "batchsource", "properties": {}}},
                {
                    "name": "BigQuery",
                    "plugin": {"name": "BigQueryTable", "type": "batchsink", "properties": {}},
                },
            ],
            "connections": [{"from": "GCS", "to": "BigQuery"}],
            "engine": "spark",
        },
    }


@pytest.fixture
def cdap_ui(cdap_emulator: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> CdapEmulatorHandle:
    """The emulator, with ``cdap_default`` as ``make emulators`` writes it (its UI pages where its API is)."""
    conn = emulator_connection("cdap", cdap_emulator.url, retry_initial_wait=0.01, retry_max_wait=0.05)
    monkeypatch.setenv("AIRFLOW_CONN_CDAP_DEFAULT", json.dumps(conn))
    return cdap_emulator


# -- the hook -----------------------------------------------------------------------------------------


def test_create_list_and_delete(cdap_ui: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    record = hook.create_pipeline("orders", pipeline_json())
    hook.create_pipeline("clicks", pipeline_json("cdap-data-streams", "6.9.0"))

    assert record["name"] == "orders"
    assert record["artifact"] == {"name": "cdap-data-pipeline", "version": "6.10.1", "scope": "SYSTEM"}
    assert set(cdap_ui.deployed()) == {"orders", "clicks"}
    assert cdap_ui.deployed()["orders"]["config"]["connections"] == [{"from": "GCS", "to": "BigQuery"}]
    assert [p["name"] for p in hook.list_pipelines()] == ["clicks", "orders"]
    assert [p["name"] for p in hook.list_pipelines(artifact_name="cdap-data-streams")] == ["clicks"]
    both = hook.list_pipelines(artifact_name=["cdap-data-streams", "cdap-data-pipeline"])
    assert len(both) == 2
    assert [p["name"] for p in hook.list_pipelines(artifact_version="6.10.1")] == ["orders"]

    assert hook.delete_pipeline("orders") is True
    assert [p["name"] for p in hook.list_pipelines()] == ["clicks"]


def test_a_deleted_pipeline_cannot_start_until_deployed_again(cdap_ui: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    hook.create_pipeline("daily", pipeline_json())
    hook.delete_pipeline("daily")
    with pytest.raises(PipelineApiError, match="App: daily not found"):
        hook.start_pipeline("daily")
    hook.create_pipeline("daily", pipeline_json())
    assert hook.start_pipeline("daily")


def test_a_body_that_is_not_a_pipeline_is_refused_naming_the_pipeline(cdap_ui: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    with pytest.raises(PipelineApiError) as caught:
        hook.create_pipeline("orders", {"stages": [], "connections": []})
    assert caught.value.status == 400
    assert str(caught.value) == "CDAP create pipeline 'orders' failed (HTTP 400): Artifact must be specified."
    assert cdap_ui.deployed() == {}


def test_deleting_an_unknown_pipeline_names_it(cdap_ui: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    with pytest.raises(PipelineApiError) as caught:
        hook.delete_pipeline("nope")
    assert caught.value.status == 404
    assert "delete pipeline 'nope' failed (HTTP 404): Application 'nope' was not found." in str(caught.value)
    assert hook.delete_pipeline("nope", missing_ok=True) is False


def test_delete_one_version(cdap_ui: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    first = hook.create_pipeline("orders", pipeline_json())["version"]
    second = hook.create_pipeline("orders", pipeline_json())["version"]
    hook.delete_pipeline("orders", version=first)
    assert cdap_ui.deployed()["orders"]["versions"] == [second]
    with pytest.raises(PipelineApiError, match=f"version '{first}'.*HTTP 404"):
        hook.delete_pipeline("orders", version=first)


def test_delete_waits_while_a_run_is_active(cdap_ui: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    hook.create_pipeline("busy", pipeline_json())
    cdap_ui.configure_pipeline("busy", running_seconds=1.0)
    hook.start_pipeline("busy")
    began = time.monotonic()

    assert hook.delete_pipeline("busy", conflict_timeout=30) is True

    assert time.monotonic() - began >= 1.0  # refused (409) until the run ended
    assert cdap_ui.runs("default", "busy")[0]["status"] == "COMPLETED"
    assert cdap_ui.stats()["requests"]["DELETE delete_app"] >= 2
    assert cdap_ui.deployed() == {}


def test_delete_gives_up_after_conflict_timeout(cdap_ui: CdapEmulatorHandle) -> None:
    hook = CdapHook()
    hook.create_pipeline("long-busy", pipeline_json())
    hook.start_pipeline("long-busy")
    with pytest.raises(PipelineApiError) as caught:
        hook.delete_pipeline("long-busy", conflict_timeout=0.5)
    assert caught.value.status == 409
    assert "delete pipeline 'long-busy'" in str(caught.value)
    assert "still running: DataPipelineWorkflow" in str(caught.value)


def test_default_ui_url() -> None:
    assert default_ui_url("http://cdap.example.com:11015") == "http://cdap.example.com:11011"
    assert default_ui_url("https://u:p@[::1]:11015/") == "https://u:p@[::1]:11011"
    assert default_ui_url("https://i-p-dot-euw1.datafusion.googleusercontent.com/api") == (
        "https://i-p-dot-euw1.datafusion.googleusercontent.com"
    )
    assert default_ui_url("http://localhost:8080") == "http://localhost:8080"


def test_self_hosted_link_defaults_to_the_ui_port(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "cdap", "host": "http://cdap.example.com:11015"}
    monkeypatch.setenv("AIRFLOW_CONN_CDAP_DEFAULT", json.dumps(conn))
    hook = CdapHook()
    assert hook.pipeline_ui_url("a b") == "http://cdap.example.com:11011/pipelines/ns/default/view/a%20b"
    assert hook.pipelines_ui_url("ns1") == "http://cdap.example.com:11011/cdap/ns/ns1/pipelines"


# -- the operators, in real task runs -----------------------------------------------------------------


@MODES
def test_deploy_run_list_delete(cdap_ui: CdapEmulatorHandle, deferrable: bool, tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(pipeline_json()))
    templated = json.dumps(pipeline_json()).replace("orders to BigQuery", "{{ dag.dag_id }}")
    result = run_dag(
        f"""
        from_dict = CdapCreatePipelineOperator(
            task_id="from_dict", pipeline_name="orders", pipeline={pipeline_json()!r}
        )
        from_file = CdapCreatePipelineOperator(
            task_id="from_file", pipeline_name="orders-file", pipeline={str(path)!r}
        )
        from_text = CdapCreatePipelineOperator(
            task_id="from_text", pipeline_name="orders-text", pipeline={templated!r}
        )
        start = CdapStartPipelineOperator(
            task_id="start", pipeline_name="orders", deferrable={deferrable}, poll_interval=0.1
        )
        listed = CdapListPipelinesOperator(task_id="list", artifact_name="cdap-data-pipeline")
        delete = CdapDeletePipelineOperator(task_id="delete", pipeline_name="orders")
        [from_dict, from_file, from_text] >> start >> listed >> delete
        """,
        imports=IMPORTS,
    )

    assert set(result.states.values()) == {"success"}, result.states
    assert sorted(p["name"] for p in result.xcom("list")) == ["orders", "orders-file", "orders-text"]
    assert set(cdap_ui.deployed()) == {"orders-file", "orders-text"}
    assert cdap_ui.deployed()["orders-text"]["artifact"]["name"] == "cdap-data-pipeline"
    listed = {p["name"]: p for p in result.xcom("list")}
    assert listed["orders-text"]["description"] == result.dag_id  # the JSON string was templated
    assert cdap_ui.runs("default", "orders")[0]["status"] == "COMPLETED"
    assert result.xcom("from_dict")["name"] == "orders"
    assert result.xcom("delete") is True

    pipeline_url = result.xcom("from_dict", "cdap_pipeline_url")
    list_url = result.xcom("list", "cdap_pipelines_url")
    assert pipeline_url == f"{cdap_ui.url}/pipelines/ns/default/view/orders"
    assert list_url == f"{cdap_ui.url}/cdap/ns/default/pipelines"
    assert result.xcom("start", "cdap_pipeline_url") == pipeline_url
    assert result.xcom("delete", "cdap_pipelines_url") == list_url
    for url in (pipeline_url, list_url):  # each link opens a page
        page = requests.get(url, timeout=5)
        assert page.status_code == 200
        assert page.headers["Content-Type"].startswith("text/html")
    assert "orders-file" in requests.get(list_url, timeout=5).text


def test_an_existing_pipeline_is_replaced_only_when_asked(
    cdap_ui: CdapEmulatorHandle, capfd: pytest.CaptureFixture[str]
) -> None:
    CdapHook().create_pipeline("orders", pipeline_json(version="6.9.0"))
    result = run_dag(
        f"""
        CdapCreatePipelineOperator(task_id="refused", pipeline_name="orders", pipeline={pipeline_json()!r})
        CdapCreatePipelineOperator(
            task_id="replaced", pipeline_name="orders", pipeline={pipeline_json()!r}, replace=True
        )
        """,
        imports=IMPORTS,
    )

    assert result.states == {"refused": "failed", "replaced": "success"}
    out = "".join(capfd.readouterr())
    assert "CDAP pipeline 'orders' already exists in namespace 'default': set replace=True" in out
    assert cdap_ui.deployed()["orders"]["artifact"]["version"] == "6.10.1"
    assert len(cdap_ui.deployed()["orders"]["versions"]) == 2


def test_bad_input_fails_naming_the_pipeline(
    cdap_ui: CdapEmulatorHandle, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "x.json"
    result = run_dag(
        f"""
        CdapCreatePipelineOperator(task_id="not_a_pipeline", pipeline_name="orders", pipeline={{"a": []}})
        CdapCreatePipelineOperator(task_id="not_json", pipeline_name="clicks", pipeline="{{ not json")
        CdapCreatePipelineOperator(task_id="no_file", pipeline_name="views", pipeline={str(missing)!r})
        CdapDeletePipelineOperator(task_id="unknown", pipeline_name="ghost")
        CdapDeletePipelineOperator(task_id="unknown_ok", pipeline_name="ghost", missing_ok=True)
        """,
        imports=IMPORTS,
    )

    assert result.states == {
        "not_a_pipeline": "failed",
        "not_json": "failed",
        "no_file": "failed",
        "unknown": "failed",
        "unknown_ok": "success",
    }
    out = "".join(capfd.readouterr())
    assert "CDAP create pipeline 'orders' failed (HTTP 400): Artifact must be specified." in out
    assert "the JSON of CDAP pipeline 'clicks' is not valid JSON" in out
    assert "the JSON of CDAP pipeline 'views' is neither JSON nor a readable file" in out
    assert "CDAP delete pipeline 'ghost' failed (HTTP 404): Application 'ghost' was not found." in out
    assert result.xcom("unknown_ok") is False
    assert cdap_ui.deployed() == {}
