"""The example platform's API, emulated on the emulators' base classes: a run is QUEUED, then RUNNING,
then SUCCEEDED (FAILED for a job named ``...fail...``; a ``...long...`` job runs for ever) by the wall
clock (:class:`Timeline`); a cancelled run is CANCELLED. Requests need the bearer token."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from airflow_provider_pipelines.emulators.base import (
    Emulator,
    FaultOptions,
    Handler,
    PlatformEmulatorHandle,
    Timeline,
    bearer_auth_error,
    is_control_path,
    now,
)
from airflow_provider_pipelines.emulators.cli import EmulatorCli, Option
from airflow_provider_pipelines.emulators.routes import Middleware, Route


@dataclass
class ExampleEmulatorConfig(FaultOptions):
    token: str | None = "example-token"
    queued_seconds: float = 0.05
    running_seconds: float = 0.3


@dataclass
class ExampleRun:
    id: str
    job: str
    marker: str
    timeline: Timeline
    cancelled_at: float | None = None

    def record(self) -> dict[str, Any]:
        state = "CANCELLED" if self.cancelled_at is not None else self.timeline.state_at(now())
        return {"id": self.id, "job": self.job, "marker": self.marker, "state": state}


class ExampleEmulator(Emulator[ExampleEmulatorConfig]):
    name = "example"
    cli_options = (Option("queued_seconds"), Option("running_seconds"))
    counters = ("starts", "cancels")
    keyed_counters = ("reads_by_client",)

    def clear_state(self) -> None:
        self._runs: dict[str, ExampleRun] = {}
        self._ids = itertools.count(1)

    def run_records(self) -> list[dict[str, Any]]:
        with self._lock:
            return [run.record() for run in self._runs.values()]

    runs = run_records

    def routes(self) -> list[Route]:
        # Mutations (random lost replies apply to them only): start and cancel.
        return [
            Route("POST", "/api/jobs/{job}/runs", self._start, "start", True),
            Route("GET", "/api/runs", self._list, "list_runs"),
            Route("GET", "/api/runs/{id}", self._get, "get_run"),
            Route("POST", "/api/runs/{id}/cancel", self._cancel, "cancel", True),
            Route("GET", "/api/runs/{id}/log", self._log, "get_log"),
        ]

    def middlewares(self) -> list[Middleware]:
        return [self._auth]

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = None if is_control_path(request.path) else bearer_auth_error(request, self.config.token)
        return refused or await handler(request)

    def _run(self, request: web.Request) -> ExampleRun:
        run = self._runs.get(request.match_info["id"])
        if run is None:
            raise web.HTTPNotFound(text='{"error": "no such run"}', content_type="application/json")
        return run

    async def _start(self, request: web.Request) -> web.Response:
        body = await request.json()
        job = request.match_info["job"]
        phases = (("QUEUED", self.config.queued_seconds), ("RUNNING", self.config.running_seconds))
        if "long" in job:
            phases = (phases[0], ("RUNNING", float("inf")))
        final = "FAILED" if "fail" in job else "SUCCEEDED"
        with self._lock:
            run = ExampleRun(
                f"run-{next(self._ids)}", job, str(body.get("marker", "")), Timeline(now(), phases, final)
            )
            self._runs[run.id] = run
        self.core.stats.incr("starts")
        return web.json_response({"id": run.id})

    async def _list(self, request: web.Request) -> web.Response:
        marker = request.query.get("marker")
        return web.json_response([r for r in self.runs() if marker is None or r["marker"] == marker])

    async def _get(self, request: web.Request) -> web.Response:
        # Who reads: requests (a worker) or aiohttp (a trigger), by the client's default User-Agent.
        client = "aiohttp" if "aiohttp" in request.headers.get("User-Agent", "") else "requests"
        self.core.stats.incr("reads_by_client", client)
        with self._lock:
            return web.json_response(self._run(request).record())

    async def _cancel(self, request: web.Request) -> web.Response:
        with self._lock:
            run = self._run(request)
            state = run.record()["state"]
            if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
                return web.json_response({"error": f"run is {state}"}, status=409)
            run.cancelled_at = now()
        self.core.stats.incr("cancels")
        return web.json_response({})

    async def _log(self, request: web.Request) -> web.Response:
        with self._lock:
            run = self._run(request)
            lines = [f"job {run.job}: step 1 done"]
            if run.record()["state"] == "FAILED":
                lines.append(f"job {run.job}: step 2: simulated failure")
        return web.json_response({"lines": lines})


class ExampleEmulatorHandle(PlatformEmulatorHandle[ExampleEmulator, ExampleEmulatorConfig]):
    emulator_class = ExampleEmulator
    run_key = "id"


CLI = EmulatorCli("example", 8099, ExampleEmulator, "the example platform (tests only)")
