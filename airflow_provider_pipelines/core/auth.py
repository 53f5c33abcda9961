"""Auth strategies. Each one turns an outgoing request into headers; none ever shows its secret in a repr."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_pipelines.core.compat import mask_secret


def finite_seconds(value: Any) -> float | None:
    """A number of seconds from a token reply (a number or a numeric string), None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) else None


@dataclass(frozen=True)
class OutgoingRequest:
    """What an auth strategy may sign: the exact method, path, query and body bytes that will be sent."""

    method: str
    url: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


class Auth:
    """No authentication. The base of every strategy."""

    def headers(self, request: OutgoingRequest) -> dict[str, str]:
        return {}

    async def aheaders(self, request: OutgoingRequest) -> dict[str, str]:
        return self.headers(request)

    def invalidate(self) -> bool:
        """Forget cached credentials after a 401. True when asking again may succeed."""
        return False

    def secrets(self) -> list[str]:
        """Every secret value this strategy may put on the wire, for redaction."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class BearerTokenAuth(Auth):
    """A fixed token sent as ``Authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self._token = token
        mask_secret(token)

    def headers(self, request: OutgoingRequest) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def secrets(self) -> list[str]:
        return [self._token]


class RefreshingTokenAuth(Auth):
    """
    A token obtained from somewhere, cached, and refreshed ``refresh_margin`` seconds before it expires.

    Subclasses implement :meth:`fetch_token` (blocking). The async path runs it in a thread so the
    triggerer's event loop is never blocked; one refresh at a time per instance, which every waiting
    coroutine of the loop shares.
    """

    refresh_margin: float = 300.0

    def __init__(self) -> None:
        self._token: str | None = None
        self._expires_at: float = 0.0
        self._lock = threading.Lock()
        self._seen: list[str] = []
        self._refreshing: asyncio.Future[str] | None = None

    def fetch_token(self) -> tuple[str, float | None]:
        """Return a fresh token and its expiry as epoch seconds (None when unknown)."""
        raise NotImplementedError

    def header_value(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def _fresh(self) -> bool:
        return self._token is not None and time.time() < self._expires_at - self.refresh_margin

    def _refresh(self) -> str:
        with self._lock:
            if not self._fresh():
                token, expires_at = self.fetch_token()
                mask_secret(token)
                self._seen.append(token)
                self._token = token
                self._expires_at = expires_at if expires_at is not None else time.time() + 3000.0
            assert self._token is not None
            return self._token

    def token(self) -> str:
        return self._token if self._fresh() and self._token else self._refresh()

    async def atoken(self) -> str:
        if self._fresh() and self._token:
            return self._token
        # The triggers of a connection share this auth: when the token expires, they all wait for
        # one refresh instead of each queueing a thread. shield: one cancelled trigger must not
        # cancel the refresh the others wait for.
        refreshing = self._refreshing
        if refreshing is None or refreshing.done() or refreshing.get_loop() is not asyncio.get_running_loop():
            refreshing = self._refreshing = asyncio.ensure_future(asyncio.to_thread(self._refresh))
        return await asyncio.shield(refreshing)

    def headers(self, request: OutgoingRequest) -> dict[str, str]:
        return self.header_value(self.token())

    async def aheaders(self, request: OutgoingRequest) -> dict[str, str]:
        return self.header_value(await self.atoken())

    def invalidate(self) -> bool:
        self._expires_at = 0.0
        return True

    def secrets(self) -> list[str]:
        return list(self._seen)


def build_headers(*parts: Mapping[str, Any] | None) -> dict[str, str]:
    merged: dict[str, str] = {}
    for part in parts:
        if part:
            merged.update({str(k): str(v) for k, v in part.items()})
    return merged


class StaticHeadersAuth(Auth):
    """
    Fixed headers sent with every request (an API key, a cookie, a proxy's token). Every value is
    treated as a secret: masked in logs and redacted from error messages.
    """

    def __init__(self, headers: Mapping[str, Any]) -> None:
        self._headers = {str(k): str(v) for k, v in headers.items()}
        for value in self._headers.values():
            mask_secret(value)

    def headers(self, request: OutgoingRequest) -> dict[str, str]:
        return dict(self._headers)

    def secrets(self) -> list[str]:
        return list(self._headers.values())

    def __repr__(self) -> str:
        return f"StaticHeadersAuth(names={sorted(self._headers)})"


def headers_extra(value: Any) -> dict[str, str]:
    """A connection extra holding headers: a mapping, or a JSON object in a string."""
    if value in (None, "", {}):
        return {}
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:  # the message names the position only, never the secret text
            raise ValueError(
                f"the 'headers' extra must be a JSON object of header names to values; "
                f"it is not JSON ({exc.msg} at character {exc.pos})"
            ) from None
    if not isinstance(value, Mapping):
        raise ValueError("the 'headers' extra must be a JSON object of header names to values")
    return {str(k): str(v) for k, v in value.items()}
