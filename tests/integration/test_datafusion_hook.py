"""DataFusionHook against the Data Fusion emulator over real HTTP, signed by real google-auth credentials
(a service-account key whose token_uri is the emulator's), impersonating through the emulator's IAM."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError, PipelineRunTimeout
from airflow_provider_pipelines.emulators.datafusion import DataFusionEmulatorHandle
from airflow_provider_pipelines.hooks.datafusion import DataFusionHook, DataFusionOperationFailed
from airflow_provider_pipelines.triggers.datafusion import DataFusionOperationTrigger
from tests.integration import datafusion_fixtures
from tests.integration.datafusion_fixtures import CLIENT_EMAIL, LOCATION, PROJECT, default_key, gcp_connection

# The fixtures, shared with the DAG tests.
_datafusion_emulator_session = datafusion_fixtures._datafusion_emulator_session
datafusion_emulator = datafusion_fixtures.datafusion_emulator
datafusion = datafusion_fixtures.datafusion

NAME = f"projects/{PROJECT}/locations/{LOCATION}/instances"
LOCKED = "locked@acme-data.iam.gserviceaccount.com"
RUNNER = "runner@acme-data.iam.gserviceaccount.com"


def assert_no_secret(text: str, *tokens: str) -> None:
    key = default_key()
    body = key["private_key"].splitlines()[1]
    assert body not in text and key["private_key_id"] not in text
    for token in tokens:
        assert token not in text


def test_get_instance_and_its_endpoints_read_once(datafusion: DataFusionEmulatorHandle) -> None:
    datafusion.put_instance(PROJECT, LOCATION, "etl", {"labels": {"team": "data"}})
    hook = DataFusionHook()

    instance = hook.get_instance(PROJECT, LOCATION, "etl")
    assert instance["name"] == f"{NAME}/etl"
    assert instance["state"] == "ACTIVE" and instance["labels"] == {"team": "data"}

    assert hook.api_endpoint(PROJECT, LOCATION, "etl") == datafusion.config.api_endpoint
    assert hook.service_endpoint(PROJECT, LOCATION, "etl") == datafusion.config.service_endpoint
    assert hook.api_endpoint(PROJECT, LOCATION, "etl") == datafusion.config.api_endpoint
    stats = datafusion.stats()
    assert stats["requests"]["GET get_instance"] == 2, "one read for get_instance, one for both endpoints"
    assert stats["calls_by_principal"] == {"composer@acme-data.iam.gserviceaccount.com": 2}
    assert stats["tokens_issued"] == 1, "one token for every call"


def test_project_defaults_to_the_connection_with_prefixed_extras(
    datafusion: DataFusionEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    datafusion.put_instance("other-project", LOCATION, "etl")
    monkeypatch.setenv(
        "AIRFLOW_CONN_GCP_PREFIXED", gcp_connection(default_key(), prefixed=True, project="other-project")
    )
    hook = DataFusionHook(gcp_conn_id="gcp_prefixed")
    assert (
        hook.get_instance(None, LOCATION, "etl")["name"]
        == f"projects/other-project/locations/{LOCATION}/instances/etl"
    )
    # With no project extra, the key's project_id.
    datafusion.put_instance(PROJECT, LOCATION, "etl")
    assert DataFusionHook().get_instance(None, LOCATION, "etl")["name"] == f"{NAME}/etl"


def test_key_path_and_application_default_credentials(
    datafusion: DataFusionEmulatorHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    datafusion.put_instance(PROJECT, LOCATION, "etl")
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(default_key()))
    monkeypatch.setenv("AIRFLOW_CONN_BY_PATH", gcp_connection(None, key_path=str(key_file)))
    assert DataFusionHook("by_path").get_instance(PROJECT, LOCATION, "etl")["state"] == "ACTIVE"

    # An empty connection: application default credentials, here a key file named by the environment.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    monkeypatch.setenv("AIRFLOW_CONN_ADC", gcp_connection(None))
    assert DataFusionHook("adc").get_instance(PROJECT, LOCATION, "etl")["state"] == "ACTIVE"


def test_unknown_instance_names_it_and_shows_no_secret(datafusion: DataFusionEmulatorHandle) -> None:
    hook = DataFusionHook()
    with pytest.raises(PipelineApiError) as caught:
        hook.get_instance(PROJECT, LOCATION, "nope")
    error = caught.value
    assert error.status == 404
    assert str(error) == (
        f"Data Fusion get instance {NAME}/nope failed (HTTP 404): Resource '{NAME}/nope' was not found"
    )
    assert_no_secret(str(error), *hook.client.secrets())

    with pytest.raises(PipelineApiError, match=r"get instance .*/instances/nope failed"):
        hook.api_endpoint(PROJECT, LOCATION, "nope")


def test_an_instance_still_being_created_has_no_endpoint_yet(datafusion: DataFusionEmulatorHandle) -> None:
    hook = DataFusionHook()
    hook.create_instance(PROJECT, LOCATION, "fresh", {"type": "BASIC"})
    with pytest.raises(PipelineError, match=r"instances/fresh has no apiEndpoint yet \(state CREATING\)"):
        hook.api_endpoint(PROJECT, LOCATION, "fresh")


def test_operations_are_waited_on_until_done(datafusion: DataFusionEmulatorHandle) -> None:
    hook = DataFusionHook()
    operation = hook.create_instance(PROJECT, LOCATION, "etl", {"type": "BASIC", "options": {"a": "1"}})
    assert not operation.get("done")
    instance = hook.wait_for_operation(operation, poll_interval=0.05, timeout=10)
    assert instance["state"] == "ACTIVE" and instance["options"] == {"a": "1"}

    update = hook.update_instance(PROJECT, LOCATION, "etl", {"labels": {"v": "2"}}, ["labels"])
    assert hook.wait_for_operation(update["name"], poll_interval=0.05)["labels"] == {"v": "2"}
    restart = hook.restart_instance(PROJECT, LOCATION, "etl")
    assert hook.wait_for_operation(restart, poll_interval=0.05)["state"] == "ACTIVE"
    delete = hook.delete_instance(PROJECT, LOCATION, "etl")
    assert hook.wait_for_operation(delete, poll_interval=0.05) == {
        "@type": "type.googleapis.com/google.protobuf.Empty"
    }
    assert datafusion.runs() == []


def test_a_failed_operation_raises_its_error_naming_the_instance(
    datafusion: DataFusionEmulatorHandle,
) -> None:
    hook = DataFusionHook()
    datafusion.fail_next("etl", "create", "Quota exceeded for resource 'CPUS' in region us-central1")
    operation = hook.create_instance(PROJECT, LOCATION, "etl", {"type": "BASIC"})
    with pytest.raises(DataFusionOperationFailed) as caught:
        hook.wait_for_operation(operation, f"create instance {NAME}/etl", poll_interval=0.05)
    message = str(caught.value)
    assert message.startswith(f"Data Fusion create instance {NAME}/etl failed: operation ")
    assert message.endswith("ended with error 13: Quota exceeded for resource 'CPUS' in region us-central1")
    assert caught.value.code == 13


def test_a_wait_times_out(datafusion: DataFusionEmulatorHandle) -> None:
    datafusion.config.create_seconds = 30
    hook = DataFusionHook()
    operation = hook.create_instance(PROJECT, LOCATION, "slow", {"type": "BASIC"})
    with pytest.raises(PipelineRunTimeout, match=r"not done after 0\.2 s"):
        hook.wait_for_operation(operation, poll_interval=0.05, timeout=0.2)


def test_transient_errors_are_retried(datafusion: DataFusionEmulatorHandle) -> None:
    datafusion.put_instance(PROJECT, LOCATION, "etl")
    datafusion.add_fault("GET", r"/instances/etl$", 503, times=2)
    assert DataFusionHook().get_instance(PROJECT, LOCATION, "etl")["state"] == "ACTIVE"


def test_impersonation_chain_acts_as_its_last_account(datafusion: DataFusionEmulatorHandle) -> None:
    datafusion.put_instance(PROJECT, LOCATION, "etl")
    hook = DataFusionHook(impersonation_chain=["delegate@acme-data.iam.gserviceaccount.com", RUNNER])
    assert hook.get_instance(PROJECT, LOCATION, "etl")["state"] == "ACTIVE"
    stats = datafusion.stats()
    assert stats["calls_by_principal"] == {CLIENT_EMAIL: 1, RUNNER: 1}, (
        "IAM as the key, Data Fusion as runner"
    )
    assert stats["requests"]["POST generate_access_token"] == 1
    assert stats["impersonations"] == 1
    assert "impersonating runner@" in repr(hook.client.auth)
    # One account as a string.
    assert (
        DataFusionHook(impersonation_chain=RUNNER).get_instance(PROJECT, LOCATION, "etl")["state"] == "ACTIVE"
    )


@pytest.mark.parametrize("chain", [LOCKED, [LOCKED, RUNNER]], ids=["target", "delegate"])
def test_a_refused_impersonation_fails_clearly(datafusion: DataFusionEmulatorHandle, chain: Any) -> None:
    datafusion.config.refused_accounts = (LOCKED,)
    datafusion.put_instance(PROJECT, LOCATION, "etl")
    hook = DataFusionHook(impersonation_chain=chain)
    with pytest.raises(PipelineError) as caught:
        hook.get_instance(PROJECT, LOCATION, "etl")
    message = str(caught.value)
    assert message.startswith("Data Fusion: could not get a Google access token to impersonate ")
    assert "HTTP 403 PERMISSION_DENIED" in message
    assert (
        f"'iam.serviceAccounts.getAccessToken' denied on resource 'projects/-/serviceAccounts/{LOCKED}'"
        in message
    )
    assert_no_secret(message, *hook.client.secrets())
    assert datafusion.stats()["impersonations_refused"] == 1
    assert "GET get_instance" not in datafusion.stats()["requests"], "no call without a token"


def test_the_trigger_waits_in_the_event_loop_and_carries_no_secret(
    datafusion: DataFusionEmulatorHandle,
) -> None:
    hook = DataFusionHook(impersonation_chain=RUNNER)
    operation = hook.create_instance(PROJECT, LOCATION, "etl", {"type": "BASIC"})
    trigger = DataFusionOperationTrigger(
        operation["name"], impersonation_chain=[RUNNER], what="create instance etl", poll_interval=0.05
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_pipelines.triggers.datafusion.DataFusionOperationTrigger"
    text = json.dumps(kwargs)  # JSON primitives only
    assert_no_secret(text, *hook.client.secrets())
    assert kwargs["impersonation_chain"] == [RUNNER] and kwargs["gcp_conn_id"] == "google_cloud_default"

    async def first_event() -> dict[str, Any]:
        async for event in DataFusionOperationTrigger(**kwargs).run():
            return dict(event.payload)
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "success"
    assert event["response"]["state"] == "ACTIVE"
    assert datafusion.stats()["calls_by_principal"][RUNNER] >= 2

    datafusion.fail_next("etl", "restart", "restart refused")
    restart = hook.restart_instance(PROJECT, LOCATION, "etl")
    kwargs["operation_name"] = restart["name"]
    failed = asyncio.run(first_event())
    assert failed["status"] == "failed" and failed["message"].endswith("ended with error 13: restart refused")
