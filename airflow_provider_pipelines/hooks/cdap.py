"""CDAP / Google Cloud Data Fusion: the REST API of pipeline runs, declared."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from airflow_provider_pipelines.connection_types import CDAP_CONNECTION
from airflow_provider_pipelines.core.auth import Auth, BearerTokenAuth
from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.plans import ApiCall, Plan, endpoint, get_call
from airflow_provider_pipelines.core.replies import (
    reply_http_status,
    reply_id,
    reply_mapping,
    reply_records,
    unexpected_reply,
)
from airflow_provider_pipelines.core.settings import as_bool
from airflow_provider_pipelines.core.states import RunState, RunStatus, StateMap
from airflow_provider_pipelines.core.task import PipelineTask
from airflow_provider_pipelines.core.urls import url_path
from airflow_provider_pipelines.links.cdap import CdapPipelineLink

if TYPE_CHECKING:
    from airflow.sdk import Connection, Context

PipelineType = Literal["batch", "streaming"]

MARKER_ARG = "airflow.pipelines.task"
# programType, programId and the path segments of each kind of pipeline.
PROGRAMS: dict[str, tuple[str, str, str]] = {
    "batch": ("workflow", "DataPipelineWorkflow", "workflows"),
    "streaming": ("spark", "DataStreamsSparkStreaming", "spark"),
}
CDAP_STATES = StateMap(
    {
        "PENDING": RunState.PENDING,
        "STARTING": RunState.PENDING,
        "RUNNING": RunState.RUNNING,
        "SUSPENDED": RunState.RUNNING,
        "RESUMING": RunState.RUNNING,
        "STOPPING": RunState.RUNNING,
        "COMPLETED": RunState.SUCCESS,
        "FAILED": RunState.FAILED,
        "KILLED": RunState.FAILED,
        "REJECTED": RunState.FAILED,
    }
)


def program(pipeline_type: str) -> tuple[str, str, str]:
    try:
        return PROGRAMS[pipeline_type]
    except KeyError:
        raise ValueError(f"pipeline_type must be 'batch' or 'streaming', not {pipeline_type!r}") from None


def runtime_arg_text(key: Any, value: Any) -> str:
    """
    A runtime argument's value as CDAP reads it (every value is a string): strings as they are;
    numbers, booleans, dicts and lists as JSON text (``3``, ``2.5``, ``true``, ``{"a":1}``).
    ``None`` is refused (``ValueError`` naming the key): CDAP would read the text ``None``.
    """
    if value is None:
        raise ValueError(f"CDAP runtime argument {str(key)!r} is None: give a string, or leave the key out")
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float | Mapping | list | tuple):
        try:
            # Inside: other mappings as objects; anything JSON has no type for as its text.
            return json.dumps(
                value, separators=(",", ":"), default=lambda o: dict(o) if isinstance(o, Mapping) else str(o)
            )
        except ValueError as exc:  # a structure that contains itself
            raise ValueError(f"CDAP runtime argument {str(key)!r} cannot be written as JSON: {exc}") from None
    return str(value)


class CdapHook(PipelineHook, connection=CDAP_CONNECTION):
    """
    Talks to CDAP's router or to a Cloud Data Fusion instance's ``apiEndpoint``.

    Connection (type ``cdap``): **host** is the base URL (``http://cdap:11015`` or
    ``https://<instance>-<project>-dot-<region>.datafusion.googleusercontent.com/api``).
    Auth, by the ``auth_type`` extra or inferred: ``none``; ``bearer`` (a token in **password**);
    ``google`` (a service-account key in the ``keyfile_dict`` or ``key_path`` extra, or, with
    neither, application default credentials as on Cloud Composer). Other extras: ``ui_url``
    (the UI's base URL for task links), ``verify``, ``ca_bundle``, ``connect_timeout``, ``timeout``
    and the retry settings.

    :param cdap_conn_id: the connection id (default ``cdap_default``).
    """

    platform = "CDAP"
    state_map = CDAP_STATES
    stopping_states = frozenset({"STOPPING"})
    start_check = "the pipeline's runs in the CDAP UI (or GET .../workflows/DataPipelineWorkflow/runs)"
    credential_fields = "the token in the password, or the keyfile_dict / key_path extras (Google auth)"
    failure_log_lines = 20

    def __init__(self, cdap_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(conn_id=cdap_conn_id or kwargs.pop("conn_id", None), **kwargs)

    def auth_from_connection(self, conn: Connection) -> Auth:
        extras = conn.extra_dejson
        auth_type = str(extras.get("auth_type") or "").lower()
        if not auth_type:
            if (
                extras.get("keyfile_dict")
                or extras.get("key_path")
                or as_bool(extras.get("use_google_credentials"))
            ):
                auth_type = "google"
            else:
                auth_type = "bearer" if conn.password else "none"
        if auth_type == "none":
            return Auth()
        if auth_type == "bearer":
            if not conn.password:
                raise ValueError("auth_type bearer needs the token in the connection's password")
            return BearerTokenAuth(conn.password)
        if auth_type == "google":
            from airflow_provider_pipelines.core.google_auth import GoogleCredentialsAuth

            return GoogleCredentialsAuth(
                keyfile_dict=extras.get("keyfile_dict"), key_path=extras.get("key_path")
            )
        raise ValueError(f"unknown auth_type {auth_type!r} (expected none, bearer or google)")

    def ui_url(self) -> str:
        """The UI's base URL: the ``ui_url`` extra, else the API URL without Data Fusion's ``/api``."""
        conn = self.get_connection(self.conn_id)
        explicit = conn.extra_dejson.get("ui_url")
        if explicit:
            return str(explicit).rstrip("/")
        base = self.settings_from_connection(conn).base_url
        return base[: -len("/api")] if base.endswith("/api") else base

    def pipeline_ui_url(self, pipeline_name: str, namespace: str = "default") -> str:
        return self.ui_url() + url_path("pipelines", "ns", namespace, "view", pipeline_name)

    # -- calls --------------------------------------------------------------------------------------

    @staticmethod
    def program_path(namespace: str, pipeline_name: str, pipeline_type: str, *rest: str) -> str:
        _, program_id, kind = program(pipeline_type)
        return url_path("v3", "namespaces", namespace, "apps", pipeline_name, kind, program_id, *rest)

    def start_plan(
        self,
        pipeline_name: str,
        namespace: str = "default",
        runtime_args: Mapping[str, Any] | None = None,
        pipeline_type: str = "batch",
    ) -> Plan[str]:
        """Start a run through the batch start endpoint; return its run id."""
        program_type, program_id, _ = program(pipeline_type)
        call = ApiCall(
            "start pipeline",
            "POST",
            url_path("v3", "namespaces", namespace, "start"),
            json=[
                {
                    "appId": pipeline_name,
                    "programType": program_type,
                    "programId": program_id,
                    "runtimeargs": {str(k): runtime_arg_text(k, v) for k, v in (runtime_args or {}).items()},
                }
            ],
            idempotent=False,
        )
        reply = yield call
        item = reply[0] if isinstance(reply, list) and reply and isinstance(reply[0], Mapping) else None
        if item is None:
            raise unexpected_reply(self.platform, call.name, reply)
        run_id = reply_id(item.get("runId"))
        status = item.get("statusCode", 200)
        if run_id is None or status != 200:
            message = item.get("error") or "the reply carries no run id"
            raise PipelineApiError(
                self.platform, call.name, reply_http_status(status), f"{pipeline_name}: {message}"
            )
        return run_id

    def get_run_plan(
        self, pipeline_name: str, run_id: str, namespace: str = "default", pipeline_type: str = "batch"
    ) -> Plan[dict[str, Any]]:
        """The run record: ``runid``, ``status``, ``starting``/``start``/``end``, ``properties``..."""
        path = self.program_path(namespace, pipeline_name, pipeline_type, "runs", run_id)
        return reply_mapping(self.platform, "get run", (yield get_call("get run", path)))

    def stop_run_plan(
        self, pipeline_name: str, run_id: str, namespace: str = "default", pipeline_type: str = "batch"
    ) -> Plan[None]:
        """Stop this run (the run-level stop; never the program-level one, which stops any run)."""
        path = self.program_path(namespace, pipeline_name, pipeline_type, "runs", run_id, "stop")
        yield ApiCall("stop run", "POST", path, expect="none")

    def list_runs_plan(
        self,
        pipeline_name: str,
        namespace: str = "default",
        pipeline_type: str = "batch",
        status: str | None = None,
        start: int | None = None,
        end: int | None = None,
        limit: int | None = None,
    ) -> Plan[list[dict[str, Any]]]:
        """Run records, newest first; ``start``/``end`` are epoch seconds."""
        path = self.program_path(namespace, pipeline_name, pipeline_type, "runs")
        params = {"status": status, "start": start, "end": end, "limit": limit}
        return reply_records(
            self.platform, "list runs", (yield ApiCall("list runs", "GET", path, params=params))
        )

    def logs_plan(
        self,
        pipeline_name: str,
        run_id: str,
        namespace: str = "default",
        pipeline_type: str = "batch",
        start: int | None = None,
        stop: int | None = None,
    ) -> Plan[str]:
        """The run's log as text."""
        path = self.program_path(namespace, pipeline_name, pipeline_type, "runs", run_id, "logs")
        params = {"start": start, "stop": stop, "format": "text"}
        text = yield ApiCall("read run logs", "GET", path, params=params, expect="text")
        return str(text or "")

    # -- the public sync API: each runs its plan -----------------------------------------------------

    start_pipeline = endpoint(start_plan)
    get_run = endpoint(get_run_plan)
    stop_run = endpoint(stop_run_plan)
    list_runs = endpoint(list_runs_plan)
    get_run_logs = endpoint(logs_plan)

    def namespace_plan(self, namespace: str) -> Plan[Any]:
        return (yield ApiCall("get namespace", "GET", url_path("v3", "namespaces", namespace)))

    def check_connection(self) -> str:
        """
        Reads namespace ``default`` (``GET /v3/namespaces/default``, through Data Fusion's ``/api``
        too): a call that needs valid credentials wherever CDAP asks for them.
        """
        how = {"BearerTokenAuth": "with the bearer token", "GoogleCredentialsAuth": "with Google credentials"}
        auth = type(self.client.auth).__name__
        reply_mapping(self.platform, "get namespace", self.run(self.namespace_plan("default")))
        return f"read namespace default {how.get(auth, 'without credentials')}"

    # -- the run protocol -----------------------------------------------------------------------------

    @staticmethod
    def run_ref(
        pipeline_name: str, run_id: str, namespace: str = "default", pipeline_type: str = "batch"
    ) -> RunRef:
        program(pipeline_type)
        return {
            "run_id": run_id,
            "pipeline_name": pipeline_name,
            "namespace": namespace,
            "pipeline_type": pipeline_type,
        }

    @staticmethod
    def _identity(run: Mapping[str, Any]) -> tuple[str, str, str, str]:
        return (
            run["pipeline_name"],
            run["run_id"],
            run.get("namespace", "default"),
            run.get("pipeline_type", "batch"),
        )

    def describe_run(self, run: Mapping[str, Any]) -> str:
        return f"CDAP run {run['run_id']} of pipeline {run.get('pipeline_name')}"

    def success_states(self, run: Mapping[str, Any]) -> list[str] | None:
        """Streaming pipelines never complete: for them, a run that is RUNNING has succeeded in starting."""
        return ["RUNNING"] if run.get("pipeline_type", "batch") == "streaming" else None

    def run_status_plan(self, run: Mapping[str, Any]) -> Plan[RunStatus]:
        record = yield from self.get_run_plan(*self._identity(run))
        raw = str(record.get("status") or "")
        details = {k: record.get(k) for k in ("starting", "start", "end") if record.get(k) is not None}
        return RunStatus(raw, self.state_map.classify(raw), details)

    def cancel_plan(self, run: Mapping[str, Any]) -> Plan[None]:
        yield from self.stop_run_plan(*self._identity(run))

    def failure_plan(self, run: Mapping[str, Any], status: Mapping[str, Any]) -> Plan[list[str]]:
        text = yield from self.logs_plan(*self._identity(run))
        lines = [line for line in text.splitlines() if line.strip()]
        return lines[-self.failure_log_lines :]

    def find_run_plan(self, run_spec: Mapping[str, Any], marker: str) -> Plan[RunRef | None]:
        name, namespace = run_spec["pipeline_name"], run_spec.get("namespace", "default")
        pipeline_type = run_spec.get("pipeline_type", "batch")
        runs = yield from self.list_runs_plan(name, namespace, pipeline_type, limit=25)
        for record in runs:
            run_id = reply_id(record.get("runid"))
            if run_id is not None and runtime_args_of(record).get(MARKER_ARG) == marker:
                return self.run_ref(name, run_id, namespace, pipeline_type)
        return None

    # -- the deployed pipeline (application detail): what lineage reads -----------------------------

    def get_pipeline_plan(self, pipeline_name: str, namespace: str = "default") -> Plan[dict[str, Any]]:
        """
        The deployed pipeline (``GET /v3/namespaces/{ns}/apps/{pipeline}``): CDAP's application detail,
        whose ``configuration`` is the pipeline's config (stages, plugins, connections) as a JSON string.
        """
        path = url_path("v3", "namespaces", namespace, "apps", pipeline_name)
        reply = yield ApiCall("get pipeline", "GET", path)
        return reply_mapping(self.platform, "get pipeline", reply)

    get_pipeline = endpoint(get_pipeline_plan)


def runtime_args_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """A run record's runtime arguments, which CDAP stores as a JSON string inside ``properties``."""
    properties = record.get("properties")
    raw = properties.get("runtimeArgs") if isinstance(properties, Mapping) else None
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        parsed = json.loads(raw) if isinstance(raw, str) and raw else {}
    except (ValueError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


# -- what CDAP tasks act on: declared once for the start and stop operators and the sensor ------------


class CdapPipelineTask(PipelineTask):
    """
    A task on one CDAP pipeline: ``pipeline_name``, ``namespace``, ``pipeline_type`` (``batch`` or
    ``streaming``, checked when the DAG is parsed) and ``cdap_conn_id``. The pipeline's page in the
    CDAP UI is pushed for the task's link.
    """

    hook_class: ClassVar[type[PipelineHook]] = CdapHook

    def __init__(
        self,
        *,
        pipeline_name: str,
        namespace: str = "default",
        pipeline_type: str = "batch",
        cdap_conn_id: str = CdapHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=cdap_conn_id, **kwargs)
        program(pipeline_type)
        self.pipeline_name = pipeline_name
        self.namespace = namespace
        self.pipeline_type = pipeline_type
        self.cdap_conn_id = cdap_conn_id

    def pipeline_run(self, run_id: str) -> RunRef:
        """A run of this pipeline."""
        return CdapHook.run_ref(self.pipeline_name, run_id, self.namespace, self.pipeline_type)

    def persist_links(self, hook: PipelineHook, context: Context) -> None:
        assert isinstance(hook, CdapHook)
        url = hook.pipeline_ui_url(self.pipeline_name, self.namespace)
        context["ti"].xcom_push(key=CdapPipelineLink.url_key, value=url)


class CdapPipelineRunTask(CdapPipelineTask):
    """A task on one run (``run_id``) of a CDAP pipeline: the stop operator's and the sensor's."""

    def __init__(self, *, run_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id

    def run_ref(self) -> RunRef:
        return self.pipeline_run(self.run_id)
