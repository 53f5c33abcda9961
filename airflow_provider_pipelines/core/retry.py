"""The retry policy shared by every platform's sync and async client."""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_pipelines.core.errors import PipelineApiError

if TYPE_CHECKING:  # tenacity is imported when a call is made, not when a DAG file imports an operator
    from tenacity import RetryCallState

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Statuses after which a non-idempotent call (a start) surely did nothing on the server.
NOT_PROCESSED_STATUSES = frozenset({429, 503})


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """
    Exponential backoff with full jitter on connection errors, timeouts, 429 and 5xx; never on other 4xx.

    :param attempts: tries per call, the first included.
    :param initial_wait: the backoff's first ceiling in seconds; it doubles on each retry.
    :param max_wait: the backoff's largest ceiling in seconds.
    :param max_retry_after: the longest ``Retry-After`` honoured; longer requests give up the call.
    """

    attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 30.0
    max_retry_after: float = 300.0

    @classmethod
    def from_extras(cls, extras: dict[str, Any]) -> RetryPolicy:
        default = cls()
        return cls(
            attempts=int(extras.get("retry_attempts", default.attempts)),
            initial_wait=float(extras.get("retry_initial_wait", default.initial_wait)),
            max_wait=float(extras.get("retry_max_wait", default.max_wait)),
            max_retry_after=float(extras.get("retry_max_retry_after", default.max_retry_after)),
        )

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before try ``attempt + 1``: a random share of an exponential ceiling."""
        ceiling = min(self.max_wait, self.initial_wait * (2 ** max(0, attempt - 1)))
        return random.uniform(0, ceiling)

    def wait_after(self, error: BaseException | None, attempt: int) -> float:
        """Seconds to wait after try ``attempt`` failed with ``error``: its ``Retry-After``, else backoff."""
        if isinstance(error, PipelineApiError) and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        return self.backoff(attempt)

    def should_retry(self, error: BaseException, idempotent: bool) -> bool:
        """Whether a call that failed with ``error`` is worth another try (attempts aside)."""
        if not isinstance(error, PipelineApiError) or not error.retryable:
            return False
        if error.retry_after is not None and error.retry_after > self.max_retry_after:
            return False
        if idempotent:
            return True
        # A start must not run twice: repeat it only when the server surely did not act on it.
        return not error.sent or error.status in NOT_PROCESSED_STATUSES

    def tenacity_kwargs(self, idempotent: bool, tried: int = 0) -> dict[str, Any]:
        """
        Arguments for ``tenacity.Retrying`` / ``AsyncRetrying``: one policy for both clients. ``tried``
        counts the tries already made before tenacity takes over (the clients make the first one
        themselves: most calls succeed at once, and tenacity costs more CPU than the request).
        """
        from tenacity import retry_if_exception, stop_after_attempt

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self.wait_after(error, state.attempt_number + tried)

        return {
            "stop": stop_after_attempt(max(1, self.attempts - tried)),
            "wait": wait,
            "retry": retry_if_exception(lambda error: self.should_retry(error, idempotent)),
            "reraise": True,
        }
