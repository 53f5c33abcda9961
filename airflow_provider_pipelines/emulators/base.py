"""Platform-free building blocks shared by every platform emulator.

An emulator is an ``aiohttp.web.Application`` whose handlers read and write one in-memory state, plus:

- :class:`FaultInjector`: a middleware that answers some requests with errors, drops or delays, or
  lets a mutation act and then loses its reply (``lost-502``, ``lost-504``, ``lost-drop``);
- :class:`RequestStats`: request counters and the last raw paths, shown by ``GET /_emulator/stats``;
- :class:`PathGuard`: refuses a request whose raw path would not reach exactly the resource it names,
  and records each request's path parameters, decoded once from the raw path (``GET /_emulator/paths``);
- :class:`EmulatorCore`: ties them to the control API under ``/_emulator/`` (never faulted or auth-checked);
- :class:`Timeline`: which state a run is in now, from its start time and per-state durations;
- :class:`EmulatorServer`: runs an application on a loopback port in a background thread.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import copy
import dataclasses
import hashlib
import hmac
import json
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar
from urllib.parse import parse_qsl, unquote

from aiohttp import web

CONTROL_PREFIX = "/_emulator/"
LOST_PREFIX = "lost-"
# How a lost reply is lost: the request is carried out, then the client sees a 502, a 504 or a dropped
# connection instead of the reply.
LOST_REPLY_KINDS: tuple[str, ...] = ("502", "504", "drop")
LOST_FAULT_KINDS = frozenset(LOST_PREFIX + kind for kind in LOST_REPLY_KINDS)
# Kinds of random faults (``fault_kinds``): the request is answered before the platform acts.
RANDOM_FAULT_KINDS = frozenset({"500", "502", "503", "429", "drop", "malformed", "slow"})
FAULT_KINDS = RANDOM_FAULT_KINDS | LOST_FAULT_KINDS
_SPECIAL_KINDS = frozenset({"drop", "malformed", "slow"}) | LOST_FAULT_KINDS
MALFORMED_BODY = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gat"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Whether a request of a route changes the platform's state: ``(request, body as JSON or None) -> bool``.
MutationCheck = Callable[[web.Request, Any], bool]
Mutation = bool | MutationCheck


def is_control_path(path: str) -> bool:
    """True for the emulator's own control API, which is never faulted, counted or auth-checked."""
    return path.startswith(CONTROL_PREFIX)


def is_control_request(request: web.Request) -> bool:
    """True for a control API request: under ``/_emulator/`` and not an API route.

    A route registered with :meth:`EmulatorCore.add_route` is an API route (counted and faulted) even
    under ``/_emulator/``: that is where stand-ins of third-party services (a token endpoint) live.
    """
    if not is_control_path(request.path):
        return False
    names = request.app.get(ROUTE_NAMES)
    return not names or request.match_info.route not in names


def format_retry_after(seconds: float) -> str:
    """``1.0`` -> ``"1"``, ``0.05`` -> ``"0.05"``."""
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


def _normalise_kind(kind: str | int) -> str:
    text = str(kind).strip().lower()
    if text in _SPECIAL_KINDS or (text.isdigit() and 100 <= int(text) <= 599):
        return text
    raise ValueError(f"unknown fault kind {kind!r}: use an HTTP status or one of {sorted(_SPECIAL_KINDS)}")


@dataclass
class FaultRule:
    """One scripted fault: fires on the next ``times`` requests matching ``method`` and ``path``.

    ``kind`` is an HTTP status (``"503"``) or ``"drop"``, ``"malformed"``, ``"slow"`` (answered before
    the handler runs: the platform never acts), or ``"lost-502"``, ``"lost-504"``, ``"lost-drop"`` (the
    handler runs and the platform acts, then the reply is replaced by a 502, a 504 or a dropped
    connection). ``path`` is a regular expression searched in the request path; ``None`` matches every
    path, as ``method=None`` (or ``"*"``) matches every method.
    """

    kind: str
    method: str | None = None
    path: str | None = None
    times: int = 1
    retry_after: float | None = None
    body: str | None = None
    seconds: float | None = None
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        self.kind = _normalise_kind(self.kind)
        if self.method in ("*", ""):
            self.method = None
        if self.method is not None:
            self.method = self.method.upper()
        if self.times < 1:
            raise ValueError("times must be at least 1")
        self._pattern = re.compile(self.path) if self.path else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        """Build a rule from the control API's JSON (``kind`` or ``status``)."""
        kind = data.get("kind", data.get("status"))
        if kind is None:
            raise ValueError("a fault rule needs 'kind' or 'status'")
        retry_after = data.get("retry_after")
        seconds = data.get("seconds")
        return cls(
            kind=str(kind),
            method=data.get("method"),
            path=data.get("path"),
            times=int(data.get("times", 1)),
            retry_after=None if retry_after is None else float(retry_after),
            body=data.get("body"),
            seconds=None if seconds is None else float(seconds),
        )

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        return self._pattern is None or self._pattern.search(path) is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "times": self.times,
            "retry_after": self.retry_after,
            "body": self.body,
            "seconds": self.seconds,
        }


