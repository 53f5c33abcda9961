"""Request counters and platform counters, shown by ``GET /_emulator/stats``."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Sequence
from typing import Any


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
