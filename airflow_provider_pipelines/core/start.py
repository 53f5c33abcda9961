"""
Starting a run at most once, even when the reply to a start is lost: such a start is sent again only
once a look-up, after ``grace`` seconds, has shown that no run of this attempt exists; a run it finds
is adopted. A platform that cannot tell fails the task with :class:`StartUncertain`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError
from airflow_provider_pipelines.core.retry import NOT_PROCESSED_STATUSES

Attempt = dict[str, Any]
"""One try's start, as JSON primitives: ``marker``, ``sent_at`` (epoch seconds of the first send) and
what the platform noted before sending (runs already there, a trigger time...). It is kept in the
:class:`~airflow_provider_pipelines.core.run_store.RunStore` while the start is unresolved, so a
later try can resolve it too."""


def new_attempt(marker: str, facts: dict[str, Any] | None = None, now: float | None = None) -> Attempt:
    return {"marker": marker, "sent_at": time.time() if now is None else now, **(facts or {})}


def reply_lost(error: PipelineApiError) -> bool:
    """The request may have been acted on, and only its reply is missing: a 5xx other than 503, a
    dropped connection, a read timeout, an unreadable 2xx. A refused connection, a DNS failure, a
    connect timeout, 429 and 503 prove the platform did nothing; other 4xx are plain refusals."""
    return error.sent and error.retryable and error.status not in NOT_PROCESSED_STATUSES


class CannotTell(PipelineError):
    """Raised by a look-up: the platform cannot say whether the start took effect.

    :param check: where a person can check (the platform's page or call), for the task's error.
    """

    def __init__(self, reason: str, check: str) -> None:
        self.reason = reason
        self.check = check
        super().__init__(reason)


class StartUncertain(PipelineError):
    """The job may have started, and was not started again: the task fails rather than risk two runs."""

    def __init__(self, platform: str, cause: str, check: str) -> None:
        super().__init__(
            f"{platform}: the reply to the start was lost ({cause}), so the job may have started; it was "
            f"not started again. Check {check} before clearing this task, or set "
            "repeat_uncertain_starts=True to start again in such a case."
        )


@dataclass
class StartOnce:
    """
    One try's start: ``start`` is sent, and after a lost reply ``find`` (the platform's look-up for
    the run of this attempt: a run ref, None for "no run", or :class:`CannotTell`) decides whether
    it is sent again. At most ``attempts`` starts are sent, each only after the look-up found nothing.
    ``check`` names where a person can see whether the job started (for :class:`StartUncertain`).
    """

    platform: str
    start: Callable[[Attempt], dict[str, Any]]
    find: Callable[[Attempt], dict[str, Any] | None]
    grace: float
    interval: float
    attempts: int
    repeat_uncertain: bool
    check: str
    log: Any
    backoff: Callable[[BaseException, int], float] = field(default=lambda error, sent: 0.0)
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.time)

    def run(self, attempt: Attempt) -> dict[str, Any]:
        sent = 1
        while True:
            try:
                return self.start(attempt)
            except PipelineApiError as exc:
                if not exc.retryable:
                    raise
                lost = reply_lost(exc)
                if lost and (found := self.resolve(attempt, exc, since=self.clock())) is not None:
                    return found
                if sent >= max(1, self.attempts):
                    raise
                if lost:
                    self.log.warning("%s shows no run of the lost start: starting again", self.platform)
                else:  # the platform surely did nothing (busy, 429, 503, not reached): again, later
                    wait = self.backoff(exc, sent)
                    self.log.warning(
                        "%s did not take the start (%s); again in %.1fs", self.platform, exc, wait
                    )
                    self.sleep(wait)
                sent += 1

    def resolve(self, attempt: Attempt, cause: BaseException | str, since: float) -> dict[str, Any] | None:
        """The run ``attempt`` started, or None once ``grace`` seconds after ``since`` show none."""
        self.log.warning("The reply to the %s start was lost (%s): looking for its run", self.platform, cause)
        while True:
            lookup_error: PipelineApiError | None = None
            try:
                found = self.find(attempt)
            except CannotTell as exc:
                if self.repeat_uncertain:
                    self.log.warning("%s; repeat_uncertain_starts is set: starting again", exc.reason)
                    return None
                raise StartUncertain(self.platform, str(cause), exc.check) from None
            except PipelineApiError as exc:
                found, lookup_error = None, exc
            if found is not None:
                self.log.warning("%s has run %s of this start: following it", self.platform, found["run_id"])
                return found
            left = since + self.grace - self.clock()
            if left <= 0:
                if lookup_error is None or self.repeat_uncertain:
                    return None
                raise StartUncertain(
                    self.platform, f"{cause}; looking for its run failed too: {lookup_error}", self.check
                ) from None
            self.sleep(min(self.interval, left))