@dataclass
class FaultOptions:
    """The fault settings every emulator's config carries (see :class:`FaultInjector`)."""

    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ("500", "502", "503", "429", "drop", "malformed")
    seed: int | None = None
    retry_after: float = 1.0
    slow_seconds: float = 2.0
    lost_reply_rate: float = 0.0
    lost_reply_kinds: tuple[str, ...] = LOST_REPLY_KINDS


def restore_config(config: Any, initial: Any) -> None:
    """Put every field of a (live, mutable) config back to its initial value."""
    for item in dataclasses.fields(initial):
        setattr(config, item.name, copy.deepcopy(getattr(initial, item.name)))


def _lost_rng(seed: int | None) -> random.Random:
    """The generator of random lost replies: seeded apart from the random faults' one, so that the same
    ``seed`` gives two independent sequences (a string seed is hashed the same in every process)."""
    return random.Random(None if seed is None else f"lost-replies/{seed}")


def _lost_kinds(kinds: Iterable[str | int] | str) -> tuple[str, ...]:
    """``["502", "lost-504", "drop"]`` or ``"502,drop"`` -> ``("502", "504", "drop")``; checked."""
    items = parse_kinds(kinds) if isinstance(kinds, str) else list(kinds)
    chosen = tuple(str(kind).strip().lower().removeprefix(LOST_PREFIX) for kind in items)
    unknown = sorted(set(chosen) - set(LOST_REPLY_KINDS))
    if unknown:
        raise ValueError(f"unknown lost reply kinds {unknown}: use {list(LOST_REPLY_KINDS)}")
    return chosen


