"""
One HTTP layer for every platform: a connection becomes settings in one place, and two clients
(requests for workers, aiohttp for triggers) apply the same auth, timeouts, TLS, retry policy and
error mapping. Platform code never touches a session: it describes calls as :class:`ApiCall` and
runs them through :func:`run_plan` / :func:`arun_plan`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, NamedTuple, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from airflow_provider_pipelines.core.auth import Auth, OutgoingRequest, build_headers
from airflow_provider_pipelines.core.errors import PipelineApiError, redact, shorten, summarize
from airflow_provider_pipelines.core.retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after

if TYPE_CHECKING:
    import aiohttp
    import requests
    import yarl

log = logging.getLogger(__name__)

T = TypeVar("T")
Expect = Literal["json", "text", "none"]


def url_path(*segments: object) -> str:
    """
    A URL path from raw segments, each percent-encoded whole so that it stays one segment: ``/``,
    ``?``, ``#``, ``%``, spaces and non-ASCII are encoded. Percent-encoding leaves dots alone, so a
    segment that is exactly ``.`` or ``..`` has its dots encoded (``%2E``): sent raw, a client,
    proxy or server that normalises dot segments would take it for "here" or "the parent". An empty
    segment is refused: it would address the collection above it.
    """
    return _encoded_path(tuple(map(str, segments)))


# A trigger builds the same few paths on every poll: encode each once.
@functools.lru_cache(maxsize=4096)
def _encoded_path(segments: tuple[str, ...]) -> str:
    parts = []
    for text in segments:
        if not text:
            raise ValueError(f"{text!r} is not a valid path segment")
        parts.append("%2E" * len(text) if text in (".", "..") else quote(text, safe=""))
    return "/" + "/".join(parts)


# What may stay raw in an encoded path: "/", existing %XX escapes and RFC 3986 pchars.
_PATH_SAFE = "/%!$&'()*+,;=:@~"
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def requote_path(path: str) -> str:
    """
    An already-encoded path with anything that may not appear raw in one encoded (spaces, non-ASCII,
    ``?``, ``#``, a ``%`` that starts no escape); existing escapes are kept as they are, so the output
    of :func:`url_path` is unchanged. A safety net for paths that come from elsewhere (a server).
    """
    return quote(_LONE_PERCENT.sub("%25", path), safe=_PATH_SAFE)


def query_string(params: Mapping[str, Any]) -> str:
    """``a=1&b=x%2Fy``: every name and value percent-encoded whole (``&``, ``=``, ``+``, ``#``, ``%``)."""
    return "&".join(f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in params.items())


def encoded_base_url(base_url: str) -> str:
    """The base URL as sent: path requoted (see :func:`requote_path`), a non-ASCII host in IDNA."""
    parts = urlsplit(base_url)
    netloc = parts.netloc
    if not netloc.isascii():
        userinfo, at, hostport = netloc.rpartition("@")
        host, colon, port = hostport.partition(":")
        netloc = userinfo + at + host.encode("idna").decode("ascii") + colon + port
    return urlunsplit((parts.scheme, netloc, requote_path(parts.path), "", "")).rstrip("/")


def wire_url(base_url: str, path: str, params: Mapping[str, Any] | None = None) -> str:
    """
    The exact URL a call is sent to. Both clients send it as it is: requests would otherwise turn
    ``%2E`` back into ``.`` (so ``/runs/%2E%2E`` into ``/runs/..``) and yarl would also drop the
    dot segments (``/runs/%2E%2E/stop`` into ``/stop``: the program-level stop).
    """
    return _joined_url(base_url, path, query_string(params or {}))


@functools.lru_cache(maxsize=4096)
def _joined_url(base_url: str, path: str, query: str) -> str:
    return encoded_base_url(base_url) + requote_path(path) + (f"?{query}" if query else "")


@dataclass(frozen=True)
class ApiCall:
    """
    One request, described without doing it.

    :param name: what the call does, for messages (``start pipeline``).
    :param method: HTTP method.
    :param path: path below the base URL, already encoded (see :func:`url_path`).
    :param params: query parameters.
    :param json: a JSON body; or ``data`` for raw bytes.
    :param expect: how to read the reply: ``json``, ``text`` or ``none``.
    :param idempotent: False for calls that must not be repeated blindly (starts): they are retried
        only when the server surely did not act on them.
    """

    name: str
    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    data: bytes | None = None
    headers: Mapping[str, str] | None = None
    expect: Expect = "json"
    idempotent: bool = True

    def body(self) -> bytes | None:
        if self.data is not None:
            return self.data
        if self.json is not None:
            return json.dumps(self.json, separators=(",", ":")).encode()
        return None

    def query(self) -> dict[str, str]:
        return {k: str(v) for k, v in (self.params or {}).items() if v is not None}


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
        extras = dict(extras or {})
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


@functools.cache
def _fast_json_decoder() -> Callable[[bytes], Any] | None:
    """
    msgspec's JSON decoder when it is installed (Airflow 3 installs it): about 4 times faster than
    ``json`` on a status reply, and triggers parse one on every poll. What it refuses (NaN, numbers
    out of range, lone surrogates, bad JSON) goes to ``json``, so replies decode the same either way.
    """
    try:
        from msgspec.json import decode
    except ImportError:
        return None
    return decode


def server_message(content: bytes, secrets: Iterable[str] = ()) -> str:
    """
    The useful part of an error reply: a JSON message field if there is one, else the text.
    Secrets are replaced before anything is cut or folded, so no part of one survives.
    """
    text = redact(content.decode("utf-8", errors="replace"), secrets)
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        return summarize(text) or "(empty reply)"
    if isinstance(parsed, dict):
        for key in ("message", "msg", "error", "error_description", "detail", "errorMessage"):
            value = parsed.get(key)
            if value:
                return summarize(value if isinstance(value, str) else json.dumps(value))
    return summarize(text)


class ClientConfig(NamedTuple):
    """What a connection becomes: how to reach the platform, how to sign in, and the platform's options."""

    settings: HttpSettings
    auth: Auth
    options: Mapping[str, Any]


class _ClientBase:
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
        self._base_headers: dict[bool, dict[str, str]] = {}  # by "has a JSON body"; never mutated
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
            cached = self._base_headers.get(has_json)
            if cached is None:
                cached = self._base_headers[has_json] = self.base_headers(call)
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
        """
        A failure below HTTP (no reply) in one sentence: the host and port, the cause in plain words,
        what to do; the same from both clients. ``kind`` when the client knows it (a timeout, a bad
        URL), else read from the exceptions ``exc`` wraps; ``sent`` for a connection lost on the way.
        """
        settings = self.settings
        where = _where(settings.base_url)
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
            message = f"cannot verify the TLS certificate of {where} ({detail}): {fix}"
            message += ", or verify=false for testing"
        elif kind == "not tls":
            sent = retryable = False
            message = (
                f"{where} does not answer in TLS ({detail}): if it serves plain HTTP, start the "
                "connection's host with http:// (a host without a scheme is taken as https://)"
            )
        elif kind == "tls":
            sent = retryable = False
            message = (
                f"the TLS handshake with {where} failed ({detail}): "
                "check the connection's host, port and TLS extras"
            )
        elif kind == "refused":
            sent = False
            message = (
                f"cannot connect to {where} (connection refused): "
                "check the connection's host and port, and that the platform is up"
            )
        elif kind == "dns":
            sent = False
            message = f"cannot resolve the host name of {where} ({detail}): check the connection's host"
        elif kind == "connect timeout":
            sent = False
            message = (
                f"cannot connect to {where} (connect timed out after {settings.connect_timeout:g}s): "
                "check the host, port and firewalls, or raise the connection's connect_timeout extra"
            )
        elif kind == "read timeout":
            sent = True
            message = (
                f"{where} did not reply (read timed out after {settings.read_timeout:g}s): the request "
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
                f"the URL of {where} {problem}: "
                "set the connection's host to a URL that starts with https:// or http://"
            )
        elif not sent:
            message = f"cannot connect to {where} ({detail}): check the connection's host and port"
        else:
            message = f"the connection to {where} broke before a full reply ({detail})"
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
        if call.expect == "json" and (fast_decode := _fast_json_decoder()) is not None:
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


class SyncApiClient(_ClientBase):
    """The worker's client: one ``requests.Session`` for the life of the hook."""

    _session: requests.Session

    def _init_session(self) -> None:
        import requests

        self._session = requests.Session()
        self._session.verify = self.settings.verify

    def close(self) -> None:
        self._session.close()

    def send(self, call: ApiCall) -> Any:
        try:
            return self._send_once(call)
        except PipelineApiError as error:
            wait = self.first_retry_wait(call, error)
        time.sleep(wait)
        from tenacity import Retrying

        return Retrying(**self.retry_kwargs(call))(self._send_once, call)

    def _send_once(self, call: ApiCall) -> Any:
        import requests

        request = self.outgoing(call)
        for refreshed in (False, True):
            headers = self.request_headers(call, self.auth.headers(request))
            try:
                with self._request(call, request.body, headers) as response:
                    content = self._read(call, response)
            except requests.exceptions.ConnectTimeout as exc:
                raise self.transport_error(call, exc, "connect timeout") from None
            except requests.exceptions.Timeout as exc:
                raise self.transport_error(call, exc, "read timeout") from None
            except requests.exceptions.ConnectionError as exc:
                # requests' SSLError is a failed handshake: no byte of the request went out.
                sent = not isinstance(exc, requests.exceptions.SSLError) and not _never_connected(exc)
                raise self.transport_error(call, exc, sent=sent) from None
            except (
                requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidURL,
            ) as exc:
                raise self.transport_error(call, exc, "url") from None
            if response.status_code == 401 and not refreshed and self.auth.invalidate():
                continue
            return self.decode(call, response.status_code, response.headers, content)
        raise AssertionError("unreachable")

    def _request(self, call: ApiCall, body: bytes | None, headers: Mapping[str, str]) -> requests.Response:
        """``Session.request``, but to the exact URL of :func:`wire_url`: requests re-quotes a URL it
        prepares (``%2E`` becomes ``.``), so the prepared request gets that URL back before sending."""
        import requests

        url = wire_url(self.settings.base_url, call.path, call.query())
        session = self._session
        prepared = session.prepare_request(requests.Request(call.method, url, data=body, headers=headers))
        prepared.url = url
        return session.send(
            prepared,
            timeout=(self.settings.connect_timeout, self.settings.read_timeout),
            allow_redirects=False,
            # stream=True: the read is capped. The connection's TLS setting is passed, or requests would
            # let REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace its ca_bundle and verify=false.
            **session.merge_environment_settings(url, {}, True, self.settings.verify, None),
        )

    def _read(self, call: ApiCall, response: requests.Response) -> bytes:
        import requests

        limit = self.settings.max_reply_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise self.too_large(call, response.status_code)
                chunks.append(chunk)
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            # Cut off in transit, or a Content-Encoding the body does not have (aiohttp: ClientPayloadError).
            raise self.error(call, None, f"the reply could not be read: {exc}", retryable=True) from None
        return b"".join(chunks)


def _never_connected(exc: BaseException) -> bool:
    """True when requests/urllib3 failed before any byte was sent (refused, DNS)."""
    return any(type(cause).__name__ in _NEVER_CONNECTED for cause in _causes(exc))


_NEVER_CONNECTED = frozenset({"NewConnectionError", "NameResolutionError", "ConnectTimeoutError"})

# -- transport errors: where the platform could not be reached, why, and what to do, in one sentence --

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


def _where(base_url: str) -> str:
    """``host:port`` of a base URL (the scheme's port when it names none); never a user or password."""
    parts = urlsplit(base_url if "://" in base_url else "//" + base_url)
    host = parts.hostname or "?"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"https": 443, "http": 80}.get(parts.scheme.lower())
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


class AsyncApiClient(_ClientBase):
    """The triggerer's client: one ``aiohttp.ClientSession`` (a connection pool) while it is open."""

    _session: aiohttp.ClientSession | None

    def _init_session(self) -> None:
        self._session = None  # opened by open()
        # The same few requests, polled again and again (OutgoingRequest is immutable).
        self._requests: dict[tuple[str, str, str], tuple[yarl.URL, OutgoingRequest]] = {}

    async def __aenter__(self) -> AsyncApiClient:
        return await self.open()

    async def open(self) -> AsyncApiClient:
        """Open the session (``async with`` does it); :meth:`close` closes it."""
        import aiohttp

        ssl: Any = True
        if self.settings.verify is False:
            ssl = False
        elif isinstance(self.settings.verify, str):
            import ssl as ssl_module

            ssl = ssl_module.create_default_context(cafile=self.settings.verify)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl, limit=self.settings.max_connections),
            timeout=aiohttp.ClientTimeout(
                sock_connect=self.settings.connect_timeout, sock_read=self.settings.read_timeout
            ),
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, call: ApiCall) -> Any:
        try:
            return await self._send_once(call)
        except PipelineApiError as error:
            wait = self.first_retry_wait(call, error)
        await asyncio.sleep(wait)
        from tenacity import AsyncRetrying

        return await AsyncRetrying(**self.retry_kwargs(call))(self._send_once, call)

    async def _send_once(self, call: ApiCall) -> Any:

        import aiohttp

        if self._session is None:
            raise RuntimeError("AsyncApiClient must be used inside 'async with'")
        url, request = self._prepared(call)
        for refreshed in (False, True):
            headers = self.request_headers(call, await self.auth.aheaders(request))
            try:
                async with self._session.request(
                    call.method,
                    url,
                    data=request.body,
                    headers=headers,
                    allow_redirects=False,
                ) as response:
                    length = response.content_length
                    if length is not None and length <= self.settings.max_reply_bytes:
                        content = await response.read()  # the common case, in one read
                    else:
                        content = await self._read(call, response)
                    status, reply_headers = response.status, response.headers
            except aiohttp.ClientConnectorError as exc:
                raise self.transport_error(call, exc, sent=False) from None
            except TimeoutError as exc:
                # aiohttp < 3.10 has no ConnectionTimeoutError: there a timeout counts as possibly sent.
                connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", ())
                kind = "connect timeout" if isinstance(exc, connect_timeout) else "read timeout"
                raise self.transport_error(call, exc, kind) from None
            except (aiohttp.InvalidURL, getattr(aiohttp, "NonHttpUrlClientError", aiohttp.InvalidURL)) as exc:
                raise self.transport_error(call, exc, "url") from None
            except aiohttp.ClientError as exc:
                raise self.transport_error(call, exc) from None
            if status == 401 and not refreshed and self.auth.invalidate():
                continue
            return self.decode(call, status, reply_headers, content)
        raise AssertionError("unreachable")

    def _prepared(self, call: ApiCall) -> tuple[yarl.URL, OutgoingRequest]:
        """The call's URL and what auth may sign; kept for calls without a body, which triggers repeat."""
        key = (call.method, call.path, query_string(call.query()) if call.params else "")
        has_body = call.data is not None or call.json is not None
        prepared = None if has_body else self._requests.get(key)
        if prepared is None:
            from yarl import URL

            # encoded=True: yarl would otherwise decode %2E and drop dot segments (see wire_url).
            url = URL(_joined_url(self.settings.base_url, call.path, key[2]), encoded=True)
            prepared = (url, self.outgoing(call))
            if not has_body:
                if len(self._requests) >= 4096:
                    self._requests.clear()
                self._requests[key] = prepared
        return prepared

    async def _read(self, call: ApiCall, response: aiohttp.ClientResponse) -> bytes:
        limit = self.settings.max_reply_bytes
        # StreamReader.read(n) returns what has arrived so far, not n bytes: read to the end.
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise self.too_large(call, response.status)
            chunks.append(chunk)
        return b"".join(chunks)


