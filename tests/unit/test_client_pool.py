"""The shared async client: one per event loop and key, opened once, closed by the last user."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_pipelines.core import client_pool
from airflow_provider_pipelines.core.client_pool import open_clients, shared_client


class FakeClient:
    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False

    async def close(self) -> None:
        self.closed = True


class Opener:
    """Counts openings; each takes ``delay`` seconds (a connection lookup) and may fail."""

    def __init__(self, delay: float = 0.01, fail: bool = False) -> None:
        self.delay = delay
        self.fail = fail
        self.opened: list[FakeClient] = []

    async def __call__(self) -> Any:
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("no such connection")
        client = FakeClient(len(self.opened))
        self.opened.append(client)
        return client


def test_concurrent_users_share_one_client_closed_by_the_last() -> None:
    opener = Opener()

    async def main() -> None:
        seen: list[Any] = []
        release = asyncio.Event()

        async def user() -> None:
            async with shared_client("k", opener) as client:
                seen.append(client)
                await release.wait()

        users = [asyncio.create_task(user()) for _ in range(200)]
        while len(seen) < 200:
            await asyncio.sleep(0.01)
        assert len(opener.opened) == 1 and all(client is opener.opened[0] for client in seen)
        assert open_clients() == 1
        release.set()
        await asyncio.gather(*users)
        assert opener.opened[0].closed
        assert open_clients() == 0

    asyncio.run(main())


def test_keys_and_loops_get_their_own_clients() -> None:
    opener = Opener()

    async def two_keys() -> None:
        async with shared_client("a", opener) as a, shared_client("b", opener) as b:
            assert a is not b

    asyncio.run(two_keys())
    asyncio.run(two_keys())
    assert len(opener.opened) == 4


def test_a_failed_opening_fails_every_waiter_and_the_next_user_tries_again() -> None:
    opener = Opener(fail=True)

    async def user() -> None:
        async with shared_client("k", opener):
            pass

    async def main() -> None:
        results = await asyncio.gather(*(user() for _ in range(5)), return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)
        assert open_clients() == 0
        opener.fail = False
        await user()
        assert len(opener.opened) == 1 and opener.opened[0].closed

    asyncio.run(main())


def test_a_user_cancelled_while_opening_does_not_cancel_it_for_the_others() -> None:
    opener = Opener(delay=0.05)

    async def main() -> None:
        async def user() -> int:
            async with shared_client("k", opener) as client:
                await asyncio.sleep(0.01)
                return int(client.number)

        first, second = asyncio.create_task(user()), asyncio.create_task(user())
        await asyncio.sleep(0.01)
        first.cancel()
        assert await second == 0
        with pytest.raises(asyncio.CancelledError):
            await first
        assert len(opener.opened) == 1 and opener.opened[0].closed

    asyncio.run(main())


def test_a_client_past_max_age_is_not_given_to_new_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_pool, "MAX_AGE", 0.05)
    opener = Opener(delay=0)

    async def main() -> None:
        async with shared_client("k", opener) as old:
            await asyncio.sleep(0.1)
            async with shared_client("k", opener) as new:
                assert new is not old  # the connection is read again for a trigger that starts now
            assert new.closed and not old.closed  # the older user keeps its client until it leaves
        assert old.closed

    asyncio.run(main())
