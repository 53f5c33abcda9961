"""Daggy (``daggyd``): the REST API of DAG runs, declared."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pipelines.connection_types import DAGGY_CONNECTION
from airflow_provider_pipelines.core.auth import Auth, StaticHeadersAuth, headers_extra
from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.plans import ApiCall, Plan, endpoint, get_call
from airflow_provider_pipelines.core.replies import reply_int, reply_mapping, reply_records
from airflow_provider_pipelines.core.settings import HttpSettings
from airflow_provider_pipelines.core.states import RunState, RunStatus, StateMap
from airflow_provider_pipelines.core.task import PipelineTask
from airflow_provider_pipelines.core.urls import url_path

if TYPE_CHECKING:
    from airflow.sdk import Connection

DEFAULT_PORT = 2503
# Run and task states. RETRY and PAUSED are in the server's enum but not in its documentation.
DAGGY_STATES = StateMap(
    {
        "QUEUED": RunState.PENDING,
        "RUNNING": RunState.RUNNING,
        "RETRY": RunState.RUNNING,
        "PAUSED": RunState.RUNNING,
        "COMPLETED": RunState.SUCCESS,
        "ERRORED": RunState.FAILED,
        "KILLED": RunState.FAILED,
    }
)
FAILED_TASK_STATES = ("ERRORED", "KILLED")
LOG_TAIL_LINES = 10
SEEN_STATES_KEPT = 1024  # runs whose last state one hook remembers (a hook usually watches one)


def tag_with_marker(tag: str | None, marker: str) -> str:
    """The run's tag, carrying the task marker so that a retry can find the run again."""
    suffix = f"[airflow:{marker}]"
    return f"{tag} {suffix}" if tag else suffix


def task_counts(task_states: Any) -> dict[str, int]:
    states = task_states.values() if isinstance(task_states, Mapping) else ()
    return dict(sorted(Counter(str(state) for state in states).items()))


def last_mapping(items: Any) -> Mapping[str, Any]:
    """The last entry of a reply's list when it is an object (a state change, a task attempt), else {}."""
    last = items[-1] if isinstance(items, list) and items else None
    return last if isinstance(last, Mapping) else {}


def run_number(value: Any) -> int | None:
    """A Daggy run id from a reply: a non-negative integer, or a string of its digits."""
    number = reply_int(value)
    return number if number is not None and number >= 0 else None


def format_counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{count} {state}" for state, count in counts.items()) or "no tasks"


def tail(text: Any, lines: int = LOG_TAIL_LINES) -> list[str]:
    return [line for line in str(text or "").splitlines() if line.strip()][-lines:]


def unusable_reply(error: PipelineApiError) -> bool:
    """A reply that came (2xx) but cannot be used: over the reply cap, not JSON, not the shape expected."""
    return error.status is not None and 200 <= error.status < 300