class FaultInjector:
    """Answers some requests with a fault: scripted rules first, then random faults at ``fault_rate``,
    then random lost replies at ``lost_reply_rate`` (mutations only).

    A request gets at most one fault. A random lost reply is drawn only for a request no other fault
    took, and only when its route declares it a mutation (:meth:`EmulatorCore.add_route`); it has its
    own generator, so random faults and lost replies are independent and each reproducible by ``seed``.

    Use :attr:`middleware` in the application's middlewares. Thread-safe: tests change faults from
    another thread while the server runs.
    """

    def __init__(
        self,
        fault_rate: float = 0.0,
        fault_kinds: Iterable[str] = ("500", "502", "503", "429", "drop", "malformed"),
        seed: int | None = None,
        retry_after: float = 1.0,
        slow_seconds: float = 2.0,
        lost_reply_rate: float = 0.0,
        lost_reply_kinds: Iterable[str] = LOST_REPLY_KINDS,
    ) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self.injected: Counter[str] = Counter()
        self.lost_by_route: Counter[str] = Counter()
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.fault_rate = 0.0
        self.fault_kinds: tuple[str, ...] = ()
        self.lost_reply_rate = 0.0
        self.lost_reply_kinds: tuple[str, ...] = LOST_REPLY_KINDS
        self._rng = random.Random(seed)
        self._lost_rng = _lost_rng(seed)
        self.set_random(fault_rate, fault_kinds, seed)
        self.set_lost_replies(lost_reply_rate, lost_reply_kinds, seed)

    @classmethod
    def from_options(cls, options: FaultOptions) -> FaultInjector:
        return cls(
            options.fault_rate,
            options.fault_kinds,
            options.seed,
            options.retry_after,
            options.slow_seconds,
            options.lost_reply_rate,
            options.lost_reply_kinds,
        )

    def reset_to(self, options: FaultOptions) -> None:
        """Back to ``options``: scripted rules dropped, random faults and lost replies as configured."""
        self.clear()
        self.set_random(
            options.fault_rate, options.fault_kinds, options.seed, options.retry_after, options.slow_seconds
        )
        self.set_lost_replies(options.lost_reply_rate, options.lost_reply_kinds, options.seed)

    def set_random(
        self,
        rate: float,
        kinds: Iterable[str] | None = None,
        seed: int | None = None,
        retry_after: float | None = None,
        slow_seconds: float | None = None,
    ) -> None:
        """Fault a fraction ``rate`` (0..1) of requests with a kind picked from ``kinds``."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        chosen = tuple(str(k).strip().lower() for k in kinds) if kinds is not None else self.fault_kinds
        if set(chosen) & LOST_FAULT_KINDS:
            raise ValueError(
                "lost-* kinds are for scripted rules: set random lost replies with lost_reply_rate "
                "and lost_reply_kinds"
            )
        unknown = set(chosen) - RANDOM_FAULT_KINDS
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}: use {sorted(RANDOM_FAULT_KINDS)}")
        if rate > 0 and not chosen:
            raise ValueError("fault_kinds must not be empty when fault_rate > 0")
        with self._lock:
            self.fault_rate = rate
            self.fault_kinds = chosen
            if seed is not None:
                self._rng = random.Random(seed)
            if retry_after is not None:
                self.retry_after = retry_after
            if slow_seconds is not None:
                self.slow_seconds = slow_seconds

    def set_lost_replies(
        self, rate: float, kinds: Iterable[str] | str | None = None, seed: int | None = None
    ) -> None:
        """Lose the reply of a fraction ``rate`` (0..1) of the mutations, after the platform acted.

        ``kinds`` (among ``502``, ``504``, ``drop``; ``None`` keeps the current ones, all three at
        first) says how the reply is lost; ``seed`` restarts the lost replies' own generator.
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError("lost_reply_rate must be between 0 and 1")
        chosen = _lost_kinds(kinds) if kinds is not None else self.lost_reply_kinds
        if rate > 0 and not chosen:
            raise ValueError("lost_reply_kinds must not be empty when lost_reply_rate > 0")
        with self._lock:
            self.lost_reply_rate = rate
            self.lost_reply_kinds = chosen
            if seed is not None:
                self._lost_rng = _lost_rng(seed)

    def add_rule(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        """Remove every rule and stop random faults and random lost replies."""
        with self._lock:
            self._rules.clear()
            self.fault_rate = 0.0
            self.lost_reply_rate = 0.0

    def reset_counts(self) -> None:
        with self._lock:
            self.injected.clear()
            self.lost_by_route.clear()

    def injected_counts(self) -> dict[str, int]:
        """Faults injected by kind; a lost reply counts as ``lost-502``, ``lost-504`` or ``lost-drop``."""
        with self._lock:
            return dict(self.injected)

    def lost_reply_counts(self) -> dict[str, int]:
        """Lost replies (scripted and random) by route name, e.g. ``{"start": 3}``."""
        with self._lock:
            return dict(self.lost_by_route)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rules": [rule.to_dict() for rule in self._rules],
                "fault_rate": self.fault_rate,
                "fault_kinds": list(self.fault_kinds),
                "retry_after": self.retry_after,
                "slow_seconds": self.slow_seconds,
                "lost_reply_rate": self.lost_reply_rate,
                "lost_reply_kinds": list(self.lost_reply_kinds),
            }

    def pick(self, method: str, path: str) -> FaultRule | None:
        """The fault for this request, if any; consumes one use of a matching rule."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.matches(method, path):
                    rule.times -= 1
                    if rule.times == 0:
                        del self._rules[index]
                    self.injected[rule.kind] += 1
                    return rule
            if self.fault_rate > 0 and self._rng.random() < self.fault_rate:
                kind = self._rng.choice(self.fault_kinds)
                self.injected[kind] += 1
                return FaultRule(kind=kind)
        return None

    async def pick_lost(self, request: web.Request) -> FaultRule | None:
        """A random lost reply for this request, if it is a mutation and the draw says so."""
        if not await request_is_mutation(request):
            return None
        with self._lock:
            if self.lost_reply_rate <= 0 or self._lost_rng.random() >= self.lost_reply_rate:
                return None
            kind = LOST_PREFIX + self._lost_rng.choice(self.lost_reply_kinds)
            self.injected[kind] += 1
        return FaultRule(kind=kind)

    async def lose_reply(self, rule: FaultRule, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Run the real handler (the platform acts), then answer as the lost-* ``rule`` says."""
        with contextlib.suppress(web.HTTPException):  # the handler's answer, lost like any other
            await handler(request)
        with self._lock:
            self.lost_by_route[route_name_of(request)] += 1
        kind = rule.kind.removeprefix(LOST_PREFIX)
        if kind == "drop":
            if request.transport is not None:
                request.transport.close()
            return web.Response()
        status = int(kind)
        headers = {} if rule.retry_after is None else {"Retry-After": format_retry_after(rule.retry_after)}
        body = (
            rule.body if rule.body is not None else f"Injected fault: HTTP {status} (reply lost after acting)"
        )
        return web.Response(status=status, text=body, headers=headers)

    async def apply(self, rule: FaultRule, request: web.Request) -> web.StreamResponse | None:
        """Answer with the fault; ``None`` means go on to the real handler (after a ``slow`` delay)."""
        if rule.kind == "slow":
            # Take the whole request first (aiohttp keeps the body for the handler): a slow server has
            # received the request and acts on it even when the client gives up waiting for the reply.
            await request.read()
            await asyncio.sleep(self.slow_seconds if rule.seconds is None else rule.seconds)
            return None
        if rule.kind == "drop":
            if request.transport is not None:
                request.transport.close()
            # aiohttp cannot write to the closed transport: the client sees the connection end, no reply.
            return web.Response()
        if rule.kind == "malformed":
            return web.Response(status=200, text=rule.body or MALFORMED_BODY, content_type="text/html")
        status = int(rule.kind)
        headers = {}
        if status == 429:
            retry_after = self.retry_after if rule.retry_after is None else rule.retry_after
            headers["Retry-After"] = format_retry_after(retry_after)
        elif rule.retry_after is not None:
            headers["Retry-After"] = format_retry_after(rule.retry_after)
        body = rule.body if rule.body is not None else f"Injected fault: HTTP {status}"
        return web.Response(status=status, text=body, headers=headers)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_control_request(request):
            return await handler(request)
        rule = self.pick(request.method, request.path)
        if rule is None and self.lost_reply_rate > 0:
            rule = await self.pick_lost(request)
        if rule is not None:
            if rule.kind in LOST_FAULT_KINDS:
                return await self.lose_reply(rule, request, handler)
            response = await self.apply(rule, request)
            if response is not None:
                return response
        return await handler(request)


