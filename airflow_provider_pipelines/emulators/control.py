"""The platform-free half of an emulator: counting, path safety and fault middlewares, the control API."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from airflow_provider_pipelines.emulators.faults import FaultInjector, FaultRule
from airflow_provider_pipelines.emulators.paths import PathGuard
from airflow_provider_pipelines.emulators.routes import (
    CONTROL_PREFIX,
    ROUTE_MUTATIONS,
    ROUTE_NAMES,
    Handler,
    Mutation,
    is_control_request,
    json_view,
    route_name_of,
)
from airflow_provider_pipelines.emulators.stats import RequestStats


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
        app.router.add_get(CONTROL_PREFIX + "stats", json_view(self.stats_snapshot))
        app.router.add_get(CONTROL_PREFIX + "paths", json_view(self._path_records))
        app.router.add_get(CONTROL_PREFIX + "faults", json_view(self.faults.describe))
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
            name = route_name_of(request)
            peer = request.transport.get_extra_info("peername") if request.transport is not None else None
            port = int(peer[1]) if isinstance(peer, tuple) and len(peer) >= 2 else None
            self.stats.record(request.method, name, request.raw_path, port)
        return await handler(request)

    @web.middleware
    async def _path_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_control_request(request):
            return await handler(request)
        record = self.paths.inspect(request, route_name_of(request))
        if record.problems:
            return web.Response(status=400, text="path safety: " + "; ".join(record.problems))
        return await handler(request)

    def _path_records(self) -> list[dict[str, Any]]:
        return [record.to_dict() for record in self.paths.records()]

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
