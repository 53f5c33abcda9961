"""The Data Fusion instance operators through real Airflow task runs (dag.test), deferrable and classic,
against the emulator (management API, OAuth2 token endpoint and IAM impersonation)."""

from __future__ import annotations

import pytest

from airflow_provider_pipelines.emulators.datafusion import DataFusionEmulatorHandle
from airflow_provider_pipelines.hooks.datafusion import DataFusionHook
from tests.dag_runner import run_dag
from tests.integration import datafusion_fixtures
from tests.integration.datafusion_fixtures import CLIENT_EMAIL, LOCATION, PROJECT, default_key

_datafusion_emulator_session = datafusion_fixtures._datafusion_emulator_session
datafusion_emulator = datafusion_fixtures.datafusion_emulator
datafusion = datafusion_fixtures.datafusion

IMPORTS = """
from airflow_provider_pipelines.operators.cdap_instances import (
    CdapCreateInstanceOperator,
    CdapDeleteInstanceOperator,
    CdapGetInstanceOperator,
    CdapRestartInstanceOperator,
    CdapUpdateInstanceOperator,
)
"""
MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])
NAME = f"projects/{PROJECT}/locations/{LOCATION}/instances"
RUNNER = "runner@acme-data.iam.gserviceaccount.com"
LOCKED = "locked@acme-data.iam.gserviceaccount.com"


def common(deferrable: bool, **extra: str) -> str:
    values = {
        "project_id": f'"{PROJECT}"',
        "location": f'"{LOCATION}"',
        "deferrable": str(deferrable),
        "poll_interval": "0.05",
        **extra,
    }
    return ", ".join(f"{key}={value}" for key, value in values.items())


def output(capfd: pytest.CaptureFixture[str]) -> str:
    return "".join(capfd.readouterr())


@MODES
def test_an_instance_is_created_read_updated_restarted_and_deleted(
    datafusion: DataFusionEmulatorHandle, deferrable: bool
) -> None:
    # The chain is templated: rendered, then honoured by the worker and the triggerer alike.
    chain = "\"{{ 'runner' }}@acme-data.iam.gserviceaccount.com\""
    args = common(deferrable, impersonation_chain=chain)
    body = f"""
    create = CdapCreateInstanceOperator(
        task_id="create", instance_name="etl",
        instance={{"type": "BASIC", "labels": {{"day": "{{{{ ds }}}}"}}}}, {args})
    get = CdapGetInstanceOperator(task_id="get", instance_name="etl", {args})
    update = CdapUpdateInstanceOperator(
        task_id="update", instance_name="etl", instance={{"labels": {{"tier": "gold"}}}},
        update_mask="labels", {args})
    restart = CdapRestartInstanceOperator(task_id="restart", instance_name="etl", {args})
    delete = CdapDeleteInstanceOperator(task_id="delete", instance_name="etl", {args})
    create >> get >> update >> restart >> delete
    """
    result = run_dag(body, imports=IMPORTS)

    assert set(result.states.values()) == {"success"}, result.states
    created = result.xcom("create")
    assert created["name"] == f"{NAME}/etl" and created["state"] == "ACTIVE"
    assert created["apiEndpoint"] == datafusion.config.api_endpoint
    assert created["labels"]["day"].count("-") == 2, "the instance body is templated"
    assert result.xcom("get")["serviceEndpoint"] == datafusion.config.service_endpoint
    assert result.xcom("update")["labels"] == {"tier": "gold"}
    assert result.xcom("restart")["state"] == "ACTIVE"
    deleted = result.xcom("delete")
    assert deleted["state"] == "DELETED" and deleted["labels"] == {"tier": "gold"}
    assert datafusion.runs() == []
    console = (
        f"https://console.cloud.google.com/data-fusion/locations/{LOCATION}/instances/etl?project={PROJECT}"
    )
    for task in ("create", "get", "update", "restart", "delete"):
        assert result.xcom(task, "cdap_instance_url") == console
    principals = datafusion.stats()["calls_by_principal"]
    assert set(principals) == {CLIENT_EMAIL, RUNNER}, "the key only asks IAM; the runner does the rest"
    assert datafusion.stats()["operations_by_verb"] == {"create": 1, "update": 1, "restart": 1, "delete": 1}


