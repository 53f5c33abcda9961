"""Cloud Data Fusion instances: create, get, update, restart and delete, each waiting on its long-running
operation in the worker or, deferred, in the triggerer."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from airflow_provider_pipelines.core.compat import BaseOperator, default_deferrable
from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError, PipelineRunTimeout
from airflow_provider_pipelines.hooks.datafusion import DataFusionHook, instance_name_of
from airflow_provider_pipelines.links.cdap import CdapInstanceLink

if TYPE_CHECKING:
    from airflow.sdk import Context

DEFAULT_TIMEOUT = timedelta(hours=2)
CONSOLE_URL = (
    "https://console.cloud.google.com/data-fusion/locations/{location}/instances/{instance}?project={project}"
)


def instance_console_url(project_id: str, location: str, instance_name: str) -> str:
    """The instance's page in the Google Cloud console."""
    return CONSOLE_URL.format(
        location=quote(location, safe=""), instance=quote(instance_name, safe=""), project=quote(project_id)
    )


def _seconds(value: float | timedelta | None) -> float | None:
    return value.total_seconds() if isinstance(value, timedelta) else None if value is None else float(value)


class CdapInstanceTask(BaseOperator):
    """
    What every Data Fusion instance task takes: the instance's address, the Google Cloud connection and
    how to wait on the instance's long-running operation.

    :param instance_name: the instance's id. Templated.
    :param location: its region (``us-central1``). Templated.
    :param project_id: its project; default the connection's ``project`` extra, else its key's project.
        Templated.
    :param gcp_conn_id: the Google Cloud connection (type ``google_cloud_platform``), default
        ``google_cloud_default``.
    :param impersonation_chain: a service account to act as, or a chain ``[a, b, c]`` (each account
        granting the one before it the Token Creator role; the last is the one acting). Templated.
    :param api_version: ``v1`` (default) or ``v1beta1``.
    :param poll_interval: seconds between reads of the operation.
    :param timeout: seconds (or a timedelta) to wait for the operation, default 2 hours; on expiry the
        task fails and the operation goes on at Google.
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``).
    """

    template_fields: Sequence[str] = ("project_id", "location", "instance_name", "impersonation_chain")
    operator_extra_links = (CdapInstanceLink(),)
    # The verb of the operation the task starts, for logs and messages (None: the task starts none).
    verb: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        instance_name: str,
        location: str,
        project_id: str | None = None,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        api_version: str = "v1",
        poll_interval: float = 10.0,
        timeout: float | timedelta | None = DEFAULT_TIMEOUT,
        deferrable: bool = default_deferrable(),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.instance_name = instance_name
        self.location = location
        self.project_id = project_id
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = impersonation_chain
        self.api_version = api_version
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.deferrable = deferrable
        # What start_operation keeps for conclude: carried through the trigger (JSON, never a secret).
        self.carried: dict[str, Any] = {}

    def hook(self) -> DataFusionHook:
        return DataFusionHook(
            gcp_conn_id=self.gcp_conn_id,
            impersonation_chain=self.impersonation_chain,
            api_version=self.api_version,
        )

    def describe(self, project_id: str) -> str:
        return f"Data Fusion instance {instance_name_of(project_id, self.location, self.instance_name)}"

    def persist_link(self, context: Context, project_id: str) -> None:
        url = instance_console_url(project_id, self.location, self.instance_name)
        context["ti"].xcom_push(key=CdapInstanceLink.url_key, value=url)

    # -- the task ------------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        hook = self.hook()
        project = hook.project(self.project_id)
        self.persist_link(context, project)
        operation = self.start_operation(hook, project, context)
        if operation is None:  # nothing to wait on
            return self.conclude(hook, project, {})
        name = str(operation["name"])
        what = f"{self.verb} instance {instance_name_of(project, self.location, self.instance_name)}"
        self.log.info("%s: operation %s", what, name)
        timeout = _seconds(self.timeout)
        if operation.get("done"):
            return self.conclude(hook, project, hook.wait_for_operation(operation, what))
        if self.deferrable:
            from airflow_provider_pipelines.core.trigger import fire_not_before
            from airflow_provider_pipelines.triggers.datafusion import DataFusionOperationTrigger

            trigger = DataFusionOperationTrigger(
                operation_name=name,
                gcp_conn_id=self.gcp_conn_id,
                impersonation_chain=self.impersonation_chain,
                api_version=self.api_version,
                what=what,
                poll_interval=self.poll_interval,
                deadline=None if timeout is None else time.time() + timeout,
                fire_not_before=fire_not_before(),
                carry={"project": project, **self.carried},
            )
            self.defer(trigger=trigger, method_name="execute_complete")
        response = hook.wait_for_operation(operation, what, poll_interval=self.poll_interval, timeout=timeout)
        return self.conclude(hook, project, response)

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> Any:
        """Resumed from the trigger: conclude, or fail with the operation's error."""
        event = dict(event or {})
        # What execute kept for conclude comes back in the event (a deferral's own kwargs are not
        # kept by dag.test()).
        self.carried = dict(event.get("carry") or {})
        project = self.carried.pop("project", None)
        status = event.get("status")
        message = str(event.get("message") or f"the trigger ended with no message ({event!r})")
        if status == "success":
            hook = self.hook()
            project = project or hook.project(self.project_id)
            response = event.get("response")
            return self.conclude(hook, project, dict(response) if isinstance(response, Mapping) else {})
        if status == "timeout":
            raise PipelineRunTimeout(message)
        raise PipelineError(message)

    def start_operation(self, hook: DataFusionHook, project: str, context: Context) -> dict[str, Any] | None:
        """Send the request that starts the operation; the Operation (None: nothing to wait on)."""
        return None

    def conclude(self, hook: DataFusionHook, project: str, response: dict[str, Any]) -> Any:
        """The task's return value (XCom) once the operation is done: the instance's fields."""
        instance = (
            response
            if response.get("name")
            else hook.get_instance(project, self.location, self.instance_name)
        )
        self.log.info("%s is %s", self.describe(project), instance.get("state", "in an unknown state"))
        return instance


