"""The path guard: a request reaches exactly the resource its raw path names, or is refused."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from aiohttp import web

# A raw path as a client must send it: RFC 3986 pchars, "/" and %XX escapes, nothing else.
_ENCODED_PATH = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")


@dataclass(frozen=True)
class PathRecord:
    """What :class:`PathGuard` saw of one API request.

    ``params`` are the route's path parameters (``{"ns": ..., "app": ..., "runid": ...}``), each taken
    from the raw path and percent-decoded exactly once; ``query`` the query parameters, decoded once
    (a repeated name keeps its last value). ``problems`` is empty unless the request was refused.
    """

    method: str
    route: str
    raw_path: str
    raw_query: str
    params: dict[str, str]
    query: dict[str, str]
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "problems": list(self.problems)}


class PathGuard:
    """Asserts path safety: a request reaches only the resource its client meant, or is refused.

    aiohttp routes on a decoded path and decodes ``match_info`` itself; the guard takes the route's
    parameters again from the raw, still-encoded path (an encoded ``/`` inside a segment does not split
    it), decodes each exactly once and requires the same values. A request is refused with HTTP 400
    ``path safety: ...`` (and recorded with its problems) when its raw path has a raw ``.`` or ``..``
    segment (a normalising proxy or server would climb to another resource), an empty segment, a
    character that must be encoded (a space, non-ASCII, a stray ``%``) or a fragment, or when it does
    not match, so decoded, the route aiohttp chose. Every other API request is recorded as well, so a
    test compares :attr:`PathRecord.params` and :attr:`PathRecord.query` with the identifiers it sent
    (``?`` or ``#`` left raw in an identifier cut the path short, which only the client knows).
    """

    def __init__(self, max_records: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._records: deque[PathRecord] = deque(maxlen=max_records)
        self.rejected = 0

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self.rejected = 0

    def records(self) -> list[PathRecord]:
        with self._lock:
            return list(self._records)

    def inspect(self, request: web.Request, route_name: str) -> PathRecord:
        """The record of ``request``: its parameters decoded once from the raw path, and its problems."""
        target, hash_mark, _ = request.raw_path.partition("#")
        raw, _, raw_query = target.partition("?")
        problems: list[str] = []
        if hash_mark:
            problems.append("a fragment ('#') in the request target")
        if not _ENCODED_PATH.fullmatch(raw):
            problems.append(f"characters that must be percent-encoded in {raw!r}")
        segments = raw.split("/")[1:]
        if any(segment in (".", "..") for segment in segments):
            problems.append(f"a raw dot segment in {raw!r}: a normalising server would climb")
        if "" in segments[:-1]:
            problems.append(f"an empty segment in {raw!r}")
        params: dict[str, str] = {}
        resource = request.match_info.route.resource
        info: Mapping[str, Any] = resource.get_info() if resource is not None else {}
        pattern = info.get("pattern")
        if isinstance(pattern, re.Pattern):
            match = pattern.fullmatch(raw)
            if match is None:
                problems.append(f"{raw!r}, each segment decoded once, is not route {route_name!r}")
            else:
                params = {name: unquote(value) for name, value in match.groupdict().items()}
                for name, value in params.items():
                    if request.match_info.get(name) != value:
                        problems.append(
                            f"{name} is {value!r} once decoded from the raw path, "
                            f"but the router read {request.match_info.get(name)!r}"
                        )
        elif (
            isinstance(plain := info.get("path"), str)
            and [unquote(s) for s in segments] != plain.split("/")[1:]
        ):
            problems.append(f"{raw!r}, each segment decoded once, is not route {route_name!r}")
        record = PathRecord(
            method=request.method,
            route=route_name,
            raw_path=raw,
            raw_query=raw_query,
            params=params,
            query=dict(parse_qsl(raw_query, keep_blank_values=True)),
            problems=tuple(problems),
        )
        with self._lock:
            self._records.append(record)
            if problems:
                self.rejected += 1
        return record