@MODES
def test_a_failed_operation_fails_the_task_with_its_error(
    datafusion: DataFusionEmulatorHandle, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    body = f"""
    CdapCreateInstanceOperator(
        task_id="create", instance_name="broken",
        instance={{"type": "BASIC", "labels": {{"emulator-fail": "create"}}}}, {common(deferrable)})
    """
    result = run_dag(body, imports=IMPORTS)

    assert result.states == {"create": "failed"}
    out = output(capfd)
    assert f"Data Fusion create instance {NAME}/broken failed: operation " in out
    assert "ended with error 13: Simulated failure of the create operation" in out
    assert datafusion.instance(PROJECT, LOCATION, "broken")["state"] == "FAILED"


@MODES
def test_an_unknown_instance_fails_naming_it(
    datafusion: DataFusionEmulatorHandle, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    body = f'CdapRestartInstanceOperator(task_id="restart", instance_name="ghost", {common(deferrable)})'
    result = run_dag(body, imports=IMPORTS)

    assert result.states == {"restart": "failed"}
    out = output(capfd)
    assert (
        f"Data Fusion restart instance {NAME}/ghost failed (HTTP 404): Resource '{NAME}/ghost' was not found"
        in out
    )


@MODES
def test_a_refused_impersonation_fails_clearly_and_shows_no_secret(
    datafusion: DataFusionEmulatorHandle, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    datafusion.config.refused_accounts = (LOCKED,)
    datafusion.put_instance(PROJECT, LOCATION, "etl")
    args = common(deferrable, impersonation_chain=repr([RUNNER, LOCKED]))
    body = f'CdapRestartInstanceOperator(task_id="restart", instance_name="etl", {args})'
    result = run_dag(body, imports=IMPORTS)

    assert result.states == {"restart": "failed"}
    out = output(capfd)
    assert f"Data Fusion: could not get a Google access token to impersonate {LOCKED}" in out
    assert "HTTP 403 PERMISSION_DENIED" in out
    key = default_key()
    assert key["private_key"].splitlines()[1] not in out and key["private_key_id"] not in out
    assert datafusion.stats()["operations"] == 0


def test_creating_an_existing_instance_adopts_it(datafusion: DataFusionEmulatorHandle) -> None:
    datafusion.put_instance(PROJECT, LOCATION, "etl", {"labels": {"owner": "ops"}})
    body = f"""
    CdapCreateInstanceOperator(task_id="create", instance_name="etl", instance={{"type": "BASIC"}},
        {common(True)})
    """
    result = run_dag(body, imports=IMPORTS)

    assert result.states == {"create": "success"}
    assert result.xcom("create")["labels"] == {"owner": "ops"}, "the existing instance, as it is"
    assert datafusion.stats()["operations"] == 0


def test_creating_over_a_failed_instance_fails(
    datafusion: DataFusionEmulatorHandle, capfd: pytest.CaptureFixture[str]
) -> None:
    datafusion.put_instance(PROJECT, LOCATION, "etl", state="FAILED")
    body = f"""
    CdapCreateInstanceOperator(task_id="create", instance_name="etl", instance={{"type": "BASIC"}},
        {common(False)})
    """
    result = run_dag(body, imports=IMPORTS)

    assert result.states == {"create": "failed"}
    assert f"Data Fusion instance {NAME}/etl exists already, in state FAILED: Simulated failure" in output(
        capfd
    )


def test_creating_an_instance_being_created_waits_for_it(datafusion: DataFusionEmulatorHandle) -> None:
    datafusion.config.create_seconds = 1.0
    DataFusionHook().create_instance(PROJECT, LOCATION, "etl", {"type": "DEVELOPER"})
    body = f"""
    CdapCreateInstanceOperator(task_id="create", instance_name="etl", instance={{"type": "DEVELOPER"}},
        {common(False)})
    """
    result = run_dag(body, imports=IMPORTS)

    assert result.states == {"create": "success"}
    assert result.xcom("create")["state"] == "ACTIVE"
    assert datafusion.stats()["operations"] == 1, "no second create"


@MODES
def test_an_operation_that_outlasts_the_timeout_fails_the_task(
    datafusion: DataFusionEmulatorHandle, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    datafusion.config.create_seconds = 30
    body = f"""
    CdapCreateInstanceOperator(task_id="create", instance_name="slow", instance={{"type": "BASIC"}},
        timeout=0.5, {common(deferrable)})
    """
    result = run_dag(body, imports=IMPORTS)

    assert result.states == {"create": "failed"}
    assert f"create instance {NAME}/slow: operation projects/" in output(capfd)
    assert datafusion.instance(PROJECT, LOCATION, "slow")["state"] == "CREATING"


def test_bad_input_ends_in_a_clear_error_naming_the_instance(
    datafusion: DataFusionEmulatorHandle, capfd: pytest.CaptureFixture[str]
) -> None:
    body = f"""
    not_a_dict = CdapCreateInstanceOperator(task_id="not_a_dict", instance_name="etl", instance="BASIC",
        {common(False)})
    no_type = CdapCreateInstanceOperator(task_id="no_type", instance_name="etl", instance={{"labels": {{}}}},
        {common(False)})
    bad_mask = CdapUpdateInstanceOperator(task_id="bad_mask", instance_name="etl",
        instance={{"type": "ENTERPRISE"}}, update_mask="type", {common(False)})
    """
    datafusion.put_instance(PROJECT, LOCATION, "etl")
    result = run_dag(body, imports=IMPORTS)

    assert result.states == {"not_a_dict": "failed", "no_type": "failed", "bad_mask": "failed"}
    out = output(capfd)
    assert f"Data Fusion instance {NAME}/etl: instance must be a dict (the Instance body), not str" in out
    assert f"Data Fusion create instance {NAME}/etl failed (HTTP 400): instance.type must be one of" in out
    assert f"Data Fusion update instance {NAME}/etl failed (HTTP 400): updateMask names fields" in out