class CdapCreateInstanceOperator(CdapInstanceTask):
    """
    Create a Cloud Data Fusion instance and wait until it is created; returns its fields (XCom).

    An instance that exists already is adopted, as Google's operator does: the task waits while it is
    still being created, then returns it; one that exists in state FAILED fails the task.

    :param instance: the Instance body (``{"type": "BASIC", "labels": {...}, "options": {...}}``, see
        Google's Instance reference). Templated.

    The other parameters are those of :class:`CdapInstanceTask`.
    """

    template_fields: Sequence[str] = (*CdapInstanceTask.template_fields, "instance")
    verb = "create"

    def __init__(self, *, instance: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.instance = instance

    def start_operation(self, hook: DataFusionHook, project: str, context: Context) -> dict[str, Any] | None:
        if not isinstance(self.instance, Mapping):
            raise PipelineError(
                f"{self.describe(project)}: instance must be a dict (the Instance body), "
                f"not {type(self.instance).__name__}"
            )
        try:
            return hook.create_instance(project, self.location, self.instance_name, self.instance)
        except PipelineApiError as exc:
            if exc.status != 409:
                raise
        self.log.info("%s exists already: adopting it", self.describe(project))
        self._adopt(hook, project)
        return None

    def _adopt(self, hook: DataFusionHook, project: str) -> None:
        """Wait (in the worker: there is no operation to hand to the triggerer) while it is being created."""
        timeout = _seconds(self.timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        instance = hook.get_instance(project, self.location, self.instance_name)
        while instance.get("state") == "CREATING":
            if deadline is not None and time.monotonic() >= deadline:
                raise PipelineRunTimeout(f"{self.describe(project)} still CREATING after {timeout:g} s")
            time.sleep(self.poll_interval)
            instance = hook.get_instance(project, self.location, self.instance_name)
        if instance.get("state") == "FAILED":
            detail = instance.get("stateMessage") or "no state message"
            raise PipelineError(f"{self.describe(project)} exists already, in state FAILED: {detail}")

    def conclude(self, hook: DataFusionHook, project: str, response: dict[str, Any]) -> Any:
        instance = super().conclude(hook, project, response)
        if instance.get("state") == "FAILED":
            detail = instance.get("stateMessage") or "no state message"
            raise PipelineError(f"{self.describe(project)} was created in state FAILED: {detail}")
        return instance


class CdapGetInstanceOperator(CdapInstanceTask):
    """
    Read a Cloud Data Fusion instance; returns its fields (XCom): ``state``, ``apiEndpoint``,
    ``serviceEndpoint``, ``version``, ``labels``... (``poll_interval``, ``timeout`` and ``deferrable``
    are accepted and unused: a read has nothing to wait on).

    The parameters are those of :class:`CdapInstanceTask`.
    """


class CdapUpdateInstanceOperator(CdapInstanceTask):
    """
    Update a Cloud Data Fusion instance and wait until it is updated; returns its fields (XCom).

    :param instance: the fields to set (``{"labels": {...}, "options": {...}}``). Templated.
    :param update_mask: the fields to overwrite, comma-separated or a list (``labels,options``); none:
        every field that can change. Templated.

    The other parameters are those of :class:`CdapInstanceTask`.
    """

    template_fields: Sequence[str] = (*CdapInstanceTask.template_fields, "instance", "update_mask")
    verb = "update"

    def __init__(
        self, *, instance: Mapping[str, Any], update_mask: str | Sequence[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.instance = instance
        self.update_mask = update_mask

    def start_operation(self, hook: DataFusionHook, project: str, context: Context) -> dict[str, Any] | None:
        if not isinstance(self.instance, Mapping):
            raise PipelineError(
                f"{self.describe(project)}: instance must be a dict of the fields to update, "
                f"not {type(self.instance).__name__}"
            )
        return hook.update_instance(
            project, self.location, self.instance_name, self.instance, self.update_mask
        )


class CdapRestartInstanceOperator(CdapInstanceTask):
    """
    Restart a Cloud Data Fusion instance and wait until it is back; returns its fields (XCom).

    The parameters are those of :class:`CdapInstanceTask`.
    """

    verb = "restart"

    def start_operation(self, hook: DataFusionHook, project: str, context: Context) -> dict[str, Any] | None:
        return hook.restart_instance(project, self.location, self.instance_name)


class CdapDeleteInstanceOperator(CdapInstanceTask):
    """
    Delete a Cloud Data Fusion instance and wait until it is gone; returns the fields it had (XCom),
    with ``state`` ``DELETED``.

    The parameters are those of :class:`CdapInstanceTask`.
    """

    verb = "delete"

    def start_operation(self, hook: DataFusionHook, project: str, context: Context) -> dict[str, Any] | None:
        self.carried = {"before": hook.get_instance(project, self.location, self.instance_name)}
        return hook.delete_instance(project, self.location, self.instance_name)

    def conclude(self, hook: DataFusionHook, project: str, response: dict[str, Any]) -> Any:
        self.log.info("%s is deleted", self.describe(project))
        before = self.carried.get("before") or {}
        name = instance_name_of(project, self.location, self.instance_name)
        return {**before, "name": name, "state": "DELETED"}
