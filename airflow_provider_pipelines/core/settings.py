"""What a connection says about reaching a platform: the one place a connection becomes settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from airflow_provider_pipelines.core.auth import Auth
from airflow_provider_pipelines.core.retry import RetryPolicy


@dataclass(frozen=True)
class HttpSettings:
    """
    What a connection says about reaching a platform.

    Connection extras read here (all optional): ``verify`` (bool, default true), ``ca_bundle`` (path),
    ``connect_timeout`` (s, default 10), ``timeout`` (read timeout in s, default 60),
    ``max_reply_bytes`` (default 32 MiB), ``max_unreachable`` (s a wait bears nothing but transient
    errors, default 3600), ``max_connections`` (the triggerer's connections to the
    platform, shared by every trigger of the connection; default 32), and the retry policy's
    ``retry_attempts``, ``retry_initial_wait``, ``retry_max_wait``, ``retry_max_retry_after``.
    """

    base_url: str
    verify: bool | str = True
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_unreachable: float = 3600.0  # seconds a wait bears nothing but transient errors
    max_reply_bytes: int = 32 * 1024 * 1024
    max_connections: int = 32
    headers: Mapping[str, str] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_connection(
        cls,
        host: str | None,
        *,
        schema: str | None = None,
        port: int | None = None,
        extras: Mapping[str, Any] | None = None,
        default_url: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpSettings:
        # A number field cleared in Airflow 3's connection form is stored as null: the default, as unset.
        extras = {key: value for key, value in (extras or {}).items() if value is not None}
        verify: bool | str = as_bool(extras.get("verify", True))
        if extras.get("ca_bundle") and verify:
            verify = str(extras["ca_bundle"])
        return cls(
            base_url=base_url_from(host, schema=schema, port=port, default=default_url),
            verify=verify,
            connect_timeout=float(extras.get("connect_timeout", 10.0)),
            read_timeout=float(extras.get("timeout", 60.0)),
            max_unreachable=float(extras.get("max_unreachable", 3600.0)),
            max_reply_bytes=int(extras.get("max_reply_bytes", 32 * 1024 * 1024)),
            max_connections=max(1, int(extras.get("max_connections", 32))),
            headers=dict(headers or {}),
            retry=RetryPolicy.from_extras(extras),
        )

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


def as_bool(value: Any) -> bool:
    """A connection extra as a boolean: strings like ``false``, ``0``, ``no`` and ``off`` are false."""
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "off", "")
    return bool(value)


def base_url_from(
    host: str | None, *, schema: str | None = None, port: int | None = None, default: str | None = None
) -> str:
    """``http://h:1/api`` from a connection whose host is a full URL, or a bare host with schema and port."""
    host = (host or "").strip()
    if not host:
        if default:
            return default.rstrip("/")
        raise ValueError("the connection has no host: set it to the API's base URL")
    if "://" not in host:
        scheme = schema if schema in ("http", "https") else "https"
        host = f"{scheme}://{host}"
    parts = urlsplit(host)
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path}".rstrip("/")


class ClientConfig(NamedTuple):
    """What a connection becomes: how to reach the platform, how to sign in, and the platform's options."""

    settings: HttpSettings
    auth: Auth
    options: Mapping[str, Any]
