"""THE run lifecycle: start on the worker, remember the run, wait (poll or defer), conclude."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pipelines.core.compat import BaseOperator, default_deferrable
from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.outcome import conclude, outcome_from_event
from airflow_provider_pipelines.core.run_store import RunStore
from airflow_provider_pipelines.core.states import RunState
from airflow_provider_pipelines.core.waiting import RunWaiting, poll_until_done, read_once
from airflow_provider_pipelines.core.watch import WaitOutcome

if TYPE_CHECKING:
    from airflow.sdk import Context


def seconds(value: float | timedelta | None) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def task_marker(context: Context) -> str:
    """Names this task instance across its tries; sent with the start so a retry can find its run."""
    ti = context["ti"]
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{getattr(ti, 'map_index', -1)}"


class PipelineRunOperator(RunWaiting, BaseOperator):
    """
    Base operator: starts one run and, optionally, waits for it to end.

    Platform operators set ``hook_class`` and ``trigger_class`` and implement :meth:`run_spec` and
    :meth:`start_run`. Parameters every platform operator takes:

    :param wait_for_completion: wait until the run ends (default). If False, return once started.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
        Default: ``[operators] default_deferrable``.
    :param poll_interval: seconds between status reads while waiting.
    :param timeout: seconds (or a timedelta) to wait for the run; on expiry the run is cancelled
        (when ``cancel_on_kill``) and the task fails. None waits without limit.
    :param cancel_on_kill: cancel the remote run when the task is killed or times out.
    :param success_states: platform states that count as success, replacing the platform's own.
    :param failure_states: platform states that count as failure, in addition to the platform's.
    :param reattach_on_retry: on a retry, wait on the run an earlier try started (if it has not
        failed) instead of starting another one.
    :param not_found_grace: seconds after the start during which "run not found" means "not visible yet".
    """

    hook_class: ClassVar[type[PipelineHook]]
    ui_color = "#e8f1fb"

    def __init__(
        self,
        *,
        conn_id: str,
        wait_for_completion: bool = True,
        deferrable: bool = default_deferrable(),
        poll_interval: float = 10.0,
        timeout: float | timedelta | None = None,
        cancel_on_kill: bool = True,
        success_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        reattach_on_retry: bool = True,
        not_found_grace: float = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.cancel_on_kill = cancel_on_kill
        self.success_states = success_states
        self.failure_states = failure_states
        self.reattach_on_retry = reattach_on_retry
        self.not_found_grace = not_found_grace
        self._run_ref: RunRef | None = None

    # -- what a platform operator provides ---------------------------------------------------------

    def run_spec(self) -> dict[str, Any]:
        """What is being run (pipeline, namespace...), as JSON primitives; used to find earlier runs."""
        raise NotImplementedError

    def start_run(self, hook: PipelineHook, context: Context, marker: str) -> RunRef:
        """Start the run (one POST); ``marker`` goes with it when the platform can carry it."""
        raise NotImplementedError

    def persist_links(self, hook: PipelineHook, context: Context) -> None:
        """Store what the task's extra links need in XCom (the webserver has no connection)."""

    # -- the lifecycle -----------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        hook = self.hook
        marker = task_marker(context)
        self.persist_links(hook, context)
        run = self.reattach(hook, context, marker) if self.reattach_on_retry else None
        if run is None:
            if self.reattach_on_retry:
                RunStore(context, marker).claim()
            run = self.start_with_recovery(hook, context, marker)
            self.log.info("Started %s run %s", hook.platform, run["run_id"])
        started_at = time.time()
        self._run_ref = run
        self.remember(context, run)
        if not self.wait_for_completion:
            self.forget(context)
            return run["run_id"]
        timeout = seconds(self.timeout)
        deadline = started_at + timeout if timeout is not None else None
        not_found_until = started_at + self.not_found_grace
        watcher = self.watcher(run, self.poll_interval, deadline, not_found_until)
        if not self.deferrable:
            return self.finish(context, poll_until_done(hook, watcher))
        # A run that is already over (a resumed run that had ended, a very quick one) is concluded
        # here: deferring would only have the trigger fire at once.
        outcome = read_once(hook, watcher)
        if outcome is None:
            self.defer(
                trigger=self.deferral_trigger(
                    run, self.poll_interval, deadline, not_found_until, self.cancel_on_kill
                ),
                method_name="execute_complete",
            )
        return self.finish(context, outcome)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        ti = context["ti"]
        # Only this task instance's own run: a mapped task's other instances pushed theirs too.
        expected = ti.xcom_pull(task_ids=self.task_id, key="run_id", map_indexes=getattr(ti, "map_index", -1))
        return self.finish(context, outcome_from_event(self.hook.platform, event, expected))

    def finish(self, context: Context, outcome: WaitOutcome) -> Any:
        gone = outcome.kind == "error" and outcome.details.get("http_status") == 404
        # A run that timed out on a platform that cannot stop it is still going: a retry waits on it.
        still_running = outcome.kind == "timeout" and not self.hook.can_cancel
        if (outcome.kind != "error" or gone) and not still_running:
            # The run's story is over (or the run is gone): a later try or clear starts a new run.
            # After another "error" (the run could not be watched) the next try re-attaches.
            self._run_ref = None
            self.forget(context)
        return conclude(self.hook, outcome, self.log, cancel_on_timeout=self.cancel_on_kill)

    def on_kill(self) -> None:
        if self._run_ref is None or not self.cancel_on_kill:
            return
        if not self.hook.can_cancel:
            self.log.warning(
                "Task killed: %s cannot stop run %s through its API",
                self.hook.platform,
                self._run_ref["run_id"],
            )
            return
        try:
            self.hook.cancel_run(self._run_ref)
            self.log.info("Task killed: asked %s to stop run %s", self.hook.platform, self._run_ref["run_id"])
        except PipelineApiError as exc:
            self.log.error("Task killed, and stopping run %s failed: %s", self._run_ref["run_id"], exc)

    # -- starting once, remembering, re-attaching --------------------------------------------------

    def start_with_recovery(self, hook: PipelineHook, context: Context, marker: str) -> RunRef:
        """
        Start, and when the start's reply was lost (the server may have acted on it), look for the run
        by its marker before starting again, so that a lost reply never makes two runs.
        """
        policy = hook.client.settings.retry
        attempt = 1
        while True:
            try:
                return self.start_run(hook, context, marker)
            except PipelineApiError as exc:
                if not exc.retryable or attempt >= policy.attempts:
                    raise
                # Wait first: a platform may record a run a moment after acknowledging its start.
                wait = policy.backoff(attempt)
                self.log.warning("Starting may have failed (%s); checking in %.1fs", exc, wait)
                time.sleep(wait)
                found = self.find_earlier_run(hook, marker)
                if found is not None:
                    self.log.warning(
                        "The start's reply was lost, but run %s exists: using it", found["run_id"]
                    )
                    return found
                attempt += 1

    def find_earlier_run(self, hook: PipelineHook, marker: str) -> RunRef | None:
        try:
            return hook.find_run(self.run_spec(), marker)
        except PipelineApiError as exc:
            self.log.warning("Could not look for an earlier run: %s", exc)
            return None

    def remember(self, context: Context, run: RunRef) -> None:
        context["ti"].xcom_push(key="run_id", value=run["run_id"])
        if self.reattach_on_retry:
            RunStore(context, task_marker(context)).set(run)

    def forget(self, context: Context) -> None:
        if self.reattach_on_retry:
            RunStore(context, task_marker(context)).delete()

    def reattach(self, hook: PipelineHook, context: Context, marker: str) -> RunRef | None:
        """
        The run an earlier, unfinished try of this task started, if it has not failed.

        The :class:`RunStore` holds the run until the task concludes, so a run found there that
        completed while no worker watched it is still picked up; it is read on every try. When the
        store has nothing on a retry (the worker died before writing it), the run is found by its
        start marker, and only while it is in progress: a run that already ended may belong to a try
        that concluded before the task was cleared to run again.
        """
        stored = RunStore(context, marker).get()
        from_store = stored is not None
        if stored is None and (getattr(context["ti"], "try_number", 1) or 1) <= 1:
            # The store is read on a first try too: Airflow may run a try twice (a deferred task
            # resumed while the scheduler retried it), and the second execution must not start again.
            return None
        run = stored if stored is not None else self.find_earlier_run(hook, marker)
        if run is None:
            return None
        try:
            status = hook.get_run_status(run)
        except PipelineApiError as exc:
            # Not recorded yet (404), or a passing fault: wait on it; the watcher's grace and
            # transient-error handling decide. Starting anew here could run the job twice.
            self.log.warning(
                "Run %s from an earlier try cannot be read now (%s); waiting on it", run["run_id"], exc
            )
            return run
        overrides = self.effective_success_states() is not None or self.failure_states is not None
        state = (
            hook.state_map.classify(status.raw_state, self.effective_success_states(), self.failure_states)
            if overrides
            else status.state
        )
        if state is RunState.FAILED or (state.terminal and not from_store):
            self.log.info(
                "Run %s from an earlier try ended %s; starting anew", run["run_id"], status.raw_state
            )
            return None
        self.log.info(
            "Re-attaching to %s run %s started by an earlier try (now %s)",
            hook.platform,
            run["run_id"],
            status.raw_state,
        )
        return run
