"""The performance caches, all in one place (docs/ARCHITECTURE.md, docs/PERFORMANCE.md): bounded, and
holding only immutable values, so a hit is what a miss would have built."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

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
