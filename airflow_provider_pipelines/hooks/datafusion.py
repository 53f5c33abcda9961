"""Cloud Data Fusion's management API: instances, their long-running operations, and where their CDAP is.

A Google Cloud connection (type ``google_cloud_platform``, as Cloud Composer creates
``google_cloud_default``) signs the calls; the API's base URL is ``[pipelines] datafusion_api_url``
(Google's by default, the emulator's in tests).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_pipelines.core.errors import (
    PipelineApiError,
    PipelineError,
    PipelineRunTimeout,
    shorten,
)
from airflow_provider_pipelines.core.hook import PipelineHook
from airflow_provider_pipelines.core.plans import ApiCall, Plan, endpoint, get_call
from airflow_provider_pipelines.core.replies import reply_mapping, unexpected_reply
from airflow_provider_pipelines.core.settings import HttpSettings
from airflow_provider_pipelines.core.urls import url_path

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_pipelines.core.auth import Auth
    from airflow_provider_pipelines.core.clients import AsyncApiClient

T = TypeVar("T")
PLATFORM = "Data Fusion"
DEFAULT_API_URL = "https://datafusion.googleapis.com"
API_VERSIONS = ("v1", "v1beta1")


def datafusion_api_url() -> str:
    """The management API's base URL: ``[pipelines] datafusion_api_url``
    (``AIRFLOW__PIPELINES__DATAFUSION_API_URL``), else ``https://datafusion.googleapis.com``."""
    from airflow_provider_pipelines.core.compat import conf

    return str(conf.get("pipelines", "datafusion_api_url", fallback="") or DEFAULT_API_URL).rstrip("/")


def instance_name_of(project_id: str, location: str, instance_name: str) -> str:
    """``projects/{project}/locations/{location}/instances/{instance}``."""
    return f"projects/{project_id}/locations/{location}/instances/{instance_name}"


