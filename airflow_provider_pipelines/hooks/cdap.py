"""CDAP / Google Cloud Data Fusion: the REST API of pipeline runs, declared."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import cached_property
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
from airflow_provider_pipelines.core.settings import HttpSettings, as_bool
from airflow_provider_pipelines.core.states import RunState, RunStatus, StateMap
from airflow_provider_pipelines.core.task import PipelineTask
from airflow_provider_pipelines.core.urls import url_path
from airflow_provider_pipelines.links.cdap import CdapPipelineLink, CdapPipelinesListLink

if TYPE_CHECKING:
    from airflow.sdk import Connection, Context

    from airflow_provider_pipelines.core.clients import AsyncApiClient
    from airflow_provider_pipelines.core.trigger import PipelineRunTrigger
    from airflow_provider_pipelines.core.watch import Wait
    from airflow_provider_pipelines.hooks.datafusion import DataFusionHook

PipelineType = Literal["batch", "streaming"]

MARKER_ARG = "airflow.pipelines.task"
GCP_CONN_ID = "google_cloud_default"
# The parameters that address a Data Fusion instance instead of a cdap connection (templated where given).
INSTANCE_FIELDS = ("project_id", "location", "instance_name", "impersonation_chain")
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


ROUTER_PORT, UI_PORT = 11015, 11011


def default_ui_url(base_url: str) -> str:
    """The UI beside an API URL: Data Fusion's ``.../api`` without ``/api``; a CDAP router's port 11015
    as the UI's 11011; any other URL as it is (a UI served where the API is)."""
    from urllib.parse import urlsplit, urlunsplit

    base = base_url.rstrip("/")
    if base.endswith("/api"):
        return base[: -len("/api")]
    parts = urlsplit(base)
    if parts.port == ROUTER_PORT:
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = (userinfo + "@" if userinfo else "") + f"{host}:{UI_PORT}"
        return urlunsplit(parts._replace(netloc=netloc))
    return base


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

    Or, instead of a ``cdap`` connection, a Cloud Data Fusion instance by ``project_id``, ``location``
    and ``instance_name``: its ``apiEndpoint`` is read once through the Data Fusion API and the calls
    carry the Google Cloud connection's credentials (``gcp_conn_id``), impersonating the last account of
    ``impersonation_chain`` when one is given; task links open the instance's ``serviceEndpoint``.

    :param cdap_conn_id: the connection id (default ``cdap_default``); not used with ``instance_name``.
    :param project_id: the instance's project (default: the Google Cloud connection's).
    :param location: the instance's region, e.g. ``us-central1``.
    :param instance_name: the Data Fusion instance.
    :param gcp_conn_id: the Google Cloud connection (default ``google_cloud_default``).
    :param impersonation_chain: a service account to act as, or a delegation chain ``[a, b, c]``.
    :param api_endpoint: the instance's ``apiEndpoint`` when already known (the trigger's, resolved on
        the worker); read from the Data Fusion API otherwise.
    """

    platform = "CDAP"
    state_map = CDAP_STATES
    stopping_states = frozenset({"STOPPING"})
    start_check = "the pipeline's runs in the CDAP UI (or GET .../workflows/DataPipelineWorkflow/runs)"
    credential_fields = "the token in the password, or the keyfile_dict / key_path extras (Google auth)"
    failure_log_lines = 20

    def __init__(
        self,
        cdap_conn_id: str | None = None,
        *,
        project_id: str | None = None,
        location: str | None = None,
        instance_name: str | None = None,
        gcp_conn_id: str = GCP_CONN_ID,
        impersonation_chain: str | Sequence[str] | None = None,
        api_endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        conn_id = cdap_conn_id or kwargs.pop("conn_id", None)
        if instance_name:  # the Google Cloud connection is the one looked up
            if not location:
                raise ValueError(
                    f"CDAP: instance_name {instance_name!r} needs its location (e.g. us-central1)"
                )
            conn_id = gcp_conn_id or GCP_CONN_ID
        super().__init__(conn_id=conn_id, **kwargs)
        self.project_id = project_id or None
        self.location = location
        self.instance_name = instance_name or None
        self.gcp_conn_id = gcp_conn_id or GCP_CONN_ID
        self.impersonation_chain = impersonation_chain
        self._api_endpoint = api_endpoint.rstrip("/") if api_endpoint else None

    def __repr__(self) -> str:
        if not self.instance_name:
            return super().__repr__()
        return f"{type(self).__name__}(instance={self.instance_name!r}, gcp_conn_id={self.gcp_conn_id!r})"

    # -- a Data Fusion instance by its names ---------------------------------------------------------

    @cached_property
    def datafusion(self) -> DataFusionHook:
        """The Data Fusion hook resolving this instance (its calls carry the same credentials)."""
        from airflow_provider_pipelines.hooks.datafusion import DataFusionHook

        return DataFusionHook(gcp_conn_id=self.gcp_conn_id, impersonation_chain=self.impersonation_chain)

    def api_endpoint(self) -> str:
        """The instance's ``apiEndpoint``, read once per hook (only with ``instance_name``)."""
        if self._api_endpoint is None:
            assert self.instance_name and self.location
            self._api_endpoint = self.datafusion.api_endpoint(
                self.project_id, self.location, self.instance_name
            )
            self.project_id = self.project_id or self.datafusion.project(None)
        return self._api_endpoint

    def instance_kwargs(self) -> dict[str, Any] | None:
        """
        Where a trigger finds this instance without asking the Data Fusion API again: the resolved
        ``api_endpoint``, the names and the Google Cloud connection id and impersonation chain (JSON
        primitives, no credential). None for a ``cdap`` connection.
        """
        if not self.instance_name:
            return None
        from airflow_provider_pipelines.core.google_auth import chain_of

        endpoint = self.api_endpoint()
        return {
            "project_id": self.project_id,
            "location": self.location,
            "instance_name": self.instance_name,
            "gcp_conn_id": self.gcp_conn_id,
            "impersonation_chain": chain_of(self.impersonation_chain) or None,
            "api_endpoint": endpoint,
        }

    def settings_from_connection(self, conn: Connection) -> HttpSettings:
        if not self.instance_name:
            return super().settings_from_connection(conn)
        return HttpSettings.from_connection(self.api_endpoint(), extras=conn.extra_dejson)

    @asynccontextmanager
    async def async_client(self) -> AsyncIterator[AsyncApiClient]:
        """The shared client of the connection, or, for an instance, of its endpoint and identity."""
        if not self.instance_name:
            async with super().async_client() as client:
                yield client
            return
        from airflow_provider_pipelines.core.client_pool import shared_client
        from airflow_provider_pipelines.core.clients import AsyncApiClient
        from airflow_provider_pipelines.core.google_auth import chain_of

        async def open_client() -> AsyncApiClient:
            return await AsyncApiClient(self.platform, *await self._aconfigure()).open()

        endpoint = await asyncio.to_thread(self.api_endpoint)
        key = (type(self), self.conn_id, endpoint, tuple(chain_of(self.impersonation_chain)))
        async with shared_client(key, open_client) as client:
            yield client

    def auth_from_connection(self, conn: Connection) -> Auth:
        extras = conn.extra_dejson
        if self.instance_name:
            from airflow_provider_pipelines.core.google_auth import google_cloud_auth

            # The Data Fusion hook that resolved the endpoint holds a token for this very identity.
            resolver = self.__dict__.get("datafusion")
            if resolver is not None and resolver._client is not None:
                return resolver._client.auth
            return google_cloud_auth(extras, self.impersonation_chain)
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
        """
        The UI's base URL: the connection's ``ui_url`` extra; else, for a Data Fusion ``apiEndpoint``
        (ending in ``/api``), the same URL without ``/api`` (the instance's ``serviceEndpoint``); else,
        for a CDAP router on its default port 11015, the same host on the UI's port 11011; else the
        connection's URL.
        """
        if self.instance_name:
            assert self.location
            service = self.datafusion.service_endpoint(self.project_id, self.location, self.instance_name)
            return service or default_ui_url(self.api_endpoint())
        conn = self.get_connection(self.conn_id)
        explicit = conn.extra_dejson.get("ui_url")
        if explicit:
            return str(explicit).rstrip("/")
        return default_ui_url(self.settings_from_connection(conn).base_url)

    def pipeline_ui_url(self, pipeline_name: str, namespace: str = "default") -> str:
        """The pipeline's page: ``{ui}/pipelines/ns/{ns}/view/{pipeline}``."""
        return self.ui_url() + url_path("pipelines", "ns", namespace, "view", pipeline_name)

    def pipelines_ui_url(self, namespace: str = "default") -> str:
        """The namespace's list of pipelines: ``{ui}/cdap/ns/{ns}/pipelines``."""
        return self.ui_url() + url_path("cdap", "ns", namespace, "pipelines")

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

    # -- pipelines: deploy, delete, list (CDAP applications) -----------------------------------------

    def create_pipeline_plan(
        self, pipeline_name: str, pipeline: Mapping[str, Any], namespace: str = "default"
    ) -> Plan[dict[str, Any]]:
        """
        Deploy ``pipeline`` (the pipeline JSON: ``artifact`` and ``config``) as ``pipeline_name``, or
        replace the pipeline of that name (``PUT /v3/namespaces/{ns}/apps/{pipeline}``). Returns the
        application record CDAP answers (older CDAP answers text: then ``{}``).
        """
        call = ApiCall(
            f"create pipeline {pipeline_name!r}",
            "PUT",
            url_path("v3", "namespaces", namespace, "apps", pipeline_name),
            json=dict(pipeline),
            expect="text",
        )
        text = yield call
        try:
            record = json.loads(text) if text and str(text).strip() else {}
        except ValueError:  # "Deploy Complete" of older versions
            return {}
        return dict(record) if isinstance(record, Mapping) else {}

    def delete_pipeline_plan(
        self, pipeline_name: str, namespace: str = "default", version: str | None = None
    ) -> Plan[None]:
        """Delete the pipeline (every version), or only ``version`` of it. CDAP answers 409 while it runs."""
        segments = ["v3", "namespaces", namespace, "apps", pipeline_name]
        if version:
            segments += ["versions", version]
        what = f"pipeline {pipeline_name!r}" + (f" version {version!r}" if version else "")
        yield ApiCall(f"delete {what}", "DELETE", url_path(*segments), expect="none")

    def list_pipelines_plan(
        self,
        namespace: str = "default",
        artifact_name: str | Sequence[str] | None = None,
        artifact_version: str | None = None,
    ) -> Plan[list[dict[str, Any]]]:
        """
        The pipelines (applications) of ``namespace``: ``name``, ``version``, ``description``,
        ``artifact``; filtered by artifact names (a list, or comma-separated) and version.
        """
        names = artifact_name if isinstance(artifact_name, str | None) else ",".join(artifact_name)
        params = {"artifactName": names or None, "artifactVersion": artifact_version or None}
        call = ApiCall(
            "list pipelines", "GET", url_path("v3", "namespaces", namespace, "apps"), params=params
        )
        return reply_records(self.platform, call.name, (yield call))

    create_pipeline = endpoint(create_pipeline_plan)
    list_pipelines = endpoint(list_pipelines_plan)

    def delete_pipeline(
        self,
        pipeline_name: str,
        namespace: str = "default",
        version: str | None = None,
        *,
        conflict_timeout: float = 300.0,
        missing_ok: bool = False,
    ) -> bool:
        """
        Delete the pipeline (or one ``version`` of it). While CDAP refuses with 409 (a run is still
        active, or the pipeline is otherwise in use), try again with backoff for up to
        ``conflict_timeout`` seconds, then raise its 409. A pipeline that is not there raises its 404,
        unless ``missing_ok`` (then False is returned: nothing was deleted).
        """
        deadline = time.monotonic() + conflict_timeout
        wait = 1.0
        while True:
            try:
                self.run(self.delete_pipeline_plan(pipeline_name, namespace, version))
            except PipelineApiError as exc:
                if exc.status == 404 and missing_ok:
                    return False
                left = deadline - time.monotonic()
                if exc.status != 409 or left <= 0:
                    raise
                self.log.info("CDAP: %s; trying again in %.0f s", exc, min(wait, left))
                time.sleep(min(wait, left))
                wait = min(wait * 2, 10.0)
                continue
            return True

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