class DaggyHook(PipelineHook, connection=DAGGY_CONNECTION):
    """
    Talks to a Daggy server (``daggyd``).

    Connection (type ``daggy``): **host** and **port** of daggyd (default port 2503; ``http``
    unless the host says ``https://``). daggyd has no authentication of its own; when a proxy in
    front of it needs headers, put them in the ``headers`` extra (a JSON object; the values are
    treated as secrets). Other extras: ``verify``, ``ca_bundle``, ``timeout`` and the retry settings.

    :param daggy_conn_id: the connection id (default ``daggy_default``).
    """

    platform = "Daggy"
    state_map = DAGGY_STATES
    can_resume = True
    start_check = "Daggy's list of runs (GET /v1/dagruns?all=1)"
    credential_fields = "the headers extra (what the proxy in front of daggyd expects)"

    def settings_from_connection(self, conn: Connection) -> HttpSettings:
        return HttpSettings.from_connection(
            conn.host,
            schema=conn.schema or "http",
            port=conn.port or (None if conn.host and "://" in conn.host else DEFAULT_PORT),
            extras=conn.extra_dejson,
        )

    def auth_from_connection(self, conn: Connection) -> Auth:
        headers = headers_extra(conn.extra_dejson.get("headers"))
        return StaticHeadersAuth(headers) if headers else Auth()

    # -- calls ---------------------------------------------------------------------------------------

    @staticmethod
    def _run_path(run_id: int | str, *rest: str) -> str:
        return url_path("v1", "dagrun", str(run_id), *rest)

    def _object(self, call: ApiCall) -> Plan[dict[str, Any]]:
        """The call's reply, which must be a JSON object."""
        return reply_mapping(self.platform, call.name, (yield call))

    def ready_plan(self) -> Plan[dict[str, Any]]:
        """``GET /ready``: daggyd answers ``{"msg": "Ya like DAGs?"}``."""
        return (yield from self._object(ApiCall("ready check", "GET", "/ready")))

    def list_runs_plan(self, all_runs: bool = True) -> Plan[list[dict[str, Any]]]:
        """Runs with ``runID``, ``tag``, ``state``, ``startTime``, ``lastUpdate``, ``taskCounts``."""
        reply = yield ApiCall(
            "list runs", "GET", url_path("v1", "dagruns"), params={"all": 1 if all_runs else None}
        )
        return reply_records(self.platform, "list runs", reply)

    def validate_plan(self, dag_spec: Mapping[str, Any]) -> Plan[None]:
        """Raise :class:`PipelineApiError` with the server's reason when the DAG is not valid."""
        call = ApiCall("validate DAG", "POST", url_path("v1", "dagrun", "validate"), json=dict(dag_spec))
        reply = yield from self._object(call)
        if reply.get("valid") is not True:
            reason = reply.get("error") or reply.get("msg") or json.dumps(reply)
            raise PipelineApiError(self.platform, call.name, 200, f"the DAG is not valid: {reason}")

    def submit_plan(self, dag_spec: Mapping[str, Any]) -> Plan[int]:
        """Submit a DAG for execution; return its integer ``runID``."""
        call = ApiCall("submit DAG", "POST", url_path("v1", "dagrun"), json=dict(dag_spec), idempotent=False)
        reply = yield from self._object(call)
        run_id = run_number(reply.get("runID"))
        if run_id is None:
            raise PipelineApiError(
                self.platform, call.name, 200, f"the reply carries no runID: {reply!r:.200}"
            )
        return run_id

    def get_run_plan(self, run_id: int | str) -> Plan[dict[str, Any]]:
        """The run's full state: ``tasks``, ``taskStates``, ``taskAttempts``, ``dagStateChanges``."""
        return (yield from self._object(get_call("get run", self._run_path(run_id))))

    def kill_run_plan(self, run_id: int | str) -> Plan[None]:
        yield ApiCall("kill run", "DELETE", self._run_path(run_id), expect="none")

    def get_run_state_plan(self, run_id: int | str) -> Plan[str]:
        reply = yield from self._object(ApiCall("get run state", "GET", self._run_path(run_id, "state")))
        return str(reply.get("state") or "")

    def set_run_state_plan(self, run_id: int | str, state: str) -> Plan[None]:
        """``QUEUED`` restarts an errored or killed run."""
        yield ApiCall("set run state", "PATCH", self._run_path(run_id, "state", state), expect="none")

    def get_task_plan(self, run_id: int | str, task_name: str) -> Plan[dict[str, Any]]:
        return (
            yield from self._object(ApiCall("get task", "GET", self._run_path(run_id, "task", task_name)))
        )

    def kill_task_plan(self, run_id: int | str, task_name: str) -> Plan[None]:
        yield ApiCall("kill task", "DELETE", self._run_path(run_id, "task", task_name), expect="none")

    def get_task_state_plan(self, run_id: int | str, task_name: str) -> Plan[str]:
        call = ApiCall("get task state", "GET", self._run_path(run_id, "task", task_name, "state"))
        return str((yield from self._object(call)).get("state") or "")

    def set_task_state_plan(self, run_id: int | str, task_name: str, state: str) -> Plan[None]:
        """``QUEUED`` retries one errored or killed task."""
        path = self._run_path(run_id, "task", task_name, "state", state)
        yield ApiCall("set task state", "PATCH", path, expect="none")

    # -- the public sync API: each runs its plan -----------------------------------------------------

    ready = endpoint(ready_plan)
    list_runs = endpoint(list_runs_plan)
    validate_dag = endpoint(validate_plan)
    submit_dag = endpoint(submit_plan)
    get_run = endpoint(get_run_plan)
    kill_run = endpoint(kill_run_plan)
    get_run_state = endpoint(get_run_state_plan)
    set_run_state = endpoint(set_run_state_plan)
    get_task = endpoint(get_task_plan)
    kill_task = endpoint(kill_task_plan)
    get_task_state = endpoint(get_task_state_plan)
    set_task_state = endpoint(set_task_state_plan)

    def check_connection(self) -> str:
        """
        ``GET /ready``; daggyd asks for no credentials, so with a ``headers`` extra (a proxy in front
        of it) also a call the proxy must let through: ``GET /v1/dagruns``.
        """
        proxied = isinstance(self.client.auth, StaticHeadersAuth)
        self.ready()
        if not proxied:
            return "daggyd answered GET /ready"
        runs = self.run(self.list_runs_plan(all_runs=False))
        return f"daggyd answered GET /ready, and GET /v1/dagruns with the headers extra ({len(runs)} runs)"

    # -- the run protocol ----------------------------------------------------------------------------

    @staticmethod
    def run_ref(run_id: int | str) -> RunRef:
        return {"run_id": int(run_id)}

    @cached_property
    def _seen_states(self) -> dict[str, str]:
        """The state this hook last read for each run: the run document is read when it changes."""
        return {}

    def run_status_plan(self, run: Mapping[str, Any]) -> Plan[RunStatus]:
        """
        The run's state, from the light call ``GET /v1/dagrun/{id}/state``: a poll costs the same
        whatever the run's size.

        The task counts (``details["task_counts"]`` and the progress line) need the run document
        (``GET /v1/dagrun/{id}``: every task and its logs, so its size grows with the run). It is read
        only when the state differs from the one this hook last read for the run: once per state a
        wait sees (QUEUED, RUNNING, the end), never on a poll that finds the state unchanged, whose
        status then carries no counts and no progress. A document that comes back but cannot be used
        (over ``max_reply_bytes``, not JSON, not an object) costs only the counts; any other error
        reading it is the status read's error. When ``/state`` answers no state, the document's last
        ``dagStateChanges`` entry gives it.
        """
        run_id = run["run_id"]
        raw = yield from self.get_run_state_plan(run_id)
        seen = self._seen_states
        if raw and seen.get(str(run_id)) == raw:
            return RunStatus(raw, self.state_map.classify(raw))
        counts: dict[str, int] | None = None
        try:
            document = yield from self.get_run_plan(run_id)
        except PipelineApiError as exc:
            if not unusable_reply(exc):
                raise
        else:
            counts = task_counts(document.get("taskStates"))
            raw = raw or str(last_mapping(document.get("dagStateChanges")).get("state") or "")
        if raw:
            if len(seen) >= SEEN_STATES_KEPT:
                seen.clear()
            seen[str(run_id)] = raw
        if counts is None:
            return RunStatus(raw, self.state_map.classify(raw))
        return RunStatus(raw, self.state_map.classify(raw), {"task_counts": counts}, format_counts(counts))

    def cancel_plan(self, run: Mapping[str, Any]) -> Plan[None]:
        yield from self.kill_run_plan(run["run_id"])

    def resume_failed_plan(self, run: Mapping[str, Any]) -> Plan[None]:
        """Re-queue a failed run: Daggy runs its ERRORED and KILLED tasks again, keeping the others."""
        yield from self.set_run_state_plan(run["run_id"], "QUEUED")

    def failure_plan(self, run: Mapping[str, Any], status: Mapping[str, Any]) -> Plan[list[str]]:
        """The failed tasks and their last attempts' log tails: the run document, read once, at the end."""
        document = yield from self.get_run_plan(run["run_id"])
        states = document.get("taskStates")
        attempts = document.get("taskAttempts")
        attempts = attempts if isinstance(attempts, Mapping) else {}
        lines: list[str] = []
        failed: list[str] = []
        for name, state in sorted(states.items() if isinstance(states, Mapping) else ()):
            if state not in FAILED_TASK_STATES:
                continue
            tries = attempts.get(name)
            tries = tries if isinstance(tries, list) else []
            last = last_mapping(tries)
            rc = last.get("rc")
            failed.append(f"{name} ({state}{f', rc {rc}' if rc is not None else ''})")
            lines.append(f"task {name}: {state}, attempt {len(tries)}, rc {rc}")
            for stream in ("errorLog", "outputLog", "executorLog"):
                for line in tail(last.get(stream)):
                    lines.append(f"task {name} {stream}: {line}")
        lines.append("failed tasks: " + (", ".join(failed) if failed else "none reported"))
        return lines

    def find_run_plan(self, run_spec: Mapping[str, Any], marker: str) -> Plan[RunRef | None]:
        runs = yield from self.list_runs_plan(all_runs=True)
        suffix = tag_with_marker(None, marker)
        numbers = [
            number
            for r in runs
            if str(r.get("tag") or "").endswith(suffix) and (number := run_number(r.get("runID"))) is not None
        ]
        return self.run_ref(max(numbers)) if numbers else None


# -- what Daggy tasks act on: declared once for the operators and the sensor ----------------------------


class DaggyTask(PipelineTask):
    """A task on Daggy: ``daggy_conn_id``."""

    hook_class: ClassVar[type[PipelineHook]] = DaggyHook

    def __init__(self, *, daggy_conn_id: str = DaggyHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=daggy_conn_id, **kwargs)
        self.daggy_conn_id = daggy_conn_id


class DaggyRunTask(DaggyTask):
    """A task on one Daggy run (``run_id``, the ``runID``): the re-queue and kill operators' and the
    sensor's."""

    def __init__(self, *, run_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id

    def run_ref(self) -> RunRef:
        return DaggyHook.run_ref(self.run_id)
