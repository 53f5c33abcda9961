"""CDAP tasks addressing a Cloud Data Fusion instance by project, location and instance name: the
endpoint is resolved through the Data Fusion emulator (once per hook), the CDAP emulator plays the
instance and accepts only the Google tokens the Data Fusion emulator issued (to the connection's key,
or to the impersonated account), and the trigger carries the endpoint and the names, never a secret."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import requests

from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError
from airflow_provider_pipelines.core.watch import Wait
from airflow_provider_pipelines.emulators.cdap import CdapEmulatorHandle
from airflow_provider_pipelines.emulators.datafusion import DataFusionEmulatorHandle
from airflow_provider_pipelines.hooks.cdap import CdapHook
from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator
from airflow_provider_pipelines.triggers.cdap import CdapPipelineRunTrigger
from tests.dag_runner import run_dag
from tests.integration import datafusion_fixtures
from tests.integration.datafusion_fixtures import CLIENT_EMAIL, LOCATION, PROJECT, default_key

_datafusion_emulator_session = datafusion_fixtures._datafusion_emulator_session
datafusion_emulator = datafusion_fixtures.datafusion_emulator
datafusion = datafusion_fixtures.datafusion

RUNNER = "runner@acme-data.iam.gserviceaccount.com"
LOCKED = "locked@acme-data.iam.gserviceaccount.com"
MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])
IMPORTS = """
from airflow_provider_pipelines.operators.cdap import (
    CdapCreatePipelineOperator,
    CdapDeletePipelineOperator,
    CdapListPipelinesOperator,
    CdapStartPipelineOperator,
    CdapStopPipelineOperator,
)
from airflow_provider_pipelines.sensors.cdap import CdapPipelineRunSensor
"""
INSTANCE = f'project_id="{PROJECT}", location="{LOCATION}", instance_name="etl"'
RUN_ID = "{{ ti.xcom_pull(task_ids='start', key='run_id') }}"


@pytest.fixture
def instance(
    datafusion: DataFusionEmulatorHandle, cdap_emulator: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> CdapEmulatorHandle:
    """Instance ``etl`` whose apiEndpoint is the CDAP emulator's ``/api`` and serviceEndpoint its root;
    no ``cdap`` connection exists."""
    datafusion.config.api_endpoint = cdap_emulator.api_url
    datafusion.config.service_endpoint = cdap_emulator.url
    datafusion.put_instance(PROJECT, LOCATION, "etl")
    cdap_emulator.accept_tokens_of(datafusion.emulator._principal)
    monkeypatch.delenv("AIRFLOW_CONN_CDAP_DEFAULT", raising=False)
    return cdap_emulator


def assert_no_secret(text: str, *tokens: str) -> None:
    key = default_key()
    assert key["private_key"].splitlines()[1] not in text
    assert key["private_key_id"] not in text
    for token in tokens:
        assert token not in text


def test_the_hook_resolves_the_endpoint_once_and_signs_with_google_tokens(
    instance: CdapEmulatorHandle, datafusion: DataFusionEmulatorHandle
) -> None:
    hook = CdapHook(project_id=PROJECT, location=LOCATION, instance_name="etl")
    run_id = hook.start_pipeline("sales")
    assert hook.get_run("sales", run_id)["runid"] == run_id
    hook.create_pipeline(
        "orders", {"artifact": {"name": "cdap-data-pipeline", "version": "6.10.1"}, "config": {}}
    )
    assert [p["name"] for p in hook.list_pipelines()] == ["orders"]

    assert hook.api_endpoint() == instance.api_url
    assert hook.pipeline_ui_url("sales") == f"{instance.url}/pipelines/ns/default/view/sales"
    assert hook.pipelines_ui_url() == f"{instance.url}/cdap/ns/default/pipelines"
    assert datafusion.stats()["requests"]["GET get_instance"] == 1, "the instance is read once per hook"
    assert datafusion.stats()["tokens_issued"] == 1, "the CDAP calls reuse the resolver's token"
    assert instance.stats()["calls_by_principal"] == {CLIENT_EMAIL: 4}
    assert "etl" in repr(hook) and "private" not in repr(hook)


def test_impersonation_reaches_the_cdap_calls(
    instance: CdapEmulatorHandle, datafusion: DataFusionEmulatorHandle
) -> None:
    hook = CdapHook(project_id=PROJECT, location=LOCATION, instance_name="etl", impersonation_chain=RUNNER)
    hook.start_pipeline("sales")
    assert instance.stats()["calls_by_principal"] == {RUNNER: 1}
    assert datafusion.stats()["calls_by_principal"] == {CLIENT_EMAIL: 1, RUNNER: 1}  # IAM, then the instance


def test_an_unknown_instance_and_a_refused_impersonation_fail_clearly(
    instance: CdapEmulatorHandle, datafusion: DataFusionEmulatorHandle
) -> None:
    with pytest.raises(PipelineApiError) as caught:
        CdapHook(project_id=PROJECT, location=LOCATION, instance_name="nope").start_pipeline("sales")
    assert caught.value.status == 404
    assert f"get instance projects/{PROJECT}/locations/{LOCATION}/instances/nope" in str(caught.value)

    datafusion.config.refused_accounts = (LOCKED,)
    hook = CdapHook(project_id=PROJECT, location=LOCATION, instance_name="etl", impersonation_chain=LOCKED)
    with pytest.raises(PipelineError, match=f"could not get a Google access token to impersonate {LOCKED}"):
        hook.start_pipeline("sales")
    assert instance.runs() == []

    with pytest.raises(ValueError, match="needs its location"):
        CdapHook(instance_name="etl")


def test_the_trigger_carries_the_endpoint_and_names_and_no_secret(
    instance: CdapEmulatorHandle, datafusion: DataFusionEmulatorHandle
) -> None:
    task = CdapStartPipelineOperator(
        task_id="start",
        pipeline_name="sales",
        project_id=PROJECT,
        location=LOCATION,
        instance_name="etl",
        impersonation_chain=RUNNER,
    )
    run = task.pipeline_run(task.hook.start_pipeline("sales"))
    trigger = task.deferral_trigger(Wait(run, 0.05, time.time() + 30, None, None, None, 60.0, True))
    path, kwargs = trigger.serialize()

    assert path == "airflow_provider_pipelines.triggers.cdap.CdapPipelineRunTrigger"
    assert kwargs["conn_id"] == "google_cloud_default"
    assert kwargs["instance"] == {
        "project_id": PROJECT,
        "location": LOCATION,
        "instance_name": "etl",
        "gcp_conn_id": "google_cloud_default",
        "impersonation_chain": [RUNNER],
        "api_endpoint": instance.api_url,
    }
    assert_no_secret(json.dumps(kwargs), *task.hook.client.secrets())
    reads = datafusion.stats()["requests"]["GET get_instance"]

    async def first_event() -> dict[str, Any]:
        async for event in CdapPipelineRunTrigger(**kwargs).run():
            return dict(event.payload)
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "success"
    assert datafusion.stats()["requests"]["GET get_instance"] == reads, "the triggerer does not resolve again"
    assert instance.stats()["calls_by_principal"][RUNNER] >= 2


@MODES
def test_start_sensor_and_stop_by_instance_name(
    instance: CdapEmulatorHandle, datafusion: DataFusionEmulatorHandle, deferrable: bool
) -> None:
    instance.configure_pipeline("stream-events", program="streaming")
    result = run_dag(
        f"""
        start = CdapStartPipelineOperator(
            task_id="start", pipeline_name="sales", {INSTANCE},
            impersonation_chain="{{{{ 'runner' }}}}@acme-data.iam.gserviceaccount.com",
            deferrable={deferrable}, poll_interval=0.1,
        )
        watch = CdapPipelineRunSensor(
            task_id="watch", pipeline_name="sales", run_id="{RUN_ID}", {INSTANCE},
            deferrable={deferrable}, poke_interval=0.1,
        )
        stream = CdapStartPipelineOperator(
            task_id="stream", pipeline_name="stream-events", pipeline_type="streaming", {INSTANCE},
            deferrable={deferrable}, poll_interval=0.1,
        )
        stop = CdapStopPipelineOperator(
            task_id="stop", pipeline_name="stream-events", pipeline_type="streaming",
            run_id="{{{{ ti.xcom_pull(task_ids='stream', key='run_id') }}}}", {INSTANCE},
        )
        start >> watch >> stream >> stop
        """,
        imports=IMPORTS,
    )

    assert result.states == {"start": "success", "watch": "success", "stream": "success", "stop": "success"}
    assert instance.runs("default", "sales")[0]["status"] == "COMPLETED"
    assert instance.runs("default", "stream-events")[0]["status"] in ("STOPPING", "KILLED")
    assert RUNNER in instance.stats()["calls_by_principal"], "the templated impersonation chain was used"
    url = result.xcom("start", "cdap_pipeline_url")
    assert url == f"{instance.url}/pipelines/ns/default/view/sales"  # the instance's serviceEndpoint
    assert result.xcom("watch", "cdap_pipeline_url") == url
    assert requests.get(url, timeout=5).status_code == 200
    assert requests.get(result.xcom("start", "cdap_pipelines_url"), timeout=5).status_code == 200
    stream_url = f"{instance.url}/pipelines/ns/default/view/stream-events"
    assert result.xcom("stop", "cdap_pipeline_url") == stream_url


def test_pipeline_operators_by_instance_name(instance: CdapEmulatorHandle) -> None:
    pipeline = {
        "artifact": {"name": "cdap-data-pipeline", "version": "6.10.1", "scope": "SYSTEM"},
        "config": {},
    }
    result = run_dag(
        f"""
        create = CdapCreatePipelineOperator(
            task_id="create", pipeline_name="orders", pipeline={pipeline!r}, {INSTANCE}
        )
        listed = CdapListPipelinesOperator(task_id="list", {INSTANCE})
        delete = CdapDeletePipelineOperator(task_id="delete", pipeline_name="orders", {INSTANCE})
        create >> listed >> delete
        """,
        imports=IMPORTS,
    )
    assert result.states == {"create": "success", "list": "success", "delete": "success"}
    assert [p["name"] for p in result.xcom("list")] == ["orders"]
    assert instance.deployed() == {}
    assert result.xcom("list", "cdap_pipelines_url") == f"{instance.url}/cdap/ns/default/pipelines"
