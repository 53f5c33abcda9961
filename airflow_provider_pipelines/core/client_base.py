"""What both clients share: settings, auth, options, headers, error mapping, reply decoding, retries."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from airflow_provider_pipelines.core.auth import Auth, OutgoingRequest, build_headers
from airflow_provider_pipelines.core.errors import PipelineApiError, redact, shorten, summarize
from airflow_provider_pipelines.core.plans import ApiCall
from airflow_provider_pipelines.core.replies import fast_json_decoder, server_message
from airflow_provider_pipelines.core.retry import RETRYABLE_STATUSES, parse_retry_after
from airflow_provider_pipelines.core.settings import HttpSettings
from airflow_provider_pipelines.core.transport import transport_failure
from airflow_provider_pipelines.core.urls import BoundedCache

# The name this logger had when the clients lived in core/http.py: logging configurations know it.
log = logging.getLogger("airflow_provider_pipelines.core.http")


class ClientBase:
    """What both clients share: settings, auth, options, error mapping and reply decoding."""

    def __init__(
        self,
        platform: str,
        settings: HttpSettings,
        auth: Auth | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.platform = platform
        self.settings = settings
        self.auth = auth or Auth()
        self.options: Mapping[str, Any] = dict(options or {})
        # Base headers by "has a JSON body" (see core/urls.py); never mutated.
        self._header_cache: BoundedCache[bool, dict[str, str]] = BoundedCache()
        self._init_session()

    def _init_session(self) -> None:
        """Set up the client's HTTP session state (each client has its own library)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.platform}, {self.settings.base_url})"

    def secrets(self) -> list[str]:
        return self.auth.secrets()

    def outgoing(self, call: ApiCall) -> OutgoingRequest:
        return OutgoingRequest(
            method=call.method,
            url=self.settings.url(call.path),
            path=call.path,
            params=call.query(),
            body=call.body(),
        )

    def base_headers(self, call: ApiCall) -> dict[str, str]:
        content_type = {"Content-Type": "application/json"} if call.json is not None else None
        return build_headers(
            {"Accept": "application/json"}, content_type, self.settings.headers, call.headers
        )

    def request_headers(self, call: ApiCall, auth_headers: Mapping[str, str]) -> dict[str, str]:
        """A request's headers: the call's (built once per kind: triggers repeat theirs) and auth's."""
        if call.headers:
            base = self.base_headers(call)
        else:
            has_json = call.json is not None
            cached = self._header_cache.get(has_json)
            if cached is None:
                cached = self._header_cache.keep(has_json, self.base_headers(call))
            base = cached
        return build_headers(base, auth_headers) if auth_headers else base

    def error(
        self, call: ApiCall, status: int | None, message: str, *, sent: bool = True, **kwargs: Any
    ) -> PipelineApiError:
        return PipelineApiError(
            self.platform, call.name, status, shorten(redact(message, self.secrets())), sent=sent, **kwargs
        )

    def transport_error(
        self, call: ApiCall, exc: BaseException, kind: str | None = None, *, sent: bool = True
    ) -> PipelineApiError:
        """A failure below HTTP (no reply) in one sentence: see :func:`~.transport.transport_failure`."""
        message, retryable, sent = transport_failure(self.settings, exc, kind, sent=sent)
        return self.error(call, None, message, retryable=retryable, sent=sent)

    def tidy(self, error: PipelineApiError) -> PipelineApiError:
        """An error a plan raised, made like the client's own: plans quote replies, which may hold a
        secret or be huge, so the message is redacted and capped (``error`` itself when it already is)."""
        message = shorten(redact(error.message, self.secrets()))
        if message == error.message:
            return error
        return PipelineApiError(
            error.platform,
            error.call,
            error.status,
            message,
            retryable=error.retryable,
            retry_after=error.retry_after,
            sent=error.sent,
            code=error.code,
        )

    def decode(self, call: ApiCall, status: int, headers: Mapping[str, str], content: bytes) -> Any:
        if 300 <= status < 400:
            where = headers.get("Location", "(no Location header)")
            raise self.error(call, status, f"unexpected redirect to {where}: check the connection's URL")
        if status >= 400 or status < 200:
            retry_after = parse_retry_after(headers.get("Retry-After")) if status in (429, 503) else None
            return_error = self.error(
                call,
                status,
                server_message(content, self.secrets()),
                retryable=status in RETRYABLE_STATUSES,
                retry_after=retry_after,
            )
            raise return_error
        if call.expect == "none":
            return None
        if call.expect == "json" and (fast_decode := fast_json_decoder()) is not None:
            try:
                return fast_decode(content)
            except Exception:  # anything it refuses, json below decides as always
                pass
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            text = content.decode("utf-8", errors="replace")
        if call.expect == "text":
            return text
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            if not text.strip():
                return None
            # A proxy's HTML page or a cut-off body: worth another try for a read, ambiguous for a start.
            raise self.error(
                call, status, f"the reply is not valid JSON: {summarize(text, 200)!r}", retryable=True
            ) from None

    def too_large(self, call: ApiCall, status: int) -> PipelineApiError:
        return self.error(call, status, f"the reply is larger than {self.settings.max_reply_bytes} bytes")

    def log_retry(self, call: ApiCall, error: BaseException | None, wait: float) -> None:
        log.warning("%s %s: %s; retrying in %.1fs", self.platform, call.name, error, wait)

    # A call's first try is made without tenacity (most succeed, and tenacity costs more CPU than a
    # request); a failure worth retrying hands the remaining tries to tenacity under the same policy.
    def first_retry_wait(self, call: ApiCall, error: PipelineApiError) -> float:
        """The wait before the second try, logged; re-raises ``error`` when it is not worth a retry."""
        policy = self.settings.retry
        if policy.attempts < 2 or not policy.should_retry(error, call.idempotent):
            raise error
        wait = policy.wait_after(error, 1)
        self.log_retry(call, error, wait)
        return wait

    def retry_kwargs(self, call: ApiCall) -> dict[str, Any]:
        """tenacity's arguments for the tries after the first."""
        return {
            **self.settings.retry.tenacity_kwargs(call.idempotent, tried=1),
            "before_sleep": lambda s: self.log_retry(
                call, s.outcome.exception() if s.outcome else None, s.upcoming_sleep
            ),
        }