class RequestStats:
    """Request counters by ``"METHOD route-name"``, the last raw paths, and platform counters.

    ``client_ports`` counts requests by the client's TCP source port: one port for many requests
    means the client kept one connection (one HTTP session) for all of them.

    ``counters`` are plain integers (``starts``); ``keyed_counters`` are ``{key: n}`` maps
    (``starts_by_pipeline``). Both are declared up front so a snapshot shows zeros.
    """

    def __init__(
        self, counters: Sequence[str] = (), keyed_counters: Sequence[str] = (), max_paths: int = 200
    ) -> None:
        self._lock = threading.Lock()
        self._counter_names = tuple(counters)
        self._keyed_names = tuple(keyed_counters)
        self._max_paths = max_paths
        self.requests: Counter[str] = Counter()
        self.last_paths: deque[str] = deque(maxlen=max_paths)
        self.last_requests: deque[str] = deque(maxlen=max_paths)
        self.client_ports: Counter[int] = Counter()
        self.counters: dict[str, int] = {}
        self.keyed: dict[str, Counter[str]] = {}
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.last_paths.clear()
            self.last_requests.clear()
            self.client_ports.clear()
            self.counters = dict.fromkeys(self._counter_names, 0)
            self.keyed = {name: Counter() for name in self._keyed_names}

    def record(self, method: str, route_name: str, raw_path: str, client_port: int | None = None) -> None:
        with self._lock:
            self.requests[f"{method} {route_name}"] += 1
            self.last_paths.append(raw_path)
            self.last_requests.append(f"{method} {raw_path}")
            if client_port is not None:
                self.client_ports[client_port] += 1

    def incr(self, name: str, key: str | None = None, amount: int = 1) -> None:
        with self._lock:
            if key is None:
                self.counters[name] = self.counters.get(name, 0) + amount
            else:
                self.keyed.setdefault(name, Counter())[key] += amount

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            data: dict[str, Any] = {
                "requests": dict(self.requests),
                "last_paths": list(self.last_paths),
                "last_requests": list(self.last_requests),
                "client_ports": dict(self.client_ports),
            }
            data.update(self.counters)
            data.update({name: dict(values) for name, values in self.keyed.items()})
            return data


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