Plan = Generator[ApiCall, Any, T]
"""A platform operation as a generator: it yields calls, receives replies (or errors) and returns a result."""


@functools.lru_cache(maxsize=4096)
def get_call(name: str, path: str) -> ApiCall:
    """``ApiCall(name, "GET", path)``, made once per path: a trigger reads the same run on every poll
    (an ApiCall is immutable, so one instance serves every plan that reads it)."""
    return ApiCall(name, "GET", path)


# What a plan raises when a reply does not have the shape it reads (a list where an object was due...).
SHAPE_ERRORS = (LookupError, TypeError, AttributeError, ValueError, ArithmeticError, RecursionError)


class _Returned(Generic[T]):
    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


def _advance(
    plan: Plan[T], client: _ClientBase, call: ApiCall | None, reply: Any, error: PipelineApiError | None
) -> ApiCall | _Returned[T]:
    """
    Give a plan the reply to ``call`` (or throw ``error`` into it): its next call, or what it
    returned. What leaves a plan is the provider's error: its own errors redacted and capped
    (:meth:`_ClientBase.tidy`), and, as a last guard, a plan that fails on a reply's shape (the
    platform's parsing should have caught it) becomes a :class:`PipelineApiError` naming the platform
    and the call.
    """
    try:
        following = plan.throw(error) if error is not None else plan.send(reply)
    except StopIteration as done:
        return _Returned(done.value)
    except PipelineApiError as exc:
        tidy = client.tidy(exc)
        if tidy is exc:
            raise
        raise tidy.with_traceback(exc.__traceback__) from None
    except SHAPE_ERRORS as exc:
        if call is None or error is not None:
            raise  # not about a reply: an argument or a bug, shown as it is
        detail = summarize(f"{type(exc).__name__}: {exc}", 200)
        raise client.error(call, 200, f"could not read the reply ({detail})") from exc
    return following


def run_plan(plan: Plan[T], client: SyncApiClient) -> T:
    """Drive a plan with the sync client."""
    call: ApiCall | None = None
    reply: Any = None
    error: PipelineApiError | None = None
    while True:
        step = _advance(plan, client, call, reply, error)
        if isinstance(step, _Returned):
            return step.value
        call, reply, error = step, None, None
        try:
            reply = client.send(call)
        except PipelineApiError as exc:
            error = exc


async def arun_plan(plan: Plan[T], client: AsyncApiClient) -> T:
    """Drive the same plan with the async client."""
    call: ApiCall | None = None
    reply: Any = None
    error: PipelineApiError | None = None
    while True:
        step = _advance(plan, client, call, reply, error)
        if isinstance(step, _Returned):
            return step.value
        call, reply, error = step, None, None
        try:
            reply = await client.send(call)
        except PipelineApiError as exc:
            error = exc
