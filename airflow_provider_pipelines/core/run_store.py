"""
Where a task keeps the run it started, across its tries, until it concludes: Airflow 3.3+'s
``task_state_store``, elsewhere a Variable named after the task instance (Airflow clears XComs when a
new try starts). A store that cannot be reached never fails the task.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from airflow_provider_pipelines.core.errors import PipelineError

log = logging.getLogger(__name__)

STATE_STORE_KEY = "pipelines_run_ref"
VARIABLE_PREFIX = "airflow_provider_pipelines.run:"


class RunStore:
    """The run of one task instance (named by ``marker``), kept across tries."""

    def __init__(self, context: Mapping[str, Any], marker: str) -> None:
        self._state_store = context.get("task_state_store")
        self._variable_key = VARIABLE_PREFIX + marker

    @property
    def kind(self) -> str:
        return "task_state_store" if self._state_store is not None else "variable"

    def _read(self) -> Any:
        if self._state_store is not None:
            return self._state_store.get(STATE_STORE_KEY)
        raw = _variable().get(self._variable_key, default_var=None)
        return json.loads(raw) if raw else None

    def get(self) -> dict[str, Any] | None:
        """The kept run, or None. Raises :class:`TaskInstanceSuperseded` when Airflow says this try of
        the task no longer exists: it must not start anything."""
        try:
            value = self._read()
        except Exception as exc:  # the store is a convenience: never fail the task over it...
            if _task_instance_gone(exc):  # ...unless this try was superseded by another one
                raise TaskInstanceSuperseded() from None
            log.warning("Could not read the run kept by an earlier try (%s): %s", self.kind, exc)
            return None
        return dict(value) if isinstance(value, Mapping) and "run_id" in value else None

    def get_attempt(self) -> dict[str, Any] | None:
        """A start an earlier try (or execution) claimed without keeping its run: it may have started one."""
        try:
            value = self._read()
        except Exception as exc:
            log.warning("Could not read the start noted by an earlier try (%s): %s", self.kind, exc)
            return None
        attempt = value.get("attempt") if isinstance(value, Mapping) and "run_id" not in value else None
        return dict(attempt) if isinstance(attempt, Mapping) and attempt.get("marker") else None

    def claim(self, attempt: Mapping[str, Any]) -> None:
        """
        Just before a start: note the attempt, so that a later try can find what it started even when
        this one dies before keeping the run. Raises :class:`TaskInstanceSuperseded` when Airflow no
        longer knows this try: Airflow can execute a try twice (a deferred task resumed while the
        scheduler already retried it), and the stale execution must not start a second run. Airflow
        Variables (the fallback store) cannot tell.
        """
        value = {"starting": True, "attempt": dict(attempt)}
        try:
            if self._state_store is not None:
                self._state_store.set(STATE_STORE_KEY, value)
            else:
                _variable().set(self._variable_key, json.dumps(value))
        except Exception as exc:
            if self._state_store is not None and _task_instance_gone(exc):
                raise TaskInstanceSuperseded() from None
            log.warning("Could not note the start (%s): %s", self.kind, exc)

    def set(self, run: Mapping[str, Any]) -> None:
        try:
            if self._state_store is not None:
                self._state_store.set(STATE_STORE_KEY, dict(run))
            else:
                _variable().set(self._variable_key, json.dumps(dict(run)))
        except Exception as exc:
            log.warning("Could not keep run %s for a later try (%s): %s", run.get("run_id"), self.kind, exc)

    def delete(self) -> None:
        try:
            if self._state_store is not None:
                self._state_store.delete(STATE_STORE_KEY)
            else:
                _variable().delete(self._variable_key)
        except Exception as exc:
            log.warning("Could not drop the kept run (%s): %s", self.kind, exc)


class TaskInstanceSuperseded(PipelineError):
    """The execution API no longer knows this try (moved to history): a stale process must not start."""

    def __init__(self) -> None:
        super().__init__(
            "Airflow no longer knows this try of the task (another try superseded it): "
            "not starting a run from it"
        )


def _task_instance_gone(exc: Exception) -> bool:
    """An execution API error saying the task instance is not found (404) or archived (410)."""
    detail = getattr(getattr(exc, "error", None), "detail", None)
    return isinstance(detail, Mapping) and detail.get("status_code") in (404, 410)


def _variable() -> Any:
    try:
        from airflow.sdk import Variable
    except ImportError:  # Airflow 2
        from airflow.models.variable import Variable
    return Variable