ROUTE_NAMES = web.AppKey("emulator_route_names", dict)
ROUTE_MUTATIONS = web.AppKey("emulator_route_mutations", dict)


def route_name_of(request: web.Request) -> str:
    """The name the request's route was registered with (``unknown`` when none matched)."""
    names = request.app.get(ROUTE_NAMES)
    return "unknown" if names is None else str(names.get(request.match_info.route, "unknown"))


async def request_is_mutation(request: web.Request) -> bool:
    """Whether the request changes the platform's state, as its route declared (``add_route``).

    A route declared with a check reads the body (kept for the handler) and passes it, parsed as JSON
    (``None`` when empty or not JSON), to the check.
    """
    mutations = request.app.get(ROUTE_MUTATIONS)
    mutation = None if mutations is None else mutations.get(request.match_info.route)
    if mutation is None or isinstance(mutation, bool):
        return bool(mutation)
    body: Any = None
    if request.can_read_body:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = None
    return bool(mutation(request, body))


class EmulatorCore:
    """The platform-free half of an emulator: stats, faults, control API and route registration.

    A platform builds one, calls :meth:`install` on its application, registers its routes with
    :meth:`add_route`, and adds its own reset work to :attr:`reset_hooks`.
    """

    def __init__(self, stats: RequestStats, faults: FaultInjector, paths: PathGuard | None = None) -> None:
        self.stats = stats
        self.faults = faults
        self.paths = paths or PathGuard()
        self.reset_hooks: list[Callable[[], None]] = []

    def reset(self) -> None:
        self.stats.reset()
        self.faults.reset_counts()
        self.paths.reset()
        for hook in self.reset_hooks:
            hook()

    def stats_snapshot(self) -> dict[str, Any]:
        data = self.stats.snapshot()
        data["faults_injected"] = self.faults.injected_counts()
        data["lost_replies"] = self.faults.lost_reply_counts()
        data["path_rejections"] = self.paths.rejected
        return data

    def install(self, app: web.Application) -> None:
        """Add the counting, path safety and fault middlewares and the ``/_emulator/`` control routes."""
        app[ROUTE_NAMES] = {}
        app[ROUTE_MUTATIONS] = {}
        app.middlewares.append(self._count_middleware)
        app.middlewares.append(self._path_middleware)
        app.middlewares.append(self.faults.middleware)
        app.router.add_get(CONTROL_PREFIX + "stats", self._get_stats)
        app.router.add_get(CONTROL_PREFIX + "paths", self._get_paths)
        app.router.add_get(CONTROL_PREFIX + "faults", self._get_faults)
        app.router.add_post(CONTROL_PREFIX + "faults", self._post_faults)
        app.router.add_delete(CONTROL_PREFIX + "faults", self._delete_faults)
        app.router.add_post(CONTROL_PREFIX + "reset", self._post_reset)

    def add_route(
        self,
        app: web.Application,
        method: str,
        path: str,
        handler: Handler,
        name: str,
        prefixes: Sequence[str] = ("",),
        mutation: Mutation = False,
    ) -> None:
        """Serve ``handler`` at ``path`` under each prefix; requests are counted as ``"METHOD name"``.

        ``mutation`` says whether a request changes the platform's state (starts, stops, creates...):
        ``True``, ``False`` (only reads), or ``check(request, body_json_or_None) -> bool`` for a route
        that reads or writes depending on the request. Random lost replies apply only to mutations.
        """
        for prefix in prefixes:
            route = app.router.add_route(method, prefix + path, handler)
            app[ROUTE_NAMES][route] = name
            app[ROUTE_MUTATIONS][route] = mutation

    @web.middleware
    async def _count_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_control_request(request):
            name = self.route_name(request)
            peer = request.transport.get_extra_info("peername") if request.transport is not None else None
            port = int(peer[1]) if isinstance(peer, tuple) and len(peer) >= 2 else None
            self.stats.record(request.method, name, request.raw_path, port)
        return await handler(request)

    def route_name(self, request: web.Request) -> str:
        """The name the request's route was registered with (``unknown`` when none matched)."""
        return route_name_of(request)

    @web.middleware
    async def _path_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_control_request(request):
            return await handler(request)
        record = self.paths.inspect(request, self.route_name(request))
        if record.problems:
            return web.Response(status=400, text="path safety: " + "; ".join(record.problems))
        return await handler(request)

    async def _get_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats_snapshot())

    async def _get_paths(self, request: web.Request) -> web.Response:
        return web.json_response([record.to_dict() for record in self.paths.records()])

    async def _get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.faults.describe())

    async def _post_faults(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
            items = data if isinstance(data, list) else [data]
            for item in items:
                if not isinstance(item, dict):
                    raise ValueError("a fault must be a JSON object")
                random_faults = "fault_rate" in item or "fault_kinds" in item
                lost_replies = "lost_reply_rate" in item or "lost_reply_kinds" in item
                if random_faults:
                    self.faults.set_random(
                        float(item.get("fault_rate", self.faults.fault_rate)),
                        item.get("fault_kinds"),
                        item.get("seed"),
                        item.get("retry_after"),
                        item.get("slow_seconds"),
                    )
                if lost_replies:
                    self.faults.set_lost_replies(
                        float(item.get("lost_reply_rate", self.faults.lost_reply_rate)),
                        item.get("lost_reply_kinds"),
                        item.get("seed"),
                    )
                if not random_faults and not lost_replies:
                    self.faults.add_rule(FaultRule.from_dict(item))
        except (ValueError, TypeError, re.error) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(self.faults.describe())

    async def _delete_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response(self.faults.describe())

    async def _post_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"reset": True})


