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
    default connection pointed at its emulator."""
    return {
        f"AIRFLOW_CONN_{platform.upper()}_DEFAULT": json.dumps(emulator_connection(platform, url, **extra))
        for platform, url in urls.items()
    }