def push_links(hook: CdapHook, context: Context, namespace: str, pipeline_name: str | None = None) -> None:
    """Push the URLs of the task's links: the namespace's pipelines list, and the pipeline's page."""
    ti = context["ti"]
    ti.xcom_push(key=CdapPipelinesListLink.url_key, value=hook.pipelines_ui_url(namespace))
    if pipeline_name is not None:
        ti.xcom_push(key=CdapPipelineLink.url_key, value=hook.pipeline_ui_url(pipeline_name, namespace))


# -- what CDAP tasks act on: declared once for the start and stop operators and the sensor ------------


INSTANCE_PARAMS_DOC = """\
:param project_id: with ``location`` and ``instance_name``, instead of ``cdap_conn_id``: the Cloud
    Data Fusion instance's project (default: the Google Cloud connection's). Templated.
:param location: the instance's region, e.g. ``us-central1``. Templated.
:param instance_name: the Data Fusion instance; its ``apiEndpoint`` is read once through the Data
    Fusion API, and links open its ``serviceEndpoint``. Templated.
:param gcp_conn_id: the Google Cloud connection signing the calls (default ``google_cloud_default``).
:param impersonation_chain: a service account to act as, or a delegation chain ``[a, b, c]``
    (honoured in the triggerer too). Templated."""