def bearer_auth_error(request: web.Request, token: str | None) -> web.Response | None:
    """A 401 reply when ``token`` is set and the request lacks ``Authorization: Bearer <token>``."""
    if token is None:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        message = "Unauthorized: missing Authorization header with a bearer token"
    elif scheme.lower() != "bearer" or value.strip() != token:
        message = "Unauthorized: invalid bearer token"
    else:
        return None
    return web.Response(status=401, text=message, headers={"WWW-Authenticate": 'Bearer realm="emulator"'})


def missing_headers(request: web.Request, required: Mapping[str, str] | None) -> list[str]:
    """Names of the ``required`` headers the request lacks or sends with another value (names are
    case-insensitive, values exact), in ``required``'s order; empty when nothing is required."""
    if not required:
        return []
    return [name for name, value in required.items() if request.headers.get(name) != value]


def bearer_token(request: web.Request) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (scheme case-insensitive); ``None`` if absent."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    token = value.strip()
    return token if scheme.lower() == "bearer" and token else None


class JwtError(ValueError):
    """A JWT rejected by :func:`decode_hs256_jwt`; ``expired`` tells an expired token from a bad one."""

    def __init__(self, message: str, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise JwtError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise JwtError("not base64url") from None


def _hs256(secret: str | bytes, signing_input: str) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()


def encode_hs256_jwt(claims: Mapping[str, Any], secret: str | bytes) -> str:
    """A compact JWS (``{"alg": "HS256", "typ": "JWT"}``) of ``claims``, as PyJWT's ``jwt.encode``."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{_b64url(_hs256(secret, signing_input))}"


def decode_hs256_jwt(
    token: str, secret: str | bytes, at: float | None = None, issuer: str | None = None
) -> dict[str, Any]:
    """The claims of an HS256 JWT signed with ``secret``; raises :class:`JwtError`.

    Checked: the shape, ``alg`` (only HS256: ``none`` and others are refused), the signature, ``iss``
    when ``issuer`` is given, then ``exp`` (required; expired when ``at >= exp``, no leeway).
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError("not a JWT")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
    except (UnicodeDecodeError, ValueError):
        raise JwtError("not a JWT") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwtError("not a JWT")
    if header.get("alg") != "HS256":
        raise JwtError(f"unsupported alg {header.get('alg')!r}")
    if not hmac.compare_digest(_b64url_decode(parts[2]), _hs256(secret, f"{parts[0]}.{parts[1]}")):
        raise JwtError("bad signature")
    if issuer is not None and claims.get("iss") != issuer:
        raise JwtError("wrong issuer")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise JwtError("no exp claim")
    if (time.time() if at is None else at) >= exp:
        raise JwtError("expired", expired=True)
    return claims


@dataclass(frozen=True)
class Timeline:
    """States entered one after another by wall clock: no background task advances anything.

    ``phases`` is an ordered list of ``(state, seconds)``; after the last one the run is in ``final``
    for ever (``final=None`` keeps the last phase's state).
    """

    start: float
    phases: tuple[tuple[str, float], ...]
    final: str | None = None

    def state_at(self, now: float) -> str:
        elapsed = now - self.start
        for state, seconds in self.phases:
            if elapsed < seconds:
                return state
            elapsed -= seconds
        if self.final is not None:
            return self.final
        return self.phases[-1][0] if self.phases else ""

    def entered_at(self, state: str) -> float | None:
        """When ``state`` begins (possibly in the future); ``None`` if the timeline never reaches it."""
        moment = self.start
        for phase, seconds in self.phases:
            if phase == state:
                return moment
            moment += seconds
        return moment if state == self.final else None

    def ends_at(self) -> float:
        """When ``final`` is reached (``inf`` when a phase lasts for ever)."""
        return self.start + sum(seconds for _, seconds in self.phases)

    def changed_at(self, now: float) -> float:
        """When the state of ``now`` was entered: the start, or the end of the last phase already over."""
        moment = self.start
        for _, seconds in self.phases:
            if now - moment < seconds:
                return moment
            moment += seconds
        return moment


class EmulatorServer:
    """Runs an aiohttp application on a loopback port, in a background thread with its own event loop."""

    def __init__(
        self,
        app: web.Application,
        host: str = "127.0.0.1",
        port: int = 0,
        shutdown_timeout: float = 0.5,
        start_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.url = ""
        self._shutdown_timeout = shutdown_timeout
        self._start_timeout = start_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> str:
        """Start serving; returns the base URL, e.g. ``http://127.0.0.1:40123``."""
        if self._thread is not None:
            return self.url
        self._thread = threading.Thread(target=self._run, name="emulator-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._start_timeout):
            raise RuntimeError("emulator server did not start in time")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"emulator server failed to start: {self._error}") from self._error
        return self.url

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._setup())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _setup(self) -> None:
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=self._shutdown_timeout)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.port = int(runner.addresses[0][1])
        self.url = f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop serving and join the thread; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._runner is not None:
            future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop)
            future.result(timeout=self._shutdown_timeout + 10)
            self._runner = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class EmulatorCli:
    """How the ``python -m airflow_provider_pipelines.emulators`` CLI builds one platform's emulator.

    ``add_arguments`` adds the platform's own options; ``create_app`` builds the application from the
    parsed options (common ones: ``token``, ``fault_rate``, ``fault_kinds``, ``seed``, ``retry_after``).
    """

    name: str
    default_port: int
    add_arguments: Callable[[argparse.ArgumentParser], None]
    create_app: Callable[[argparse.Namespace], web.Application]
    description: str = ""


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Options every emulator understands."""
    parser.add_argument("--token", default=None, help="require 'Authorization: Bearer <token>'")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="fraction of requests faulted (0..1)")
    parser.add_argument(
        "--fault-kinds",
        default="500,502,503,429,drop,malformed",
        help=f"comma-separated kinds among {','.join(sorted(RANDOM_FAULT_KINDS))}",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the random fault and lost reply generators"
    )
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After of 429 faults, seconds")
    parser.add_argument("--slow-seconds", type=float, default=2.0, help="delay of 'slow' faults, seconds")
    parser.add_argument(
        "--lost-reply-rate",
        type=float,
        default=0.0,
        help="fraction of mutations (starts, stops...) carried out whose reply is then lost (0..1)",
    )
    parser.add_argument(
        "--lost-reply-kinds",
        default=",".join(LOST_REPLY_KINDS),
        help=f"how a reply is lost: comma-separated kinds among {','.join(LOST_REPLY_KINDS)}",
    )


def parse_kinds(text: str) -> list[str]:
    return [kind.strip() for kind in text.split(",") if kind.strip()]


def common_config_options(args: argparse.Namespace) -> dict[str, Any]:
    """The fault options every emulator CLI shares, as keyword arguments of a platform's config."""
    return {
        "fault_rate": args.fault_rate,
        "fault_kinds": tuple(parse_kinds(args.fault_kinds)),
        "seed": args.seed,
        "retry_after": args.retry_after,
        "slow_seconds": args.slow_seconds,
        "lost_reply_rate": args.lost_reply_rate,
        "lost_reply_kinds": _lost_kinds(args.lost_reply_kinds),
    }


