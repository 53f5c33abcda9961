"""A refreshing token shared by many triggers: one refresh for all of them when it expires."""

from __future__ import annotations

import asyncio
import threading
import time

from airflow_provider_pipelines.core.auth import OutgoingRequest, RefreshingTokenAuth


class CountingAuth(RefreshingTokenAuth):
    def __init__(self) -> None:
        super().__init__()
        self.fetches = 0
        self.threads: set[int] = set()

    def fetch_token(self) -> tuple[str, float | None]:
        self.threads.add(threading.get_ident())
        time.sleep(0.05)  # a token endpoint's round trip
        self.fetches += 1
        return f"token-{self.fetches}", time.time() + 3600


def test_concurrent_waiters_share_one_refresh_off_the_loop() -> None:
    auth = CountingAuth()
    request = OutgoingRequest("GET", "http://x/runs", "/runs")

    async def main() -> list[dict[str, str]]:
        return await asyncio.gather(*(auth.aheaders(request) for _ in range(500)))

    headers = asyncio.run(main())
    assert auth.fetches == 1
    assert threading.get_ident() not in auth.threads  # fetched in a thread, never on the event loop
    assert all(h == {"Authorization": "Bearer token-1"} for h in headers)

    auth.invalidate()  # a 401: the next callers share one new token again
    headers = asyncio.run(main())
    assert auth.fetches == 2 and all(h == {"Authorization": "Bearer token-2"} for h in headers)
