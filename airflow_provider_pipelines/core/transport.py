"""
Transport errors: a failure below HTTP (no reply) in one sentence naming where the platform could
not be reached, why, and what to do; the same from both clients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_pipelines.core.errors import summarize
from airflow_provider_pipelines.core.urls import where

if TYPE_CHECKING:
    from airflow_provider_pipelines.core.settings import HttpSettings


def transport_failure(
    settings: HttpSettings, exc: BaseException, kind: str | None = None, *, sent: bool = True
) -> tuple[str, bool, bool]:
    """
    What a failure below HTTP says: ``(message, retryable, sent)``. ``kind`` when the client knows it
    (a timeout, a bad URL), else read from the exceptions ``exc`` wraps; ``sent`` for a connection lost
    on the way.
    """
    place = where(settings.base_url)
    detail = ""
    if kind is None:
        kind, detail = _transport_kind(_causes(exc))
    retryable = True
    if kind == "certificate":
        sent = retryable = False
        if "mismatch" in detail.lower():
            fix = "use a host name the certificate is issued for"
        elif isinstance(settings.verify, str):
            fix = "check that the connection's ca_bundle extra holds the CA that issued it"
        else:
            fix = "set the connection's ca_bundle extra"
        message = f"cannot verify the TLS certificate of {place} ({detail}): {fix}"
        message += ", or verify=false for testing"
    elif kind == "not tls":
        sent = retryable = False
        message = (
            f"{place} does not answer in TLS ({detail}): if it serves plain HTTP, start the "
            "connection's host with http:// (a host without a scheme is taken as https://)"
        )
    elif kind == "tls":
        sent = retryable = False
        message = (
            f"the TLS handshake with {place} failed ({detail}): "
            "check the connection's host, port and TLS extras"
        )
    elif kind == "refused":
        sent = False
        message = (
            f"cannot connect to {place} (connection refused): "
            "check the connection's host and port, and that the platform is up"
        )
    elif kind == "dns":
        sent = False
        message = f"cannot resolve the host name of {place} ({detail}): check the connection's host"
    elif kind == "connect timeout":
        sent = False
        message = (
            f"cannot connect to {place} (connect timed out after {settings.connect_timeout:g}s): "
            "check the host, port and firewalls, or raise the connection's connect_timeout extra"
        )
    elif kind == "read timeout":
        sent = True
        message = (
            f"{place} did not reply (read timed out after {settings.read_timeout:g}s): the request "
            "may have been acted on; raise the connection's timeout extra if the platform is slow"
        )
    elif kind == "url":
        sent = retryable = False
        base = settings.base_url
        scheme = base.partition("://")[0].lower() if "://" in base else ""
        if not scheme:
            problem = "has no scheme"
        elif scheme not in ("http", "https"):
            problem = f"has the scheme {scheme}://"
        else:
            problem = "is not a valid URL"
        message = (
            f"the URL of {place} {problem}: "
            "set the connection's host to a URL that starts with https:// or http://"
        )
    elif not sent:
        message = f"cannot connect to {place} ({detail}): check the connection's host and port"
    else:
        message = f"the connection to {place} broke before a full reply ({detail})"
    return message, retryable, sent


def never_connected(exc: BaseException) -> bool:
    """True when requests/urllib3 failed before any byte was sent (refused, DNS)."""
    return any(type(cause).__name__ in _NEVER_CONNECTED for cause in _causes(exc))


_NEVER_CONNECTED = frozenset({"NewConnectionError", "NameResolutionError", "ConnectTimeoutError"})
# OpenSSL's reasons when the other end does not speak TLS (``https://`` to a plain-HTTP port).
_NOT_TLS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "RECORD_LAYER_FAILURE",
        "UNKNOWN_PROTOCOL",
        "HTTP_REQUEST",
        "PACKET_LENGTH_TOO_LONG",
        "UNEXPECTED_RECORD",
    }
)
_CONNECT_TIMEOUTS = frozenset({"ConnectTimeoutError", "ConnectionTimeoutError", "ConnectTimeout"})
_READ_TIMEOUTS = frozenset({"ReadTimeoutError", "ReadTimeout", "SocketTimeoutError"})


def _causes(exc: BaseException) -> list[BaseException]:
    """
    ``exc`` and every exception it wraps, outermost first: ``__cause__``, ``__context__`` and what
    requests, urllib3 and aiohttp keep in ``reason``, ``os_error`` or ``args``. Only exceptions are
    followed: ``ssl.SSLError.reason`` is a string (``'CERTIFICATE_VERIFY_FAILED'``), and so are most args.
    """
    found: list[BaseException] = []
    seen: set[int] = set()
    pending: list[object] = [exc]
    index = 0
    while index < len(pending) and len(found) < 32:
        current = pending[index]
        index += 1
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        pending.append(current.__cause__)
        pending.append(getattr(current, "reason", None))  # urllib3; a string in ssl.SSLError
        pending.append(getattr(current, "os_error", None))  # aiohttp's ClientConnectorError
        pending.extend(current.args)
        pending.append(current.__context__)
    return found


def _transport_kind(causes: list[BaseException]) -> tuple[str, str]:
    """What went wrong, from the exceptions of one failure: a kind and its cause in plain words."""
    import socket
    import ssl

    # Innermost first: aiohttp's wrappers are ssl errors too, without ssl's reason and verify_message.
    for cause in reversed(causes):
        if isinstance(cause, ssl.SSLCertVerificationError):
            text = getattr(cause, "verify_message", None) or getattr(cause, "reason", None)
            return "certificate", str(text or _plain(cause)).rstrip(".")
    for cause in reversed(causes):
        # EOF and the like are a connection closed mid-way (a drop), not a TLS disagreement.
        if isinstance(cause, ssl.SSLError) and not isinstance(
            cause, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)
        ):
            reason = getattr(cause, "reason", None)
            reason = reason if isinstance(reason, str) else ""
            detail = reason.replace("_", " ").lower() if reason else _plain(cause)
            return ("not tls" if reason in _NOT_TLS else "tls"), detail
    for cause in causes:
        name = type(cause).__name__
        if isinstance(cause, ConnectionRefusedError):
            return "refused", "connection refused"
        if isinstance(cause, socket.gaierror) or name == "NameResolutionError":
            gai = next((c for c in causes if isinstance(c, socket.gaierror)), cause)
            return "dns", _plain(gai)
        if name in _CONNECT_TIMEOUTS:
            return "connect timeout", ""
        if name in _READ_TIMEOUTS:
            return "read timeout", ""
    return "lost", _plain(causes[-1])


def _plain(exc: BaseException) -> str:
    """An exception's own words, on one short line: an OSError's ``strerror``, else its text."""
    strerror = getattr(exc, "strerror", None)
    text = strerror if isinstance(strerror, str) and strerror else str(exc)
    return summarize(text, 200) or type(exc).__name__
