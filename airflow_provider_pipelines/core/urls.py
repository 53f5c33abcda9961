"""
URLs as sent: identifiers encoded into exactly one path segment (:func:`url_path`), and the exact
URL of a call (:func:`wire_url`), which both clients send as it is. Also the performance caches, all
in one place (docs/PERFORMANCE.md): bounded, and holding only immutable values, so a hit is what a
miss would have built.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

CACHE_SIZE = 4096

F = TypeVar("F", bound=Callable[..., Any])
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def process_cache(function: F) -> F:
    """A pure function's results kept for the process (``functools.lru_cache`` of :data:`CACHE_SIZE`)."""
    return functools.lru_cache(maxsize=CACHE_SIZE)(function)  # type: ignore[return-value]


class BoundedCache(dict[K, V]):
    """
    A client's cache: a dict (a hit is ``dict.get``, nothing more) that :meth:`keep` empties when it
    is full rather than grow: a client that sends more distinct requests than that is not polling.
    """

    def keep(self, key: K, value: V) -> V:
        if len(self) >= CACHE_SIZE:
            self.clear()
        self[key] = value
        return value


def url_path(*segments: object) -> str:
    """
    A URL path from raw segments, each percent-encoded whole so that it stays one segment: ``/``,
    ``?``, ``#``, ``%``, spaces and non-ASCII are encoded. Percent-encoding leaves dots alone, so a
    segment that is exactly ``.`` or ``..`` has its dots encoded (``%2E``): sent raw, a client,
    proxy or server that normalises dot segments would take it for "here" or "the parent". An empty
    segment is refused: it would address the collection above it.
    """
    try:
        return _cached_path(*segments)
    except TypeError:  # an unhashable segment: encoded as its text, and not kept
        return _encoded_path(tuple(map(str, segments)))


# A trigger builds the same path on every poll: kept by the segments as given, so that a hit does
# not even convert them. typed: 1, 1.0 and True are equal keys, but not the same segment.
@functools.lru_cache(maxsize=CACHE_SIZE, typed=True)
def _cached_path(*segments: object) -> str:
    return _encoded_path(tuple(map(str, segments)))


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
    return joined_url(base_url, path, query_string(params or {}))


@process_cache
def joined_url(base_url: str, path: str, query: str) -> str:
    """:func:`wire_url` from an already-built query string."""
    return encoded_base_url(base_url) + requote_path(path) + (f"?{query}" if query else "")


def where(base_url: str) -> str:
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