def parse_header_options(items: Iterable[str]) -> dict[str, str]:
    """``["X-Key=k3y", "Cookie=a=b"]`` -> ``{"X-Key": "k3y", "Cookie": "a=b"}`` (a CLI's ``--header``)."""
    headers: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--header needs NAME=VALUE, got {item!r}")
        headers[name.strip()] = value
    return headers


def now() -> float:
    """Wall clock used by the emulators (epoch seconds)."""
    return time.time()


class EmulatorHandle:
    """What every platform's test handle shares: the URL, faults, stats and stopping the server.

    A platform subclasses it and adds its own state (``config``, ``runs()``, ``reset()``...).
    """

    def __init__(self, core: EmulatorCore, server: EmulatorServer) -> None:
        self.core = core
        self.server = server
        self.url = server.url

    def add_fault(
        self,
        method: str | None,
        path_regex: str | None,
        kind_or_status: str | int,
        times: int = 1,
        retry_after: float | None = None,
        body: str | None = None,
        seconds: float | None = None,
    ) -> None:
        """Fault the next ``times`` requests matching ``method`` (``None``: any) and ``path_regex``."""
        rule = FaultRule(
            kind=str(kind_or_status),
            method=method,
            path=path_regex,
            times=times,
            retry_after=retry_after,
            body=body,
            seconds=seconds,
        )
        self.core.faults.add_rule(rule)

    def set_random_faults(
        self,
        rate: float,
        kinds: list[str] | tuple[str, ...] | None = None,
        seed: int | None = None,
        retry_after: float | None = None,
        slow_seconds: float | None = None,
    ) -> None:
        self.core.faults.set_random(rate, kinds, seed, retry_after, slow_seconds)

    def set_lost_replies(
        self, rate: float, kinds: list[str] | tuple[str, ...] | None = None, seed: int | None = None
    ) -> None:
        """Lose the reply of a fraction ``rate`` of the mutations after they are carried out; ``kinds``
        among ``502``, ``504``, ``drop`` (``None``: keep the current ones, all three at first)."""
        self.core.faults.set_lost_replies(rate, kinds, seed)

    def clear_faults(self) -> None:
        """No more scripted rules, random faults or random lost replies (the counts stay)."""
        self.core.faults.clear()

    def stats(self) -> dict[str, Any]:
        return self.core.stats_snapshot()

    def paths(self, route: str | None = None) -> list[PathRecord]:
        """What the path guard recorded of each API request (of route ``route``), oldest first."""
        return [r for r in self.core.paths.records() if route is None or r.route == route]

    def assert_paths_safe(self) -> None:
        """Raise ``AssertionError`` naming every request the path guard refused."""
        refused = [r for r in self.core.paths.records() if r.problems]
        if refused:
            lines = [f"{r.method} {r.raw_path}: {'; '.join(r.problems)}" for r in refused]
            raise AssertionError("path safety: refused requests:\n" + "\n".join(lines))

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