class DataFusionOperationFailed(PipelineError):
    """A long-running operation ended with an error; ``code`` and ``error_message`` are Google's."""

    def __init__(self, message: str, code: Any = None, error_message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.error_message = error_message


def operation_outcome(operation: Mapping[str, Any], what: str) -> dict[str, Any]:
    """
    A finished operation's ``response`` (``{}`` for a delete); :class:`DataFusionOperationFailed` naming
    ``what`` (``create instance projects/.../instances/x``) with Google's code and message when it carries
    an ``error``.
    """
    error = operation.get("error")
    if error:
        detail = error if isinstance(error, Mapping) else {"message": str(error)}
        code, message = detail.get("code"), shorten(str(detail.get("message") or "no message"))
        name = operation.get("name") or "(unnamed operation)"
        raise DataFusionOperationFailed(
            f"{PLATFORM} {what} failed: operation {name} ended with error {code}: {message}", code, message
        )
    response = operation.get("response")
    return dict(response) if isinstance(response, Mapping) else {}


class DataFusionHook(PipelineHook):
    """
    Cloud Data Fusion instances: read, create, update, restart and delete them, wait on their
    long-running operations, and resolve an instance's CDAP ``apiEndpoint`` (cached per hook).

    Connection: a Google Cloud connection (type ``google_cloud_platform``), read as Composer and
    Google's provider write it, extras plain or prefixed ``extra__google_cloud_platform__``:
    ``keyfile_dict`` (a service-account key's JSON), ``key_path`` (a key file), ``scope``
    (comma-separated, default cloud-platform), ``project`` (the default project). With no key,
    application default credentials (Composer's environment service account). Needs the ``[google]``
    extra (google-auth).

    :param gcp_conn_id: the connection id (default ``google_cloud_default``).
    :param impersonation_chain: a service account to act as, or a chain ``[a, b, c]`` (delegates
        ``a`` and ``b``, target ``c``), through IAM's ``generateAccessToken``.
    :param api_version: ``v1`` (default) or ``v1beta1``.
    """

    platform = PLATFORM
    conn_name_attr = "gcp_conn_id"
    default_conn_name = "google_cloud_default"
    conn_type = "google_cloud_platform"
    hook_name = "Google Cloud"
    credential_fields = "the connection's keyfile_dict / key_path extras, or the impersonation chain"

    def __init__(
        self,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        api_version: str = "v1",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=gcp_conn_id or kwargs.pop("conn_id", None), **kwargs)
        if api_version not in API_VERSIONS:
            raise ValueError(f"api_version must be one of {', '.join(API_VERSIONS)}, not {api_version!r}")
        self.gcp_conn_id = self.conn_id
        self.impersonation_chain = impersonation_chain
        self.api_version = api_version
        self._endpoints: dict[tuple[str, str, str], dict[str, Any]] = {}

    def __repr__(self) -> str:
        from airflow_provider_pipelines.core.google_auth import chain_of

        chain = chain_of(self.impersonation_chain)
        acting = f", impersonation_chain={chain!r}" if chain else ""
        return f"{type(self).__name__}(gcp_conn_id={self.conn_id!r}{acting})"

    # -- the connection -----------------------------------------------------------------------------

    def settings_from_connection(self, conn: Connection) -> HttpSettings:
        return HttpSettings.from_connection(datafusion_api_url(), extras=conn.extra_dejson)

    def auth_from_connection(self, conn: Connection) -> Auth:
        from airflow_provider_pipelines.core.google_auth import google_cloud_auth

        return google_cloud_auth(conn.extra_dejson, self.impersonation_chain)

    def options_from_connection(self, conn: Connection) -> dict[str, Any]:
        import json

        from airflow_provider_pipelines.core.google_auth import gcp_extra

        project = gcp_extra(conn.extra_dejson, "project")
        if not project:
            key = gcp_extra(conn.extra_dejson, "keyfile_dict")
            if isinstance(key, str):
                try:
                    key = json.loads(key)
                except ValueError:
                    key = None
            project = key.get("project_id") if isinstance(key, Mapping) else None
        return {"project": str(project)} if project else {}

    @asynccontextmanager
    async def async_client(self) -> AsyncIterator[AsyncApiClient]:
        """The shared client of this connection *and* impersonation chain: two chains are two identities."""
        from airflow_provider_pipelines.core.client_pool import shared_client
        from airflow_provider_pipelines.core.clients import AsyncApiClient
        from airflow_provider_pipelines.core.google_auth import chain_of

        async def open_client() -> AsyncApiClient:
            return await AsyncApiClient(self.platform, *await self._aconfigure()).open()

        key = (type(self), self.conn_id, tuple(chain_of(self.impersonation_chain)))
        async with shared_client(key, open_client) as client:
            yield client

    def run(self, plan: Plan[T]) -> T:
        try:
            return super().run(plan)
        except PipelineApiError:
            raise
        except PipelineError as exc:  # no call was made: credentials, a missing project
            raise self._named(exc) from None

    async def arun(self, plan: Plan[T], client: AsyncApiClient) -> T:
        try:
            return await super().arun(plan, client)
        except PipelineApiError:
            raise
        except PipelineError as exc:
            raise self._named(exc) from None

    def _named(self, exc: PipelineError) -> PipelineError:
        message = str(exc)
        return exc if message.startswith(PLATFORM) else PipelineError(f"{PLATFORM}: {message}")

    # -- names and paths ----------------------------------------------------------------------------

    def project_plan(self, project_id: str | None) -> Plan[str]:
        """``project_id``, else the connection's ``project`` extra, else its key's ``project_id``."""
        if project_id:
            return project_id
        from airflow_provider_pipelines.core.plans import OPTIONS

        options = yield OPTIONS
        project = options.get("project")
        if not project:
            raise PipelineError(
                f"{PLATFORM}: no project_id given, and connection {self.conn_id!r} names none "
                "(its 'project' extra or its key's project_id)"
            )
        return str(project)

    project = endpoint(project_plan)

    def _instance_path(self, project_id: str, location: str, instance_name: str, suffix: str = "") -> str:
        path = url_path(
            self.api_version, "projects", project_id, "locations", location, "instances", instance_name
        )
        return path + suffix

    def operation_path(self, operation_name: str) -> str:
        """The path of ``projects/{p}/locations/{l}/operations/{id}`` (each segment encoded)."""
        parts = operation_name.strip("/").split("/")
        if len(parts) != 6 or parts[0] != "projects" or parts[2] != "locations" or parts[4] != "operations":
            raise ValueError(
                f"{operation_name!r} is not an operation name "
                "(projects/{p}/locations/{l}/operations/{id})"
            )
        return url_path(self.api_version, *parts)

    # -- instances ----------------------------------------------------------------------------------

    def get_instance_plan(
        self, project_id: str | None, location: str, instance_name: str
    ) -> Plan[dict[str, Any]]:
        """The instance: ``name``, ``type``, ``state``, ``apiEndpoint``, ``serviceEndpoint``..."""
        project = yield from self.project_plan(project_id)
        call = f"get instance {instance_name_of(project, location, instance_name)}"
        reply = yield get_call(call, self._instance_path(project, location, instance_name))
        return reply_mapping(self.platform, call, reply)

    def create_instance_plan(
        self, project_id: str | None, location: str, instance_name: str, instance: Mapping[str, Any]
    ) -> Plan[dict[str, Any]]:
        """Create an instance (``POST .../instances?instanceId=``); the long-running operation."""
        project = yield from self.project_plan(project_id)
        call = f"create instance {instance_name_of(project, location, instance_name)}"
        path = url_path(self.api_version, "projects", project, "locations", location, "instances")
        reply = yield ApiCall(
            call, "POST", path, params={"instanceId": instance_name}, json=dict(instance), idempotent=False
        )
        return self._operation(call, reply)

    def update_instance_plan(
        self,
        project_id: str | None,
        location: str,
        instance_name: str,
        instance: Mapping[str, Any],
        update_mask: str | Sequence[str] | None = None,
    ) -> Plan[dict[str, Any]]:
        """Update an instance's fields named by ``update_mask`` (``labels,options``; none: all that
        can change); the long-running operation."""
        project = yield from self.project_plan(project_id)
        call = f"update instance {instance_name_of(project, location, instance_name)}"
        mask = update_mask if isinstance(update_mask, str) or update_mask is None else ",".join(update_mask)
        reply = yield ApiCall(
            call,
            "PATCH",
            self._instance_path(project, location, instance_name),
            params={"updateMask": mask or None},
            json=dict(instance),
            idempotent=False,
        )
        return self._operation(call, reply)

    def restart_instance_plan(
        self, project_id: str | None, location: str, instance_name: str
    ) -> Plan[dict[str, Any]]:
        """Restart an instance (``POST {name}:restart``); the long-running operation."""
        project = yield from self.project_plan(project_id)
        call = f"restart instance {instance_name_of(project, location, instance_name)}"
        path = self._instance_path(project, location, instance_name, ":restart")
        reply = yield ApiCall(call, "POST", path, json={}, idempotent=False)
        return self._operation(call, reply)

    def delete_instance_plan(
        self, project_id: str | None, location: str, instance_name: str
    ) -> Plan[dict[str, Any]]:
        """Delete an instance; the long-running operation."""
        project = yield from self.project_plan(project_id)
        call = f"delete instance {instance_name_of(project, location, instance_name)}"
        self._endpoints.pop((project, location, instance_name), None)
        reply = yield ApiCall(call, "DELETE", self._instance_path(project, location, instance_name))
        return self._operation(call, reply)

    def get_operation_plan(self, operation_name: str) -> Plan[dict[str, Any]]:
        """A long-running operation: ``name``, ``done`` (absent until true), ``error`` or ``response``."""
        call = f"get operation {operation_name}"
        return self._operation(call, (yield get_call(call, self.operation_path(operation_name))))

    def _operation(self, call: str, reply: Any) -> dict[str, Any]:
        operation = reply_mapping(self.platform, call, reply)
        if not isinstance(operation.get("name"), str) or not operation["name"]:
            raise unexpected_reply(self.platform, call, reply, "operation (it has no name)")
        return operation

    get_instance = endpoint(get_instance_plan)
    create_instance = endpoint(create_instance_plan)
    update_instance = endpoint(update_instance_plan)
    restart_instance = endpoint(restart_instance_plan)
    delete_instance = endpoint(delete_instance_plan)
    get_operation = endpoint(get_operation_plan)

    # -- where an instance's CDAP and UI are --------------------------------------------------------

    def _endpoints_of(self, project_id: str | None, location: str, instance_name: str) -> dict[str, Any]:
        project = self.project(project_id)
        key = (project, location, instance_name)
        if key not in self._endpoints:
            instance = self.get_instance(project, location, instance_name)
            if not instance.get("apiEndpoint"):
                state = instance.get("state") or "unknown"
                raise PipelineError(
                    f"{PLATFORM} instance {instance_name_of(*key)} has no apiEndpoint yet (state {state}): "
                    "wait until it is ACTIVE"
                )
            self._endpoints[key] = instance
        return self._endpoints[key]

    def api_endpoint(self, project_id: str | None, location: str, instance_name: str) -> str:
        """The instance's CDAP REST base (``apiEndpoint``, ending in ``/api``); read once per hook."""
        return str(self._endpoints_of(project_id, location, instance_name)["apiEndpoint"]).rstrip("/")

    def service_endpoint(self, project_id: str | None, location: str, instance_name: str) -> str:
        """The instance's UI (``serviceEndpoint``); read once per hook, with :meth:`api_endpoint`."""
        instance = self._endpoints_of(project_id, location, instance_name)
        return str(instance.get("serviceEndpoint") or "").rstrip("/")

    # -- waiting on an operation --------------------------------------------------------------------

    def wait_for_operation(
        self,
        operation: Mapping[str, Any] | str,
        what: str | None = None,
        poll_interval: float = 10.0,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """
        Poll the operation until it is ``done``; its ``response`` (the instance; ``{}`` for a delete).
        Raises :class:`DataFusionOperationFailed` with the operation's ``error``, or
        :class:`PipelineRunTimeout` after ``timeout`` seconds (the operation goes on at Google).
        """
        name = str(operation if isinstance(operation, str) else operation["name"])
        what = what or f"operation {name}"
        deadline = None if timeout is None else time.monotonic() + timeout
        current = self.get_operation(name) if isinstance(operation, str) else operation
        while not current.get("done"):
            pause = poll_interval
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PipelineRunTimeout(
                        f"{PLATFORM} {what}: operation {name} not done after {timeout:g} s "
                        "(it goes on at Google)"
                    )
                pause = min(pause, remaining)
            time.sleep(pause)
            current = self.get_operation(name)
        return operation_outcome(current, what)

    async def aget_operation(self, operation_name: str, client: AsyncApiClient) -> dict[str, Any]:
        """:meth:`get_operation` in the triggerer."""
        return await self.arun(self.get_operation_plan(operation_name), client)

    def check_connection(self) -> str:
        """Lists nothing: a Google Cloud connection has no instance to read; fetching a token is the check."""
        auth = self.client.auth
        token = getattr(auth, "token", None)
        if callable(token):
            token()
        return "a Google access token was issued"
