"""The triggerer's wait on a Cloud Data Fusion long-running operation (instance create, update, restart,
delete): it only reads the operation until it is done."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from functools import cached_property
from typing import Any

from airflow_provider_pipelines.core.compat import BaseTrigger, TriggerEvent
from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError
from airflow_provider_pipelines.hooks.datafusion import PLATFORM, DataFusionHook


class DataFusionOperationTrigger(BaseTrigger):
    """
    Polls a Data Fusion operation until it is ``done`` (or ``deadline`` passes), then fires one event:
    ``{"status": "success" | "failed" | "timeout" | "error", "operation", "what", "message", "carry",
    "response", "error_code"}``. Transient errors (429, 5xx, dropped connections) are read again at
    the next poll.

    Every kwarg is a JSON primitive and none is a secret: the triggerer looks the connection up by id
    and impersonates the chain itself.

    :param operation_name: ``projects/{p}/locations/{l}/operations/{id}``.
    :param gcp_conn_id: the Google Cloud connection.
    :param impersonation_chain: the account (or chain) to act as, as the task was given it.
    :param api_version: ``v1`` or ``v1beta1``.
    :param what: what the operation does, for messages (``create instance projects/.../instances/x``).
    :param poll_interval: seconds between reads.
    :param deadline: epoch seconds; None waits without limit.
    :param fire_not_before: epoch seconds before which the event is held back (the resume guard).
    :param carry: JSON the task needs after the wait (the project, the instance as it was before a
        delete), given back in the event as ``carry``; never a secret.
    """

    def __init__(
        self,
        operation_name: str,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        api_version: str = "v1",
        what: str = "",
        poll_interval: float = 10.0,
        deadline: float | None = None,
        fire_not_before: float | None = None,
        carry: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.operation_name = operation_name
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = (
            impersonation_chain
            if impersonation_chain is None or isinstance(impersonation_chain, str)
            else list(impersonation_chain)
        )
        self.api_version = api_version
        self.what = what or f"operation {operation_name}"
        self.poll_interval = float(poll_interval)
        self.deadline = deadline
        self.fire_not_before = fire_not_before
        self.carry = dict(carry or {})

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "operation_name": self.operation_name,
                "gcp_conn_id": self.gcp_conn_id,
                "impersonation_chain": self.impersonation_chain,
                "api_version": self.api_version,
                "what": self.what,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "fire_not_before": self.fire_not_before,
                "carry": self.carry,
            },
        )

    @cached_property
    def hook(self) -> DataFusionHook:
        return DataFusionHook(
            gcp_conn_id=self.gcp_conn_id,
            impersonation_chain=self.impersonation_chain,
            api_version=self.api_version,
        )

    def _event(self, status: str, message: str, **extra: Any) -> dict[str, Any]:
        return {
            "status": status,
            "operation": self.operation_name,
            "what": self.what,
            "message": message,
            "carry": self.carry,
            **extra,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Exactly one event, whatever happens: a failure while waiting is an ``error`` event."""
        try:
            event = await self._wait()
        except PipelineError as exc:
            event = self._event("error", str(exc))
        except Exception as exc:
            # Its text may quote a reply: it goes to the (masked) log; the event names only its type.
            self.log.exception("%s: unexpected error while waiting", self.what)
            event = self._event(
                "error",
                f"{self.what}: unexpected {type(exc).__name__} while waiting (see the triggerer's log)",
            )
        held = self.fire_not_before - time.time() if self.fire_not_before is not None else 0.0
        if held > 0:
            await asyncio.sleep(held)
        yield TriggerEvent(event)

    async def _wait(self) -> dict[str, Any]:
        from airflow_provider_pipelines.hooks.datafusion import DataFusionOperationFailed, operation_outcome

        async with self.hook.async_client() as client:
            while True:
                try:
                    operation = await self.hook.aget_operation(self.operation_name, client)
                except PipelineApiError as exc:
                    if not exc.retryable:
                        raise
                    self.log.warning("%s: %s; reading the operation again", self.what, exc)
                else:
                    if operation.get("done"):
                        try:
                            response = operation_outcome(operation, self.what)
                        except DataFusionOperationFailed as failed:
                            return self._event("failed", str(failed), error_code=failed.code)
                        return self._event("success", f"{self.what}: done", response=response)
                pause = self.poll_interval
                if self.deadline is not None:
                    remaining = self.deadline - time.time()
                    if remaining <= 0:
                        return self._event(
                            "timeout",
                            f"{PLATFORM} {self.what}: operation {self.operation_name} not done by "
                            "the deadline (it goes on at Google)",
                        )
                    pause = min(pause, remaining)
                await asyncio.sleep(pause)
