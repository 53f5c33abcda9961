"""The provider's exceptions: every failure names the platform, the call, the HTTP status and the reason."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from airflow_provider_pipelines.core.compat import AirflowException

MAX_MESSAGE = 500
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret (of 4+ characters) with ``***``."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters (the last one an ellipsis when cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shorten_encoded(text: str, limit: int = 1000) -> str:
    """``text`` cut so that its JSON form has at most ``limit`` characters: a non-ASCII character
    takes six there (``\\u00e9``), so a capped message can still be long in a trigger event."""
    if len(text) <= limit // 6 or len(json.dumps(text)) <= limit:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if len(json.dumps(text[:middle] + "…")) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…"


def summarize(body: str, limit: int = MAX_MESSAGE) -> str:
    """One readable line from a server reply: HTML tags dropped, whitespace folded, length capped."""
    # Only the start of a huge reply can be shown: fold a bounded prefix, not megabytes.
    return shorten(_SPACE.sub(" ", _TAG.sub(" ", body[: limit * 20])).strip(), limit)


class PipelineError(AirflowException):
    """Base class of every error raised by this provider."""


class PipelineApiError(PipelineError):
    """
    A call to a platform's API failed.

    :param platform: the platform's name, e.g. ``CDAP``.
    :param call: what was being done, e.g. ``start pipeline``.
    :param status: the HTTP status, or None when no reply came (connection error, timeout).
    :param message: the server's own message, already redacted.
    :param retryable: whether trying again later may succeed (timeouts, 429, 5xx, dropped connections).
    :param retry_after: seconds the server asked us to wait (``Retry-After``), if any.
    :param sent: False when the request surely never reached the server (connection refused), so a
        non-idempotent call may be repeated safely.
    :param code: the platform's own error code, when its replies carry one (EnOS: ``61165``).
    """

    def __init__(
        self,
        platform: str,
        call: str,
        status: int | None,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        sent: bool = True,
        code: str | None = None,
    ) -> None:
        self.platform = platform
        self.code = code
        self.call = call
        self.status = status
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.sent = sent
        where = f"HTTP {status}" if status is not None else "no reply"
        super().__init__(f"{platform} {call} failed ({where}): {message}")

    @property
    def not_found(self) -> bool:
        return self.status == 404

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_api_error,
            (
                self.platform,
                self.call,
                self.status,
                self.message,
                self.retryable,
                self.retry_after,
                self.sent,
                self.code,
            ),
        )


def _rebuild_api_error(
    platform: str,
    call: str,
    status: int | None,
    message: str,
    retryable: bool,
    retry_after: float | None,
    sent: bool,
    code: str | None = None,
) -> PipelineApiError:
    return PipelineApiError(
        platform, call, status, message, retryable=retryable, retry_after=retry_after, sent=sent, code=code
    )


class PipelineRunFailed(PipelineError):
    """A run reached a terminal state that is not success (or could not be watched to the end)."""


class PipelineRunTimeout(PipelineError):
    """A run did not reach a terminal state before the task's ``timeout``."""
