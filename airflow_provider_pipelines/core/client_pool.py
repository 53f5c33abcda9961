"""One async client per event loop and connection, shared by every trigger watching runs through it
(one pool, TLS context and token for thousands of triggers). A client older than :data:`MAX_AGE` is not
handed to new triggers, so edits to the connection reach them."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from airflow_provider_pipelines.core.clients import AsyncApiClient

MAX_AGE = 300.0


@dataclass(eq=False)
class _Shared:
    opening: asyncio.Future[AsyncApiClient]
    users: int = 0
    born: float = field(default_factory=time.monotonic)

    def fresh(self) -> bool:
        return time.monotonic() - self.born < MAX_AGE


_LOOPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, _Shared]] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def shared_client(
    key: Hashable, open_client: Callable[[], Awaitable[AsyncApiClient]]
) -> AsyncIterator[AsyncApiClient]:
    """
    The client of ``key`` (a hook class and a connection id) on the running loop, opened with
    ``open_client`` by the first caller; every concurrent caller waits for that one opening. An
    opening that fails fails all of them, and the next caller tries again.
    """
    shared = _LOOPS.setdefault(asyncio.get_running_loop(), {})
    entry = shared.get(key)
    if entry is None or not entry.fresh():
        entry = _Shared(asyncio.ensure_future(open_client()))
        shared[key] = entry
    entry.users += 1
    try:
        # shield: one trigger cancelled while the client opens must not cancel it for the others.
        client = await asyncio.shield(entry.opening)
        yield client
    finally:
        await _leave(shared, key, entry)


async def _leave(shared: dict[Hashable, _Shared], key: Hashable, entry: _Shared) -> None:
    entry.users -= 1
    if entry.users > 0:
        return
    if shared.get(key) is entry:
        del shared[key]
    if not entry.opening.done():
        entry.opening.cancel()  # nobody waits for it any more; it holds no session until it returns
        return
    if not entry.opening.cancelled() and entry.opening.exception() is None:
        await entry.opening.result().close()


def open_clients() -> int:
    """How many shared clients are open or opening on the running loop (for tests and benchmarks)."""
    return len(_LOOPS.get(asyncio.get_running_loop(), {}))
