"""Google OAuth2 access tokens for Cloud Data Fusion: application default credentials or a key, optionally
impersonating a service account (through a delegation chain) with IAM's ``generateAccessToken``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_pipelines.core.auth import RefreshingTokenAuth
from airflow_provider_pipelines.core.errors import PipelineError, redact, shorten

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
DEFAULT_IAM_URL = "https://iamcredentials.googleapis.com"
# Google's provider writes a connection's extras with this prefix (Airflow < 2.3 forms); Composer may too.
GCP_EXTRA_PREFIX = "extra__google_cloud_platform__"
_INSTALL_HINT = "Google credentials need google-auth: pip install 'airflow-provider-pipelines[google]'"


class GoogleCredentialsAuth(RefreshingTokenAuth):
    """
    A Google access token, refreshed before it expires (tokens live about an hour).

    google-auth is imported only here, when this auth is used: install the ``[google]`` extra.

    :param keyfile_dict: a service-account key (dict or JSON string); None uses application default
        credentials, as on Cloud Composer.
    :param key_path: a path to a service-account key file, instead of ``keyfile_dict``.
    :param scopes: OAuth2 scopes, default cloud-platform.
    :param impersonation_chain: a service account to act as, or a chain ``[a, b, c]``: the credentials
        above ask IAM for a token of ``c`` through the delegates ``a`` and ``b`` (Google's convention),
        each of which must grant the one before it the Service Account Token Creator role.
    :param iam_url: IAM credentials' base URL (:func:`iam_url`: ``[pipelines] google_iam_url``, else
        ``https://iamcredentials.googleapis.com``).
    """

    def __init__(
        self,
        keyfile_dict: Mapping[str, Any] | str | None = None,
        key_path: str | None = None,
        scopes: Sequence[str] = (CLOUD_PLATFORM_SCOPE,),
        impersonation_chain: str | Sequence[str] | None = None,
        iam_url: str | None = None,
    ) -> None:
        super().__init__()
        if isinstance(keyfile_dict, str):
            try:
                keyfile_dict = json.loads(keyfile_dict) if keyfile_dict.strip() else None
            except ValueError:
                raise PipelineError("the connection's keyfile_dict is not valid JSON") from None
        self._keyfile = dict(keyfile_dict) if isinstance(keyfile_dict, Mapping) and keyfile_dict else None
        self._key_path = key_path
        self._scopes = list(scopes) or [CLOUD_PLATFORM_SCOPE]
        self._chain = chain_of(impersonation_chain)
        self._iam_url = iam_url
        self._credentials: Any = None

    @property
    def impersonated(self) -> str | None:
        """The service account the tokens are for, when impersonating."""
        return self._chain[-1] if self._chain else None

    def __repr__(self) -> str:
        source = "service-account key" if self._keyfile or self._key_path else "application default"
        acting = f", impersonating {self._chain[-1]}" if self._chain else ""
        return f"GoogleCredentialsAuth({source}{acting})"

    def _load(self) -> Any:
        try:
            import google.auth
            from google.oauth2 import service_account
        except ImportError:
            raise PipelineError(_INSTALL_HINT) from None
        if self._keyfile:
            source = service_account.Credentials.from_service_account_info(self._keyfile, scopes=self._scopes)
        elif self._key_path:
            source = service_account.Credentials.from_service_account_file(
                self._key_path, scopes=self._scopes
            )
        else:
            source, _ = google.auth.default(scopes=self._scopes)
        if not self._chain:
            return source
        from google.auth import impersonated_credentials

        target = self._chain[-1]
        base = (self._iam_url or iam_url()).rstrip("/")
        return impersonated_credentials.Credentials(
            source_credentials=source,
            target_principal=target,
            target_scopes=self._scopes,
            delegates=self._chain[:-1] or None,
            iam_endpoint_override=f"{base}/v1/projects/-/serviceAccounts/{target}:generateAccessToken",
        )

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
            acting = f" to impersonate {self._chain[-1]}" if self._chain else ""
            detail = shorten(redact(_google_auth_error(exc), self.secrets()))
            raise PipelineError(f"could not get a Google access token{acting}: {detail}") from None
        expiry = self._credentials.expiry
        if expiry is None:
            return self._credentials.token, None
        from datetime import UTC

        return self._credentials.token, expiry.replace(tzinfo=UTC).timestamp()

    def secrets(self) -> list[str]:
        private_key = (self._keyfile or {}).get("private_key")
        return [*super().secrets(), *([private_key] if private_key else [])]


def chain_of(impersonation_chain: str | Sequence[str] | None) -> list[str]:
    """An ``impersonation_chain`` as a list: one account, a list, or a comma-separated string."""
    if impersonation_chain is None:
        return []
    items = impersonation_chain.split(",") if isinstance(impersonation_chain, str) else impersonation_chain
    chain = [str(item).strip() for item in items if str(item).strip()]
    return chain


def iam_url() -> str:
    """IAM credentials' base URL: ``[pipelines] google_iam_url`` (``AIRFLOW__PIPELINES__GOOGLE_IAM_URL``),
    else Google's. A test or an offline demo points it at the Data Fusion emulator."""
    from airflow_provider_pipelines.core.compat import conf

    return str(conf.get("pipelines", "google_iam_url", fallback="") or DEFAULT_IAM_URL).rstrip("/")


def gcp_extra(extras: Mapping[str, Any], name: str) -> Any:
    """A Google Cloud connection's extra, written plain (``key_path``) or prefixed
    (``extra__google_cloud_platform__key_path``) as Google's provider and Composer write them."""
    value = extras.get(name)
    if value in (None, ""):
        value = extras.get(GCP_EXTRA_PREFIX + name)
    return None if value in (None, "") else value


def gcp_scopes(extras: Mapping[str, Any]) -> list[str]:
    """The connection's ``scope`` extra (comma-separated), else cloud-platform."""
    scope = gcp_extra(extras, "scope")
    if isinstance(scope, str):
        return [item.strip() for item in scope.split(",") if item.strip()] or [CLOUD_PLATFORM_SCOPE]
    if isinstance(scope, Sequence) and scope:
        return [str(item) for item in scope]
    return [CLOUD_PLATFORM_SCOPE]


def google_cloud_auth(
    extras: Mapping[str, Any], impersonation_chain: str | Sequence[str] | None = None
) -> GoogleCredentialsAuth:
    """
    The auth of a Google Cloud connection (type ``google_cloud_platform``, as Cloud Composer creates
    ``google_cloud_default``): ``keyfile_dict``, else ``key_path``, else application default credentials;
    ``scope``; acting as the last account of ``impersonation_chain`` when one is given.
    """
    return GoogleCredentialsAuth(
        keyfile_dict=gcp_extra(extras, "keyfile_dict"),
        key_path=gcp_extra(extras, "key_path"),
        scopes=gcp_scopes(extras),
        impersonation_chain=impersonation_chain,
    )


def _google_auth_error(exc: Exception) -> str:
    """google-auth's error in a sentence: a refusal carries the server's JSON reply as its second argument,
    whose ``error.message`` (IAM) or ``error_description`` (OAuth2) is what a person needs."""
    args = exc.args
    if len(args) >= 2 and isinstance(args[1], str | bytes):
        try:
            reply = json.loads(args[1])
        except ValueError:
            reply = None
        if isinstance(reply, Mapping):
            error = reply.get("error")
            if isinstance(error, Mapping):
                status = " ".join(str(error.get(k)) for k in ("code", "status") if error.get(k))
                return f"{args[0]} (HTTP {status}): {error.get('message') or ''}".strip()
            if error:
                return f"{args[0]}: {error}: {reply.get('error_description') or ''}".strip()
    return f"{type(exc).__name__}: {exc}"
