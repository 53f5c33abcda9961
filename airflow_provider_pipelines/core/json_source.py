"""A JSON object given as a dict, a JSON string or the path of a JSON file (DAG specs, templates)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow_provider_pipelines.core.errors import PipelineError


def load_json_object(value: Mapping[str, Any] | str, what: str) -> dict[str, Any]:
    """A deep copy of ``value`` as a dict; ``what`` names it in errors (e.g. ``Daggy dag_spec``)."""
    if isinstance(value, Mapping):
        return json.loads(json.dumps(value))
    text = str(value).strip()
    source = what
    if not text.startswith("{"):
        path = Path(text)
        try:
            text = path.read_text()
        except OSError as exc:
            raise PipelineError(f"{what} is neither JSON nor a readable file: {exc}") from None
        source = f"{what} ({path})"
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise PipelineError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise PipelineError(f"{source} must hold a JSON object, not {type(loaded).__name__}")
    return loaded
