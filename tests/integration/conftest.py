from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_pipelines.emulators.cdap import CdapEmulatorHandle


@pytest.fixture
def cdap(cdap_emulator: CdapEmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> CdapEmulatorHandle:
    """The CDAP emulator, with ``cdap_default`` pointing at it (as an environment connection)."""
    conn = {
        "conn_type": "cdap",
        "host": cdap_emulator.url,
        "extra": {"retry_initial_wait": 0.01, "retry_max_wait": 0.05, "ui_url": "http://cdap-ui:11011"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CDAP_DEFAULT", json.dumps(conn))
    return cdap_emulator


FAST_RETRIES = {"retry_initial_wait": 0.01, "retry_max_wait": 0.05}


@pytest.fixture
def daggy(daggy_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Daggy emulator, with ``daggy_default`` pointing at it (as an environment connection)."""
    conn = {"conn_type": "daggy", "host": daggy_emulator.url, "extra": FAST_RETRIES}
    monkeypatch.setenv("AIRFLOW_CONN_DAGGY_DEFAULT", json.dumps(conn))
    return daggy_emulator


def tailer_connection(emulator: Any, **extra: Any) -> dict[str, Any]:
    """A Tailer connection to the emulator, renewing tokens from the emulator's Firebase stand-in."""
    return {
        "conn_type": "tailer",
        "host": emulator.url,
        "extra": {
            **FAST_RETRIES,
            "refresh_token": "emulator-refresh-token",
            "firebase_api_key": emulator.config.api_key,
            "firebase_token_url": emulator.url + "/_emulator/firebase/v1/token",
            **extra,
        },
    }


@pytest.fixture
def tailer(tailer_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Tailer emulator, with ``tailer_default`` pointing at it with a refresh token."""
    monkeypatch.setenv("AIRFLOW_CONN_TAILER_DEFAULT", json.dumps(tailer_connection(tailer_emulator)))
    return tailer_emulator


def flowengine_connection(emulator: Any, **extra: Any) -> dict[str, Any]:
    return {
        "conn_type": "flowengine",
        "host": emulator.url,
        "extra": {**FAST_RETRIES, "engine_key": "emulator-engine", "user_id": "1", **extra},
    }


@pytest.fixture
def flowengine(flowengine_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The FlowEngine emulator, with ``flowengine_default`` pointing at it."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLOWENGINE_DEFAULT", json.dumps(flowengine_connection(flowengine_emulator))
    )
    return flowengine_emulator


def enos_connection(emulator: Any, **extra: Any) -> dict[str, Any]:
    return {
        "conn_type": "enos",
        "host": emulator.url,
        "login": emulator.config.app_key,
        "password": emulator.config.app_secret,
        "extra": {
            **FAST_RETRIES,
            "org_id": emulator.config.org_id,
            "user_id": emulator.config.user_id,
            **extra,
        },
    }


@pytest.fixture
def enos(enos_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The EnOS emulator, with ``enos_default`` pointing at it."""
    monkeypatch.setenv("AIRFLOW_CONN_ENOS_DEFAULT", json.dumps(enos_connection(enos_emulator)))
    return enos_emulator
