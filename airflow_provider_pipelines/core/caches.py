"""
The performance caches, all in one place. A trigger sends the same few requests on every poll (a
triggerer may hold thousands), so what building a request costs is paid once per distinct request:

- :func:`process_cache`, per process: encoded paths (``urls.url_path``), full URLs
  (``urls.wire_url``) and the ``ApiCall`` of a GET (``plans.get_call``);
- a :class:`BoundedCache` per async client: its prepared bodyless requests (the URL and what auth
  signs), by method, path and query (``AsyncApiClient._request_cache``);
- a :class:`BoundedCache` per client: its base headers (all but auth's), by "has a JSON body"
  (``ClientBase._header_cache``).

Every cache is bounded (:data:`CACHE_SIZE` entries) and holds only immutable values, so a hit is
what a miss would have built. ``make bench`` holds the trigger's poll cost to them (docs/PERFORMANCE.md).
"""

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
