"""Firebase ID tokens (JWTs): pasted ones that expire, and ones minted from a refresh token."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

from airflow_provider_pipelines.core.auth import (
    BearerTokenAuth,
    OutgoingRequest,
    RefreshingTokenAuth,
    finite_seconds,
)
from airflow_provider_pipelines.core.compat import mask_secret
from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError, redact, summarize

FIREBASE_TOKEN_URL = "https://securetoken.googleapis.com/v1/token"


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (epoch seconds), read without checking the signature; None if absent."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, RecursionError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return finite_seconds(exp)


class ExpiringJwtAuth(BearerTokenAuth):
    """
    A JWT pasted into a connection. It works until its ``exp``; after that every call fails before it
    is sent, with an error saying the token expired and how to get a lasting set-up.
    """

    def __init__(self, token: str, platform: str, conn_id: str) -> None:
        super().__init__(token)
        self._expires_at = jwt_expiry(token)
        self._where = f"{platform} connection {conn_id!r}"

    def headers(self, request: OutgoingRequest) -> dict[str, str]:
        if self._expires_at is not None and time.time() >= self._expires_at:
            when = datetime.fromtimestamp(self._expires_at, UTC).isoformat(timespec="seconds")
            raise PipelineError(
                f"The JWT in {self._where} expired at {when}. Paste a fresh one, or set a Firebase "
                "refresh token and API key in the connection so tokens are renewed automatically."
            )
        return super().headers(request)


class FirebaseRefreshTokenAuth(RefreshingTokenAuth):
    """
    ID tokens obtained from a Firebase refresh token (``grant_type=refresh_token``) and renewed
    before they expire, so a task can wait for hours.

    :param refresh_token: the Firebase refresh token (a secret).
    :param api_key: the Firebase web API key of the project.
    :param token_url: the secure-token endpoint (tests point it at an emulator).
    :param platform: the platform the tokens are for, named in errors.
    """

    def __init__(
        self,
        refresh_token: str,
        api_key: str,
        token_url: str = FIREBASE_TOKEN_URL,
        timeout: float = 30,
        platform: str = "Firebase",
    ) -> None:
        super().__init__()
        # Errors name the platform the tokens are for, and Firebase: "Tailer Firebase token refresh".
        self._platform = platform
        self._call = "token refresh" if platform == "Firebase" else "Firebase token refresh"
        self._refused = "" if platform == "Firebase" else f"{platform} could not get a token: "
        self._refresh_token = refresh_token
        self._api_key = api_key
        self._token_url = token_url
        self._timeout = timeout
        mask_secret(refresh_token)
        mask_secret(api_key)

    def __repr__(self) -> str:
        return f"FirebaseRefreshTokenAuth(token_url={self._token_url!r})"

    def fetch_token(self) -> tuple[str, float | None]:
        import requests

        try:
            reply = requests.post(
                self._token_url,
                params={"key": self._api_key},
                data={"grant_type": "refresh_token", "refresh_token": self._refresh_token},
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            message = f"could not reach the token endpoint: {type(exc).__name__}"
            raise PipelineApiError(self._platform, self._call, None, message, retryable=True) from None
        text = reply.content.decode("utf-8", errors="replace")
        body: Any
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):
            body = {}
        token = body.get("id_token") if isinstance(body, dict) else None
        if reply.status_code != 200 or not isinstance(token, str) or not token:
            error = body.get("error") if isinstance(body, dict) else None
            reason = error.get("message") if isinstance(error, dict) else None
            message = summarize(redact(str(reason) if reason else text, self.secrets()), 200)
            if reply.status_code == 429 or reply.status_code >= 500:  # a passing fault: worth another try
                raise PipelineApiError(self._platform, self._call, reply.status_code, message, retryable=True)
            raise PipelineError(
                f"{self._refused}Firebase refused the refresh token (HTTP {reply.status_code}): "
                f"{message or '(empty reply)'}"
            )
        if isinstance(body.get("refresh_token"), str) and body["refresh_token"]:
            self._refresh_token = body["refresh_token"]
            mask_secret(self._refresh_token)
        expires_in = finite_seconds(body.get("expires_in"))
        expires_at = time.time() + expires_in if expires_in and expires_in > 0 else jwt_expiry(token)
        return token, expires_at

    def secrets(self) -> list[str]:
        return [*super().secrets(), self._refresh_token, self._api_key]
