"""Google OAuth2 access tokens for Cloud Data Fusion: application default credentials or a key."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_pipelines.core.auth import RefreshingTokenAuth
from airflow_provider_pipelines.core.errors import PipelineError

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_INSTALL_HINT = "Google credentials need google-auth: pip install 'airflow-provider-pipelines[google]'"


class GoogleCredentialsAuth(RefreshingTokenAuth):
    """
    A Google access token, refreshed before it expires (tokens live about an hour).

    google-auth is imported only here, when this auth is used: install the ``[google]`` extra.

    :param keyfile_dict: a service-account key (dict or JSON string); None uses application default
        credentials, as on Cloud Composer.
    :param key_path: a path to a service-account key file, instead of ``keyfile_dict``.
    :param scopes: OAuth2 scopes, default cloud-platform.
    """

    def __init__(
        self,
        keyfile_dict: Mapping[str, Any] | str | None = None,
        key_path: str | None = None,
        scopes: Sequence[str] = (CLOUD_PLATFORM_SCOPE,),
    ) -> None:
        super().__init__()
        if isinstance(keyfile_dict, str):
            try:
                keyfile_dict = json.loads(keyfile_dict)
            except ValueError:
                raise PipelineError("the connection's keyfile_dict is not valid JSON") from None
        self._keyfile = dict(keyfile_dict) if isinstance(keyfile_dict, Mapping) and keyfile_dict else None
        self._key_path = key_path
        self._scopes = list(scopes)
        self._credentials: Any = None

    def __repr__(self) -> str:
        source = "service-account key" if self._keyfile or self._key_path else "application default"
        return f"GoogleCredentialsAuth({source})"

    def _load(self) -> Any:
        try:
            import google.auth
            from google.oauth2 import service_account
        except ImportError:
            raise PipelineError(_INSTALL_HINT) from None
        if self._keyfile:
            return service_account.Credentials.from_service_account_info(self._keyfile, scopes=self._scopes)
        if self._key_path:
            return service_account.Credentials.from_service_account_file(self._key_path, scopes=self._scopes)
        credentials, _ = google.auth.default(scopes=self._scopes)
        return credentials

    def fetch_token(self) -> tuple[str, float | None]:
        try:
            from google.auth.exceptions import GoogleAuthError
            from google.auth.transport.requests import Request
        except ImportError:
            raise PipelineError(_INSTALL_HINT) from None

        try:
            if self._credentials is None:
                self._credentials = self._load()
            self._credentials.refresh(Request())
        except (GoogleAuthError, ValueError) as exc:  # ValueError: a key google-auth cannot read
            raise PipelineError(f"could not get a Google access token: {type(exc).__name__}: {exc}") from None
        expiry = self._credentials.expiry
        if expiry is None:
            return self._credentials.token, None
        from datetime import UTC

        return self._credentials.token, expiry.replace(tzinfo=UTC).timestamp()

    def secrets(self) -> list[str]:
        private_key = (self._keyfile or {}).get("private_key")
        return [*super().secrets(), *([private_key] if private_key else [])]
