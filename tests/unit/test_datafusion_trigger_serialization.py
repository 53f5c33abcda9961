"""DataFusionOperationTrigger survives the trip through the triggerer: serialize(), the kwargs stored as
Airflow stores them, the class imported from its classpath, the trigger made again; no secret travels."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_pipelines.triggers.datafusion import DataFusionOperationTrigger
from tests.unit.test_trigger_serialization import import_string, json_primitives, stored_and_loaded

EVERY_KWARG: dict[str, Any] = {
    "operation_name": "projects/p/locations/us-central1/operations/operation-1-abc",
    "gcp_conn_id": "gcp_etl",
    "impersonation_chain": ["a@p.iam.gserviceaccount.com", "b@p.iam.gserviceaccount.com"],
    "api_version": "v1beta1",
    "what": "create instance projects/p/locations/us-central1/instances/etl",
    "poll_interval": 2.5,
    "deadline": 1700003600.0,
    "fire_not_before": 1700000010.5,
    "carry": {"project": "p", "before": {"name": "projects/p/locations/us-central1/instances/etl"}},
}


@pytest.mark.parametrize("given", ["defaults", "every kwarg"])
def test_round_trips_through_airflows_trigger_storage(given: str) -> None:
    kwargs = EVERY_KWARG if given == "every kwarg" else {"operation_name": EVERY_KWARG["operation_name"]}
    trigger = DataFusionOperationTrigger(**kwargs)
    classpath, loaded = stored_and_loaded(trigger)
    assert classpath == "airflow_provider_pipelines.triggers.datafusion.DataFusionOperationTrigger"
    again = import_string(classpath)(**loaded)
    assert again.serialize() == trigger.serialize()


def test_every_kwarg_survives_as_json_primitives() -> None:
    _, serialized = DataFusionOperationTrigger(**EVERY_KWARG).serialize()
    assert serialized == EVERY_KWARG
    assert json_primitives(serialized) == []
    assert DataFusionOperationTrigger(operation_name="o", impersonation_chain=("a", "b")).serialize()[1][
        "impersonation_chain"
    ] == ["a", "b"], "a tuple travels as a list"


def test_kwargs_hold_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    key = {
        "type": "service_account",
        "private_key": "-----BEGIN PRIVATE KEY-----\nMIIsecret\n",
        "client_email": "x",
    }
    conn = {"conn_type": "google_cloud_platform", "extra": {"keyfile_dict": json.dumps(key)}}
    monkeypatch.setenv("AIRFLOW_CONN_GCP_ETL", json.dumps(conn))
    trigger = DataFusionOperationTrigger(**EVERY_KWARG)
    text = json.dumps(trigger.serialize()[1])
    assert "MIIsecret" not in text and "keyfile" not in text and "private" not in text
