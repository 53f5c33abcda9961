"""THE run lifecycle, in two steps: obtain the run (re-attach, or start once), then wait on it (poll or
defer) and conclude."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pipelines.core.compat import AirflowTaskTimeout, default_deferrable
from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.outcome import conclude, outcome_from_event
from airflow_provider_pipelines.core.reattach import Found, Reattach, keeps_run, reattach_decision
from airflow_provider_pipelines.core.run_store import RunStore
from airflow_provider_pipelines.core.start import Attempt, StartOnce, StartUncertain, new_attempt, reply_lost
from airflow_provider_pipelines.core.states import RunStatus
from airflow_provider_pipelines.core.task import PipelineTask
from airflow_provider_pipelines.core.templating import StructuredTemplates
from airflow_provider_pipelines.core.waiting import RunWaiting, poll_until_done, read_once, wait_deadline
from airflow_provider_pipelines.core.watch import WaitOutcome
from airflow_provider_pipelines.lineage.task import OpenLineageMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


DEFAULT_TIMEOUT = timedelta(days=7)


def task_marker(context: Context) -> str:
    """Names this task instance across its tries; sent with the start so a retry can find its run."""
    ti = context["ti"]
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{getattr(ti, 'map_index', -1)}"


def try_number(context: Context) -> int:
    return int(getattr(context["ti"], "try_number", 1) or 1)


class PipelineRunOperator(OpenLineageMixin, StructuredTemplates, RunWaiting, PipelineTask):
    """
    Base operator: starts one run and, optionally, waits for it to end.

    Platform operators set ``hook_class`` and ``trigger_class`` and implement :meth:`run_spec` and
    :meth:`start_run`. Parameters every platform operator takes:

    :param wait_for_completion: wait until the run ends (default). If False, return once started.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
        Default: ``[operators] default_deferrable``.
    :param poll_interval: seconds between status reads while waiting.
    :param timeout: seconds (or a timedelta) to wait for the run; on expiry the run is cancelled
        (when ``cancel_on_kill``) and the task fails. Default 7 days; None waits without limit. A
        task's ``execution_timeout`` ends the wait too, deferred or not, with the same cancel.
    :param max_unreachable: seconds (or a timedelta) of nothing but transient errors (5xx, 429,
        connection errors, timeouts) after which the wait fails, naming the run and the last error;
        the run is kept, so a retry waits on it again. Default: the connection's ``max_unreachable``
        extra, else one hour.
    :param cancel_on_kill: cancel the remote run when the task is killed or times out.
    :param success_states: platform states that count as success, replacing the platform's own.
    :param failure_states: platform states that count as failure, in addition to the platform's.
    :param reattach_on_retry: on a retry, wait on the run an earlier try started (if it has not
        failed) instead of starting another one.
    :param not_found_grace: seconds after the start during which "run not found" means "not visible yet";
        after a start whose reply was lost, how long the platform is given to show the run before the
        start may be sent again.
    :param repeat_uncertain_starts: when the reply to a start was lost and the platform cannot tell
        whether the job started, start it again instead of failing the task (default False: a job
        never runs twice).
    :param retry_from_failure: on a retry of a task whose run failed, continue that run from its
        failed steps instead of starting the whole job again, where the platform can (Daggy,
        FlowEngine). Default False.
    """

    hook_class: ClassVar[type[PipelineHook]]
    ui_color = "#e8f1fb"
    # The log line once the run is started ({} is the run, described by the hook); None: start_run logs.
    start_log: ClassVar[str | None] = "Started %s"

    def __init__(
        self,
        *,
        wait_for_completion: bool = True,
        deferrable: bool = default_deferrable(),
        poll_interval: float = 10.0,
        timeout: float | timedelta | None = DEFAULT_TIMEOUT,
        cancel_on_kill: bool = True,
        success_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        reattach_on_retry: bool = True,
        not_found_grace: float = 60.0,
        repeat_uncertain_starts: bool = False,
        retry_from_failure: bool = False,
        max_unreachable: float | timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if retry_from_failure and not self.hook_class.can_resume:
            raise ValueError(f"{self.hook_class.platform} cannot continue a failed run: retry_from_failure")
        if retry_from_failure and not reattach_on_retry:
            raise ValueError("retry_from_failure needs reattach_on_retry: the failed run is kept for it")
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.cancel_on_kill = cancel_on_kill
        self.success_states = success_states
        self.failure_states = failure_states
        self.reattach_on_retry = reattach_on_retry
        self.not_found_grace = not_found_grace
        self.repeat_uncertain_starts = repeat_uncertain_starts
        self.retry_from_failure = retry_from_failure
        self.max_unreachable = max_unreachable
        self._run_ref: RunRef | None = None  # the run on_kill stops

    # -- what a platform operator provides ---------------------------------------------------------

    def run_spec(self) -> dict[str, Any]:
        """What is being run (pipeline, namespace...), as JSON primitives; used to find earlier runs."""
        raise NotImplementedError

    def start_run(self, hook: PipelineHook, context: Context, attempt: Attempt) -> RunRef:
        """
        Start the run (one request). ``attempt["marker"]`` goes with it when the platform can carry it,
        and so does what :meth:`PipelineHook.start_facts_plan` noted for this attempt (a trigger time).
        When the reply is lost, the platform's :meth:`PipelineHook.find_started_run_plan` finds the run.
        """
        raise NotImplementedError

    # -- the lifecycle: obtain the run, then wait on it --------------------------------------------

    def execute(self, context: Context) -> Any:
        executing_since = time.time()
        hook = self.hook
        self.persist_links(hook, context)
        run = self.obtain_run(hook, context, task_marker(context))
        self.lineage_note(hook, run)
        return self.wait_on(hook, context, run, executing_since)

    def wait_on(self, hook: PipelineHook, context: Context, run: RunRef, executing_since: float) -> Any:
        """Keep the run for later tries, then wait for it to end (unless ``wait_for_completion`` is off)."""
        started_at = time.time()
        self._run_ref = run
        self.remember(context, run)
        if not self.wait_for_completion:
            self.forget(context)
            return run["run_id"]
        # The task instance's start; this execution's where Airflow does not say (Airflow 2's dag.test).
        start_date = getattr(context["ti"], "start_date", None)
        task_started = start_date.timestamp() if start_date is not None else executing_since
        deadline = wait_deadline(started_at, self.timeout, self.execution_timeout, task_started)
        wait = self.wait(
            run, self.poll_interval, deadline, started_at + self.not_found_grace, self.cancel_on_kill
        )
        watcher = wait.watcher(hook, self.log)
        if not self.deferrable:
            try:
                ended = poll_until_done(hook, watcher)
            except AirflowTaskTimeout:
                # Airflow's own execution_timeout fired first: the run is cancelled as on timeout.
                self.on_kill()
                raise
            return self.finish(context, ended)
        # A run that is already over (a resumed run that had ended, a very quick one) is concluded
        # here: deferring would only have the trigger fire at once.
        outcome = read_once(hook, watcher)
        if outcome is None:
            # Raises: the task resumes in execute_complete.
            self.defer(trigger=self.deferral_trigger(wait), method_name="execute_complete")
        return self.finish(context, outcome)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        ti = context["ti"]
        # Only this task instance's own run: a mapped task's other instances pushed theirs too.
        expected = ti.xcom_pull(task_ids=self.task_id, key="run_id", map_indexes=getattr(ti, "map_index", -1))
        return self.finish(context, outcome_from_event(self.hook.platform, event, expected))

    def finish(self, context: Context, outcome: WaitOutcome) -> Any:
        # After a deferral this may be a new process: the run comes back with the outcome.
        self.lineage_note(self.hook, outcome.run)
        kept = keeps_run(
            outcome.kind,
            outcome.details.get("http_status"),
            can_cancel=self.hook.can_cancel,
            resume_failed=self.retry_from_failure and self.retries_left(context),
        )
        if not kept:  # the run's story is over (or the run is gone): a later try or clear starts anew
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
            already = self.hook.cancel_run(self._run_ref)
            run = self.hook.describe_run(self._run_ref)
            if already is None:
                self.log.info("Task killed: asked to stop %s", run)
            else:
                self.log.info("Task killed: %s was already %s", run, already)
        except PipelineApiError as exc:
            self.log.error("Task killed, and stopping run %s failed: %s", self._run_ref["run_id"], exc)

    # -- obtaining the run: re-attach, or start once -----------------------------------------------

    def obtain_run(self, hook: PipelineHook, context: Context, marker: str) -> RunRef:
        """The run this try waits on: an earlier try's (re-attach), or one it starts, at most once."""
        store = RunStore(context, marker) if self.reattach_on_retry else None
        run = self.reattach(hook, context, store, marker) if store is not None else None
        if run is not None:
            return run
        attempt = new_attempt(marker, hook.start_facts(self.run_spec()))
        if store is not None:
            store.claim(attempt)
        try:
            run = self.start_once(hook, context).run(attempt)
        except Exception as exc:
            unresolved = isinstance(exc, StartUncertain) or (
                isinstance(exc, PipelineApiError) and reply_lost(exc)
            )
            if store is not None and not unresolved:
                store.delete()  # refused, or failed before sending: nothing for a retry to resolve
            raise
        if self.start_log:
            self.log.info(self.start_log, hook.describe_run(run))
        return run

    def earlier_run(
        self, hook: PipelineHook, context: Context, store: RunStore, marker: str
    ) -> tuple[RunRef | None, Found]:
        """
        The run an earlier try of this task started, and where it was found. The store is read on
        every try (Airflow may execute a try twice); a start an earlier try noted there without
        keeping its run (the worker died, or the reply was lost) is resolved by the platform's
        look-up first. From the second try on, an empty store falls back to the start marker.
        """
        run = store.get()
        if run is None and (attempt := store.get_attempt()) is not None:
            since = float(attempt.get("sent_at") or 0)
            run = self.start_once(hook, context).resolve(
                attempt, "the try that sent it ended first", since=since
            )
        if run is not None:
            return run, Found.STORE
        if try_number(context) > 1 and (run := self.find_earlier_run(hook, marker)) is not None:
            return run, Found.MARKER
        return None, Found.NOTHING

    def reattach(self, hook: PipelineHook, context: Context, store: RunStore, marker: str) -> RunRef | None:
        """The earlier try's run to wait on, as :func:`~.reattach.reattach_decision` has it; None: start."""
        run, found = self.earlier_run(hook, context, store, marker)
        if run is None:
            return None
        try:
            status: RunStatus | None = hook.get_run_status(run)
        except PipelineApiError as exc:
            status = None
            self.log.warning(
                "Run %s from an earlier try cannot be read now (%s); waiting on it", run["run_id"], exc
            )
        decision = reattach_decision(
            found=found,
            try_number=try_number(context),
            state=self.run_state(run, status) if status is not None else None,
            retry_from_failure=self.retry_from_failure,
        )
        raw = status.raw_state if status is not None else None
        if decision is Reattach.START:
            self.log.info("Run %s from an earlier try ended %s; starting anew", run["run_id"], raw)
            return None
        if decision is Reattach.RESUME:
            hook.resume_failed_run(run)
            self.log.info("Continuing %s from its failed steps (it ended %s)", hook.describe_run(run), raw)
        elif status is not None:
            self.log.info(
                "Re-attaching to %s started by an earlier try (now %s)", hook.describe_run(run), raw
            )
        return run

    def start_once(self, hook: PipelineHook, context: Context) -> StartOnce:
        """How this operator starts: its start, the platform's look-up, and the waits between them."""
        spec = self.run_spec()
        return StartOnce(
            platform=hook.platform,
            start=lambda attempt: self.start_run(hook, context, attempt),
            find=lambda attempt: hook.find_started_run(spec, attempt),
            grace=self.not_found_grace,
            interval=max(0.05, min(float(self.poll_interval), self.not_found_grace / 4 or 0.05)),
            attempts=hook.client.settings.retry.attempts,
            backoff=hook.client.settings.retry.wait_after,
            repeat_uncertain=self.repeat_uncertain_starts,
            check=hook.start_check,
            log=self.log,
        )

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

    def retries_left(self, context: Context) -> bool:
        return try_number(context) <= int(self.retries or 0)
