"""Fixtures of the Data Fusion tests: the emulator plays the management API, Google's OAuth2 token endpoint
and IAM, and ``google_cloud_default`` holds a real service-account key (a fresh RSA key) whose
``token_uri`` is the emulator's, so google-auth signs and exchanges its assertions for real."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from airflow_provider_pipelines.emulators import pytest_plugin
from airflow_provider_pipelines.emulators.datafusion import DataFusionEmulatorHandle

_datafusion_emulator_session = pytest_plugin._datafusion_emulator_session
datafusion_emulator = pytest_plugin.datafusion_emulator

PROJECT, LOCATION = "acme-data", "us-central1"
CLIENT_EMAIL = "composer@acme-data.iam.gserviceaccount.com"
FAST_RETRIES = {"retry_initial_wait": 0.01, "retry_max_wait": 0.05}


def gcp_connection(key: dict[str, Any] | None, prefixed: bool = False, **extra: Any) -> str:
    """A ``google_cloud_platform`` connection as Composer / Google's provider write it."""
    extras: dict[str, Any] = {"keyfile_dict": json.dumps(key)} if key else {}
    extras.update(extra)
    if prefixed:
        extras = {f"extra__google_cloud_platform__{name}": value for name, value in extras.items()}
    return json.dumps({"conn_type": "google_cloud_platform", "extra": {**extras, **FAST_RETRIES}})


@pytest.fixture
def datafusion(
    datafusion_emulator: DataFusionEmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> DataFusionEmulatorHandle:
    """The emulator, with the provider's Data Fusion and IAM URLs and ``google_cloud_default`` on it."""
    monkeypatch.setenv("AIRFLOW__PIPELINES__DATAFUSION_API_URL", datafusion_emulator.url)
    monkeypatch.setenv("AIRFLOW__PIPELINES__GOOGLE_IAM_URL", datafusion_emulator.iam_url)
    key = datafusion_emulator.service_account_key(CLIENT_EMAIL, PROJECT)
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", gcp_connection(key))
    return datafusion_emulator


def default_key() -> dict[str, Any]:
    """The key ``google_cloud_default`` holds (set by the ``datafusion`` fixture)."""
    extras = json.loads(os.environ["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"])["extra"]
    return dict(json.loads(extras["keyfile_dict"]))
