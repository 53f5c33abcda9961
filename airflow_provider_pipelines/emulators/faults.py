"""Faults on purpose: errors, drops, garbage and delays before the platform acts, lost replies after."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from aiohttp import web

from airflow_provider_pipelines.emulators.routes import (
    Handler,
    is_control_request,
    request_is_mutation,
    route_name_of,
)

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
        return {item.name: getattr(self, item.name) for item in fields(self) if item.init}


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


def parse_kinds(text: str) -> list[str]:
    return [kind.strip() for kind in text.split(",") if kind.strip()]


def _lost_rng(seed: int | None) -> random.Random:
    """The generator of random lost replies: seeded apart from the random faults' one, so that the same
    ``seed`` gives two independent sequences (a string seed is hashed the same in every process)."""
    return random.Random(None if seed is None else f"lost-replies/{seed}")


def parse_lost_kinds(kinds: Iterable[str | int] | str) -> tuple[str, ...]:
    """``["502", "lost-504", "drop"]`` or ``"502,drop"`` -> ``("502", "504", "drop")``; checked."""
    items = parse_kinds(kinds) if isinstance(kinds, str) else list(kinds)
    chosen = tuple(str(kind).strip().lower().removeprefix(LOST_PREFIX) for kind in items)
    unknown = sorted(set(chosen) - set(LOST_REPLY_KINDS))
    if unknown:
        raise ValueError(f"unknown lost reply kinds {unknown}: use {list(LOST_REPLY_KINDS)}")
    return chosen


def _random_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """``["500", "DROP"]`` -> ``("500", "drop")``; checked (``lost-*`` kinds are for scripted rules)."""
    chosen = tuple(str(k).strip().lower() for k in kinds)
    if set(chosen) & LOST_FAULT_KINDS:
        raise ValueError(
            "lost-* kinds are for scripted rules: set random lost replies with lost_reply_rate "
            "and lost_reply_kinds"
        )
    unknown = set(chosen) - RANDOM_FAULT_KINDS
    if unknown:
        raise ValueError(f"unknown fault kinds {sorted(unknown)}: use {sorted(RANDOM_FAULT_KINDS)}")
    return chosen


def _checked_kinds(
    rate: float, kinds: Any, parse: Callable[[Any], tuple[str, ...]], current: tuple[str, ...], setting: str
) -> tuple[str, ...]:
    """The kinds of a random ``setting`` (``fault``, ``lost_reply``) at ``rate``: ``parse(kinds)``, or
    ``current`` when ``kinds`` is ``None``; ``ValueError`` for a rate out of 0..1 or no kinds."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{setting}_rate must be between 0 and 1")
    chosen = parse(kinds) if kinds is not None else current
    if rate > 0 and not chosen:
        raise ValueError(f"{setting}_kinds must not be empty when {setting}_rate > 0")
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

    def __init__(self, options: FaultOptions | None = None, **settings: Any) -> None:
        """As ``options`` (default: no faults) says, with ``settings`` (any of its fields) changed."""
        options = replace(options or FaultOptions(), **settings)
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self.injected: Counter[str] = Counter()
        self.lost_by_route: Counter[str] = Counter()
        self.fault_kinds: tuple[str, ...] = ()
        self.lost_reply_kinds: tuple[str, ...] = LOST_REPLY_KINDS
        self._rng = random.Random(options.seed)
        self._lost_rng = _lost_rng(options.seed)
        self.reset_to(options)

    @classmethod
    def from_options(cls, options: FaultOptions) -> FaultInjector:
        return cls(options)

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
        chosen = _checked_kinds(rate, kinds, _random_kinds, self.fault_kinds, "fault")
        with self._lock:
            self.fault_rate, self.fault_kinds = rate, chosen
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
        chosen = _checked_kinds(rate, kinds, parse_lost_kinds, self.lost_reply_kinds, "lost_reply")
        with self._lock:
            self.lost_reply_rate, self.lost_reply_kinds = rate, chosen
            self._lost_rng = self._lost_rng if seed is None else _lost_rng(seed)

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
        lost = replace(rule, kind=rule.kind.removeprefix(LOST_PREFIX), times=1)
        return await self.apply(lost, request, " (reply lost after acting)") or web.Response()

    async def apply(self, rule: FaultRule, request: web.Request, note: str = "") -> web.StreamResponse | None:
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
        retry_after = self.retry_after if rule.retry_after is None and status == 429 else rule.retry_after
        headers = {} if retry_after is None else {"Retry-After": format_retry_after(retry_after)}
        body = rule.body if rule.body is not None else f"Injected fault: HTTP {status}{note}"
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