ConfigT = TypeVar("ConfigT")


class PlatformEmulator(Protocol):
    """What :class:`PlatformEmulatorHandle` needs of a platform's emulator."""

    core: EmulatorCore
    config: Any

    def create_app(self) -> web.Application: ...


EmulatorT = TypeVar("EmulatorT", bound=PlatformEmulator)


class PlatformEmulatorHandle(EmulatorHandle, Generic[EmulatorT, ConfigT]):
    """An :class:`EmulatorHandle` over one platform emulator (``emulator``) and its live ``config``.

    A platform subclasses ``PlatformEmulatorHandle[XEmulator, XEmulatorConfig]`` and sets
    :attr:`emulator_class`; :meth:`start` builds that emulator and serves it on a loopback port.
    """

    emulator_class: Callable[[ConfigT | None], EmulatorT]

    def __init__(self, emulator: EmulatorT, server: EmulatorServer) -> None:
        super().__init__(emulator.core, server)
        self.emulator = emulator

    @classmethod
    def start(cls, config: ConfigT | None = None, host: str = "127.0.0.1", port: int = 0) -> Self:
        emulator = cls.emulator_class(config)
        server = EmulatorServer(emulator.create_app(), host=host, port=port)
        server.start()
        return cls(emulator, server)

    @property
    def config(self) -> ConfigT:
        """Live: changes apply from the next request; the handle's ``reset()`` restores the initial values."""
        config: ConfigT = self.emulator.config
        return config
