"""Airflow connections pointing at the emulators, as the JSON Airflow reads from ``AIRFLOW_CONN_<ID>``.

The credentials are the emulators' defaults (not secrets): use them to run your own DAGs offline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def emulator_connection(platform: str, url: str, **extra: Any) -> dict[str, Any]:
    """The connection of ``platform`` to an emulator serving at ``url``; ``extra`` adds to its extras."""
    builders = {
        # The emulator serves the UI pages the task links open, where it serves the API.
        "cdap": lambda: {"conn_type": "cdap", "host": url, "extra": {"ui_url": url}},
        "daggy": lambda: {"conn_type": "daggy", "host": url, "extra": {}},
        "tailer": lambda: {
            "conn_type": "tailer",
            "host": url,
            "extra": {
                "refresh_token": "emulator-refresh-token",
                "firebase_api_key": "emulator-api-key",
                "firebase_token_url": url + "/_emulator/firebase/v1/token",
            },
        },
        "flowengine": lambda: {
            "conn_type": "flowengine",
            "host": url,
            "extra": {"engine_key": "emulator-engine", "user_id": "1"},
        },
        "enos": lambda: {
            "conn_type": "enos",
            "host": url,
            "login": "emulator-app-key",
            "password": "emulator-app-secret",
            "extra": {"org_id": "o15589", "user_id": "u-airflow"},
        },
    }
    if platform not in builders:
        raise ValueError(f"no emulator for platform {platform!r}: use one of {sorted(builders)}")
    conn: dict[str, Any] = builders[platform]()
    conn["extra"].update(extra)
    return conn


def connection_env(urls: Mapping[str, str], **extra: Any) -> dict[str, str]:
    """``{"cdap": url, ...}`` -> ``{"AIRFLOW_CONN_CDAP_DEFAULT": "<json>", ...}``: each platform's
    default connection pointed at its emulator (Data Fusion: :func:`datafusion_env`)."""
    env: dict[str, str] = {}
    for platform, url in urls.items():
        if platform == "datafusion":
            env.update(datafusion_env(url))
            continue
        conn = emulator_connection(platform, url, **extra)
        env[f"AIRFLOW_CONN_{platform.upper()}_DEFAULT"] = json.dumps(conn)
    return env


def datafusion_env(url: str, project_id: str = "emulator-project") -> dict[str, str]:
    """
    The environment pointing the provider's Data Fusion calls at the emulator serving at ``url``: the
    management API and IAM URLs, and ``google_cloud_default`` (type ``google_cloud_platform``) holding
    a fresh service-account key whose ``token_uri`` is the emulator's (which accepts an unknown key's
    assertions unverified; a test registers its key to have them verified).
    """
    from airflow_provider_pipelines.emulators.datafusion import service_account_key

    key, _ = service_account_key(f"{url}/token", f"airflow@{project_id}.iam.gserviceaccount.com", project_id)
    conn = {"conn_type": "google_cloud_platform", "extra": {"keyfile_dict": json.dumps(key)}}
    return {
        "AIRFLOW__PIPELINES__DATAFUSION_API_URL": url,
        "AIRFLOW__PIPELINES__GOOGLE_IAM_URL": url,
        "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT": json.dumps(conn),
    }


def wire_datafusion(urls: Mapping[str, str], ui_url: str | None = None) -> None:
    """Point the Data Fusion emulator's instances (``apiEndpoint``, and ``serviceEndpoint``: ``ui_url``,
    else the CDAP emulator's URL) at the CDAP emulator, when both serve on ports picked at start."""
    if "datafusion" not in urls or "cdap" not in urls:
        return
    import requests

    cdap = urls["cdap"].rstrip("/")
    reply = requests.patch(
        f"{urls['datafusion'].rstrip('/')}/_emulator/datafusion/config",
        json={"api_endpoint": f"{cdap}/api", "service_endpoint": ui_url or cdap},
        timeout=10,
    )
    reply.raise_for_status()


def google_connection_from(datafusion_url: str) -> dict[str, Any]:
    """``google_cloud_default`` for the Data Fusion emulator at ``datafusion_url``: a key it minted, whose
    ``token_uri`` is that URL (for a stack where the emulator runs in another process, as in Docker)."""
    import requests

    reply = requests.post(f"{datafusion_url.rstrip('/')}/_emulator/datafusion/keys", json={}, timeout=10)
    reply.raise_for_status()
    return {"conn_type": "google_cloud_platform", "extra": {"keyfile_dict": json.dumps(reply.json())}}


if __name__ == "__main__":
    # docker-compose.yaml's airflow-init: python -m ...connections <datafusion> <cdap> <ui>: wires the
    # instances to the CDAP emulator and prints google_cloud_default's JSON.
    import sys

    datafusion_url, cdap_url, ui = sys.argv[1:4]
    wire_datafusion({"datafusion": datafusion_url, "cdap": cdap_url}, ui)
    print(json.dumps(google_connection_from(datafusion_url)))
