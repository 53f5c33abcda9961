"""The CDAP run trigger: the shared polling loop, bound to the CDAP hook."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow_provider_pipelines.core.hook import RunRef
from airflow_provider_pipelines.core.trigger import PipelineRunTrigger
from airflow_provider_pipelines.hooks.cdap import CdapHook


class CdapPipelineRunTrigger(PipelineRunTrigger):
    """
    Polls a CDAP / Data Fusion run until it ends. ``run_ref`` holds ``run_id``, ``pipeline_name``,
    ``namespace`` and ``pipeline_type`` (a streaming run succeeds once RUNNING, as
    :meth:`CdapHook.success_states` says); the other parameters are :class:`PipelineRunTrigger`'s.

    :param instance: for a Data Fusion instance addressed by its names, where it is
        (:meth:`CdapHook.instance_kwargs`: the resolved ``api_endpoint``, ``project_id``, ``location``,
        ``instance_name``, ``gcp_conn_id``, ``impersonation_chain``); the triggerer asks the Data Fusion
        API nothing and fetches its own Google token. None: ``conn_id`` is a ``cdap`` connection.
    """

    hook_class = CdapHook

    def __init__(
        self,
        conn_id: str,
        run_ref: RunRef,
        poll_interval: float = 10.0,
        deadline: float | None = None,
        not_found_until: float | None = None,
        success_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        cancel_on_kill: bool = True,
        fire_not_before: float | None = None,
        max_unreachable: float | None = None,
        instance: dict[str, Any] | None = None,
    ) -> None:
        self.instance = dict(instance) if instance else None  # before the base reads self.hook
        super().__init__(
            conn_id,
            run_ref,
            poll_interval,
            deadline,
            not_found_until,
            success_states,
            failure_states,
            cancel_on_kill,
            fire_not_before,
            max_unreachable,
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        path, kwargs = super().serialize()
        if self.instance is not None:
            kwargs["instance"] = dict(self.instance)
        return path, kwargs

    @cached_property
    def hook(self) -> CdapHook:
        if self.instance is None:
            return CdapHook(cdap_conn_id=self.conn_id)
        return CdapHook(**self.instance)
