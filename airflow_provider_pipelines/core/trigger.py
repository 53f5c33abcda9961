"""THE trigger loop, shared by every platform: it only reads a run's state until the run ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from functools import cached_property
from typing import Any, ClassVar

from airflow_provider_pipelines.core.compat import AIRFLOW_3, BaseTrigger, TriggerEvent, conf
from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError
from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.watch import RunWatcher, Wait, WaitOutcome

# Seconds beyond the worker's heartbeat interval: its exit and the scheduler's loops. One second was
# not enough: in CI the report of a deferral's exit reached the scheduler 6.2 s after it.
GUARD_MARGIN = 5.0


def resume_guard_seconds() -> float:
    """
    How long after its task deferred a trigger holds its event back (0: not at all).

    Airflow 3.3 fails a deferred task that resumes before the scheduler has seen the worker leave
    the deferral (apache/airflow#72716), and a worker may take ``[workers] min_heartbeat_interval``
    to report it, then the scheduler a loop or two to read the report. So on Airflow 3 the default is
    that interval plus :data:`GUARD_MARGIN` seconds (10 s in all by default); on Airflow 2 it is 0.
    ``[pipelines] resume_guard_seconds`` overrides it (0 under ``dag.test()``, which has no executor).
    """
    configured = conf.get("pipelines", "resume_guard_seconds", fallback="")
    if configured:
        try:
            return max(0.0, float(configured))
        except ValueError:
            raise PipelineError(
                f"[pipelines] resume_guard_seconds must be a number of seconds, not {configured!r}"
            ) from None
    if not AIRFLOW_3:
        return 0.0
    return conf.getfloat("workers", "min_heartbeat_interval", fallback=5.0) + GUARD_MARGIN


def fire_not_before() -> float | None:
    """The ``fire_not_before`` of a trigger deferred now: see :func:`resume_guard_seconds`."""
    guard = resume_guard_seconds()
    return time.time() + guard if guard > 0 else None


class PipelineRunTrigger(BaseTrigger):
    """
    Polls a run started by a worker until it ends, then fires one event.

    Every kwarg is a JSON primitive and none is a secret: the connection is looked up by id in the
    triggerer. One HTTP session serves the trigger's whole life; a 404 right after the start is
    tolerated until ``not_found_until``; transient errors are retried here instead of failing the
    task; ``deadline`` is enforced here and yields a ``timeout`` event (the operator then cancels the
    run). On Airflow 3.3+, a user killing the deferred task cancels the run (``on_kill``).

    :param conn_id: the Airflow connection of the platform.
    :param run_ref: the run's identity (``run_id`` and whatever else the platform needs).
    :param poll_interval: seconds between status reads.
    :param deadline: epoch seconds; None waits without limit.
    :param not_found_until: epoch seconds until which a 404 is read as "not visible yet".
    :param success_states: platform states counting as success, replacing the platform's own; None:
        the platform's for this run (:meth:`PipelineHook.success_states`).
    :param failure_states: platform states counting as failure, in addition to the platform's.
    :param cancel_on_kill: cancel the remote run when a user kills the deferred task.
    :param max_unreachable: seconds of nothing but transient errors after which the wait ends.
    :param fire_not_before: epoch seconds before which the event is held back (from
        :func:`fire_not_before`: a run that ends right after the deferral resumes its task safely).
    """

    hook_class: ClassVar[type[PipelineHook]]

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
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.run_ref = dict(run_ref)
        self.poll_interval = float(poll_interval)
        self.deadline = deadline
        self.not_found_until = not_found_until
        self.success_states = (
            list(success_states) if success_states is not None else self.hook.success_states(self.run_ref)
        )
        self.failure_states = list(failure_states) if failure_states is not None else None
        self.cancel_on_kill = cancel_on_kill
        self.fire_not_before = fire_not_before
        self.max_unreachable = max_unreachable

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {
            "conn_id": self.conn_id,
            **self.wait().trigger_kwargs(),
            "fire_not_before": self.fire_not_before,
        }
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    @cached_property
    def hook(self) -> PipelineHook:
        return self.hook_class(conn_id=self.conn_id)

    def wait(self) -> Wait:
        return Wait(
            self.run_ref,
            self.poll_interval,
            self.deadline,
            self.not_found_until,
            self.success_states,
            self.failure_states,
            self.max_unreachable,
            self.cancel_on_kill,
        )

    def watcher(self) -> RunWatcher:
        return self.wait().watcher(self.hook, self.log)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Exactly one event, whatever happens: a failure while watching is an ``error`` event."""
        watcher = self.watcher()
        try:
            outcome = await self._watch(watcher)
        except PipelineError as exc:
            outcome = WaitOutcome("error", self.run_ref, watcher.last_raw, str(exc))
        except Exception as exc:
            # A bug must fail this task with a message, not escape into the triggerer; its text may
            # quote a reply, so it goes to the (masked) log and the event names only its type.
            self.log.exception("%s: unexpected error while watching", watcher.label)
            unexpected = type(exc).__name__
            message = (
                f"{watcher.label} could not be watched: unexpected {unexpected} (see the triggerer's log)"
            )
            outcome = WaitOutcome("error", self.run_ref, watcher.last_raw, message)
        held = self.fire_not_before - time.time() if self.fire_not_before is not None else 0.0
        if held > 0:
            await asyncio.sleep(held)
        yield TriggerEvent(outcome.to_event())

    async def _watch(self, watcher: RunWatcher) -> WaitOutcome:
        sleep = watcher.first_sleep
        hook, run_ref = self.hook, self.run_ref
        async with hook.async_client() as client:
            while True:
                outcome = watcher.expired()
                if outcome is None:
                    try:
                        status = await hook.aget_run_status(run_ref, client)
                    except PipelineApiError as exc:
                        outcome = watcher.observe_error(exc)
                    else:
                        outcome = watcher.observe(status)
                if outcome is not None:
                    return outcome
                await asyncio.sleep(sleep())
                sleep = watcher.next_sleep

    async def on_kill(self) -> None:
        """Airflow 3.3+: a user killed the deferred task, so stop the remote run (never on restarts)."""
        if not self.cancel_on_kill or not self.hook.can_cancel:
            return
        started = time.monotonic()
        async with self.hook.async_client() as client:
            await self.hook.acancel_run(self.run_ref, client)
        self.log.info(
            "Task killed: asked %s to stop run %s (%.1fs)",
            self.hook.platform,
            self.run_ref.get("run_id"),
            time.monotonic() - started,
        )
