"""EnOS API gateway (APIM) auth: an access token from app key + secret, and a signature on every call."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from airflow_provider_pipelines.core.auth import OutgoingRequest, RefreshingTokenAuth, finite_seconds
from airflow_provider_pipelines.core.compat import mask_secret
from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError, redact, summarize

TOKEN_PATH = "/apim-token-service/v2.0/token/get"
ENCRYPTION_REUSED = 1001


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def params_data(params: dict[str, str], body: bytes | None) -> str:
    """The signed text: query parameters sorted by name, each name then value, then the exact body."""
    return "".join(f"{name}{params[name]}" for name in sorted(params)) + (body or b"").decode("utf-8")


class ApimAuth(RefreshingTokenAuth):
    """
    Gets an APIM access token (``POST /apim-token-service/v2.0/token/get``), caches it until shortly
    before it expires, and signs every request as the gateway requires: headers ``apim-accesstoken``,
    ``apim-timestamp`` and ``apim-signature`` = sha256(token + sorted query params + body + timestamp +
    secret). A 401 (token expired or invalid) makes the client get a fresh token once.

    :param gateway: the API gateway's base URL.
    :param app_key: the application's key.
    :param app_secret: the application's secret (never sent; used to sign).
    """

    refresh_margin = 120.0

    def __init__(
        self, gateway: str, app_key: str, app_secret: str, timeout: float = 30, verify: bool | str = True
    ) -> None:
        super().__init__()
        self._verify = verify
        self._gateway = gateway.rstrip("/")
        self._app_key = app_key
        self._app_secret = app_secret
        self._timeout = timeout
        mask_secret(app_secret)

    def __repr__(self) -> str:
        return f"ApimAuth(gateway={self._gateway!r}, app_key={self._app_key!r})"

    def fetch_token(self) -> tuple[str, float | None]:
        for attempt in (1, 2):
            timestamp = int(time.time() * 1000) + attempt - 1
            body = {
                "appKey": self._app_key,
                "encryption": sha256_hex(f"{self._app_key}{timestamp}{self._app_secret}"),
                "timestamp": timestamp,
            }
            reply = self._post(body)
            status = reply.get("status")
            if str(status) == "0":
                data = reply.get("data")
                data = data if isinstance(data, dict) else {}
                token = data.get("accessToken")
                if not isinstance(token, str) or not token:
                    raise PipelineError(
                        f"EnOS token service answered no accessToken: {self._quote(str(reply))}"
                    )
                # 7200 s when "expire" is missing or not a usable number
                return token, time.time() + (finite_seconds(data.get("expire")) or 7200.0)
            if status == ENCRYPTION_REUSED and attempt == 1:
                continue  # the same timestamp was used twice: sign again with a fresh one
            raise PipelineError(
                f"EnOS token service refused the app key (status {self._quote(str(status), 40)}): "
                f"{self._quote(str(reply.get('msg')))}"
            )
        raise AssertionError("unreachable")

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        import requests

        try:
            response = requests.post(
                self._gateway + TOKEN_PATH, json=body, timeout=self._timeout, verify=self._verify
            )
        except requests.RequestException as exc:
            message = f"could not reach the token service: {type(exc).__name__}"
            raise PipelineApiError("EnOS", "get access token", None, message, retryable=True) from None
        text = response.content.decode("utf-8", errors="replace")
        if response.status_code == 429 or response.status_code >= 500:
            message = self._quote(text)
            raise PipelineApiError("EnOS", "get access token", response.status_code, message, retryable=True)
        try:
            reply = json.loads(text)
        except (ValueError, RecursionError):
            raise PipelineApiError(
                "EnOS", "get access token", response.status_code, "reply is not JSON"
            ) from None
        return reply if isinstance(reply, dict) else {}

    def _quote(self, text: str, limit: int = 200) -> str:
        """Part of a token service reply, fit for an error: secrets out, one short line."""
        return summarize(redact(text, self.secrets()), limit)

    def header_value(self, token: str) -> dict[str, str]:
        return {"apim-accesstoken": token}

    def signed(self, token: str, request: OutgoingRequest) -> dict[str, str]:
        timestamp = str(int(time.time() * 1000))
        text = token + params_data(request.params, request.body) + timestamp + self._app_secret
        return {"apim-accesstoken": token, "apim-timestamp": timestamp, "apim-signature": sha256_hex(text)}

    def headers(self, request: OutgoingRequest) -> dict[str, str]:
        return self.signed(self.token(), request)

    async def aheaders(self, request: OutgoingRequest) -> dict[str, str]:
        return self.signed(await self.atoken(), request)

    def secrets(self) -> list[str]:
        return [*super().secrets(), self._app_secret]
