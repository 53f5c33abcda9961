"""Serving an emulator's application on a port, in a background thread."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Self

from aiohttp import web


class Stoppable:
    """Stopped at the end of a ``with`` block."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class EmulatorServer(Stoppable):
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
        try:
            if self._error is None:
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

    def __enter__(self) -> Self:
        self.start()
        return self