"""The parameters addressing a Cloud Data Fusion instance, in every CDAP task's docstring."""


class CdapTask(PipelineTask):
    """
    A task on a CDAP instance: its ``namespace`` and how it is reached: ``cdap_conn_id``, or a Cloud
    Data Fusion instance by ``project_id``, ``location`` and ``instance_name`` with ``gcp_conn_id``
    and ``impersonation_chain`` (see :class:`CdapHook`). Every CDAP task's hook is :attr:`hook`, built
    once per task (after templates are rendered).
    """

    hook_class: ClassVar[type[PipelineHook]] = CdapHook

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's docstring naming ``cdap_conn_id`` gets the instance parameters after it, so
        they are described here only."""
        super().__init_subclass__(**kwargs)
        doc = cls.__dict__.get("__doc__") or ""
        line = next((ln for ln in doc.splitlines() if ln.strip().startswith(":param cdap_conn_id:")), None)
        if line is not None and ":param project_id:" not in doc:
            indent = line[: len(line) - len(line.lstrip())]
            extra = "".join(f"\n{indent}{ln}" if ln else "\n" for ln in INSTANCE_PARAMS_DOC.splitlines())
            cls.__doc__ = doc.replace(line, line + extra, 1)

    def __init__(
        self,
        *,
        namespace: str = "default",
        cdap_conn_id: str = CdapHook.default_conn_name,
        project_id: str | None = None,
        location: str | None = None,
        instance_name: str | None = None,
        gcp_conn_id: str = GCP_CONN_ID,
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=gcp_conn_id if instance_name else cdap_conn_id, **kwargs)
        if instance_name and not location:
            raise ValueError(f"CDAP: instance_name {instance_name!r} needs its location (e.g. us-central1)")
        self.namespace = namespace
        self.cdap_conn_id = cdap_conn_id
        self.project_id = project_id
        self.location = location
        self.instance_name = instance_name
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = impersonation_chain

    def make_hook(self) -> CdapHook:
        """A hook on this task's CDAP: the connection's, or the Data Fusion instance's."""
        if not self.instance_name:
            return CdapHook(cdap_conn_id=self.cdap_conn_id)
        return CdapHook(
            project_id=self.project_id,
            location=self.location,
            instance_name=self.instance_name,
            gcp_conn_id=self.gcp_conn_id,
            impersonation_chain=self.impersonation_chain,
        )

    @cached_property
    def hook(self) -> CdapHook:
        return self.make_hook()

    def deferral_trigger(self, wait: Wait) -> PipelineRunTrigger:
        """The trigger to defer to; for a Data Fusion instance it also carries where the instance is
        (the resolved endpoint and the names, :meth:`CdapHook.instance_kwargs`), never a credential."""
        instance = self.hook.instance_kwargs()
        if instance is None:
            return super().deferral_trigger(wait)  # type: ignore[misc,no-any-return]
        from airflow_provider_pipelines.core.trigger import fire_not_before

        trigger_class: Any = self.trigger_class  # type: ignore[attr-defined]
        return trigger_class(  # type: ignore[no-any-return]
            conn_id=self.hook.conn_id,
            fire_not_before=fire_not_before(),
            instance=instance,
            **wait.trigger_kwargs(),
        )


class CdapPipelineTask(CdapTask):
    """
    A task on one CDAP pipeline: ``pipeline_name``, ``namespace``, ``pipeline_type`` (``batch`` or
    ``streaming``, checked when the DAG is parsed) and ``cdap_conn_id``. The pipeline's page in the
    CDAP UI, and the namespace's pipelines list, are pushed for the task's links.
    """

    def __init__(self, *, pipeline_name: str, pipeline_type: str = "batch", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        program(pipeline_type)
        self.pipeline_name = pipeline_name
        self.pipeline_type = pipeline_type

    def pipeline_run(self, run_id: str) -> RunRef:
        """A run of this pipeline."""
        return CdapHook.run_ref(self.pipeline_name, run_id, self.namespace, self.pipeline_type)

    def persist_links(self, hook: PipelineHook, context: Context) -> None:
        assert isinstance(hook, CdapHook)
        push_links(hook, context, self.namespace, self.pipeline_name)


class CdapPipelineRunTask(CdapPipelineTask):
    """A task on one run (``run_id``) of a CDAP pipeline: the stop operator's and the sensor's."""

    def __init__(self, *, run_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id

    def run_ref(self) -> RunRef:
        return self.pipeline_run(self.run_id)
