"""CDAP / Cloud Data Fusion REST API emulator (the subset used to start, watch, stop and explain runs).

Strict where CDAP's documents are explicit (batch start answers 200 with per-item status codes, a fresh
run's record may 404 for a while, run-level vs program-level stop), configurable where they are silent.
Served at the root (self-hosted CDAP router) and under ``/api`` (Data Fusion's ``apiEndpoint``).

Pipelines (CDAP applications) are deployed, listed and deleted as CDAP's lifecycle API does it: a body
without an ``artifact`` or a ``config`` is 400, an unknown pipeline 404, a delete while a run is active
409; a deleted pipeline cannot start until it is deployed again. At the root, a minimal HTML page answers
at every link target (``/pipelines/ns/{ns}/view/{pipeline}``, ``/cdap/ns/{ns}/pipelines``), as the UI
would. ``CdapEmulatorHandle.accept_tokens_of`` makes it check Google tokens, as a Data Fusion instance.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from airflow_provider_pipelines.emulators.auth import bearer_auth_error, bearer_token
from airflow_provider_pipelines.emulators.base import ApiError, Emulator
from airflow_provider_pipelines.emulators.cli import Option
from airflow_provider_pipelines.emulators.faults import FaultOptions
from airflow_provider_pipelines.emulators.handle import PlatformEmulatorHandle
from airflow_provider_pipelines.emulators.routes import (
    Handler,
    Middleware,
    Route,
    api_handler,
    is_control_path,
    link_page_route,
)
from airflow_provider_pipelines.emulators.timeline import Timeline, now

PREFIXES = ("", "/api")
TERMINAL = frozenset({"COMPLETED", "FAILED", "KILLED", "REJECTED"})
OUTCOMES = frozenset({"COMPLETED", "FAILED", "KILLED"})
DEFAULT_NAMESPACE = "default"
PROFILE = {"profileName": "native", "namespace": "system", "entity": "PROFILE"}
PROGRAM_PATH = "/v3/namespaces/{ns}/apps/{app}/{ptype:workflows|spark}/{program}"


@dataclass(frozen=True)
class ProgramKind:
    """A CDAP program a pipeline runs as: batch (a workflow) or streaming (a Spark program)."""

    name: str
    program_type: str
    path_segment: str
    program_id: str


BATCH = ProgramKind("batch", "Workflow", "workflows", "DataPipelineWorkflow")
STREAMING = ProgramKind("streaming", "Spark", "spark", "DataStreamsSparkStreaming")
KINDS_BY_TYPE = {"workflow": BATCH, "spark": STREAMING}
KINDS_BY_SEGMENT = {BATCH.path_segment: BATCH, STREAMING.path_segment: STREAMING}
KINDS_BY_NAME = {BATCH.name: BATCH, STREAMING.name: STREAMING}


@dataclass
class CdapEmulatorConfig(FaultOptions):
    """Settings of a CDAP emulator; all timings in seconds. Read on every request, so tests may change it."""

    pending_seconds: float = 1.0
    starting_seconds: float = 1.0
    running_seconds: float = 3.0
    not_found_seconds: float = 0.0
    stop_seconds: float = 0.5
    token: str | None = None
    auto_create: bool = True
    max_concurrent_runs: int | None = None
    long_factor: float = 100.0


@dataclass
class PipelineBehaviour:
    """Per-pipeline overrides; ``None`` means "from the name conventions, else from the config"."""

    outcome: str | None = None
    pending_seconds: float | None = None
    starting_seconds: float | None = None
    running_seconds: float | None = None
    not_found_seconds: float | None = None
    start_error: dict[str, Any] | None = None
    exists: bool | None = None
    program: str | None = None

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` (JSON names); raises ``ValueError`` on unknown fields or bad values."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown pipeline settings {sorted(unknown)}: use {sorted(known)}")
        for name, value in changes.items():
            setattr(self, name, _check_setting(name, value))


def _check_setting(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "outcome":
        outcome = str(value).upper()
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}")
        return outcome
    if name.endswith("_seconds"):
        seconds = float(value)
        if seconds < 0:
            raise ValueError(f"{name} must not be negative")
        return seconds
    if name == "start_error":
        if not isinstance(value, dict) or "statusCode" not in value:
            raise ValueError("start_error must be an object with 'statusCode' and 'error'")
        return {"statusCode": int(value["statusCode"]), "error": str(value.get("error", "Conflict"))}
    if name == "exists":
        return bool(value)
    if name == "program":
        if value not in KINDS_BY_NAME:
            raise ValueError(f"program must be one of {sorted(KINDS_BY_NAME)}")
        return value
    return value


@dataclass
class CdapRun:
    """One program run; its status follows its timeline, or the stop timeline once stopped."""

    namespace: str
    app: str
    run_id: str
    kind: ProgramKind
    runtime_args: dict[str, Any]
    created: float
    visible_at: float
    timeline: Timeline
    phase_id: str = field(default_factory=lambda: str(uuid.uuid1()))
    stopped_at: float | None = None
    killed_at: float | None = None

    def status(self, at: float) -> str:
        if self.stopped_at is not None and self.killed_at is not None and at >= self.stopped_at:
            return "STOPPING" if at < self.killed_at else "KILLED"
        return self.timeline.state_at(at)

    def end_time(self, at: float) -> float | None:
        status = self.status(at)
        if status not in TERMINAL:
            return None
        if self.killed_at is not None and self.stopped_at is not None and at >= self.stopped_at:
            return self.killed_at
        return self.timeline.ends_at()

    def running_since(self, at: float) -> float | None:
        running = self.timeline.entered_at("RUNNING")
        if running is None or running > at:
            return None
        if self.stopped_at is not None and self.stopped_at <= running:
            return None
        return running

    def record(self, at: float) -> dict[str, Any]:
        """The run record exactly as CDAP shapes it."""
        status = self.status(at)
        data: dict[str, Any] = {"runid": self.run_id, "starting": int(self.created)}
        running = self.running_since(at)
        if running is not None:
            data["start"] = int(running)
        end = self.end_time(at)
        if end is not None:
            data["end"] = int(end)
        data["status"] = status
        properties: dict[str, str] = {"runtimeArgs": json.dumps(self.runtime_args, separators=(",", ":"))}
        if self.kind is BATCH:
            properties["phase-1"] = self.phase_id
        data["properties"] = properties
        cluster: dict[str, Any] = {"status": _cluster_status(status)}
        if end is not None:
            cluster["end"] = int(end)
        cluster["numNodes"] = 0
        data["cluster"] = cluster
        data["profile"] = dict(PROFILE)
        return data

    def log_lines(self, at: float) -> list[tuple[float, str, str]]:
        """``(time, level, message)`` for every event reached by ``at``."""
        lines: list[tuple[float, str, str]] = [
            (
                self.created,
                "INFO",
                f"Pipeline '{self.app}' is started by user 'root' with arguments "
                f"{json.dumps(self.runtime_args)}",
            )
        ]
        starting = self.timeline.entered_at("STARTING")
        if (
            starting is not None
            and starting <= at
            and (self.stopped_at is None or starting < self.stopped_at)
        ):
            lines.append((starting, "INFO", f"Starting {self.kind.program_id} of pipeline '{self.app}'"))
        running = self.running_since(at)
        if running is not None:
            lines.append((running, "INFO", f"Pipeline '{self.app}' is running, phase 'phase-1'"))
        if self.stopped_at is not None and self.stopped_at <= at:
            lines.append((self.stopped_at, "INFO", f"Received a request to stop run {self.run_id}"))
        status = self.status(at)
        end = self.end_time(at)
        if end is not None:
            lines.extend(self._end_lines(status, end))
        return lines

    def _end_lines(self, status: str, end: float) -> list[tuple[float, str, str]]:
        if status == "COMPLETED":
            return [(end, "INFO", f"Pipeline '{self.app}' succeeded.")]
        if status == "KILLED":
            return [(end, "WARN", f"Pipeline '{self.app}' was killed.")]
        return [
            (
                end,
                "ERROR",
                "Spark program 'phase-1' failed with error: java.lang.IllegalStateException: "
                "Simulated failure in stage 'Wrangler': column 'body' not found",
            ),
            (end, "ERROR", "\tat io.cdap.wrangler.Wrangler.transform(Wrangler.java:376)"),
            (end, "ERROR", f"Pipeline '{self.app}' failed."),
        ]


def _cluster_status(status: str) -> str:
    if status == "PENDING":
        return "PROVISIONING"
    if status in TERMINAL:
        return "DEPROVISIONED"
    return "PROVISIONED"


def _format_log(at: float, level: str, message: str) -> str:
    stamp = datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    return f"{stamp} - {level:<5} [main:i.c.c.d.SmartWorkflow@1] - {message}"


@dataclass
class DeployedApp:
    """A deployed pipeline: the pipeline JSON it was deployed with and its versions, oldest first."""

    artifact: dict[str, Any]
    config: dict[str, Any]
    description: str
    versions: list[str]

    def record(self, name: str) -> dict[str, Any]:
        """The application record, as CDAP lists it."""
        return {
            "type": "App",
            "name": name,
            "version": self.versions[-1],
            "description": self.description,
            "artifact": dict(self.artifact),
        }


# The artifacts a pipeline is deployed from, and the program each runs as.
PIPELINE_ARTIFACTS = {"cdap-data-pipeline": BATCH, "cdap-data-streams": STREAMING}


class _BadRequest(ApiError):
    """A whole-request error: status and text body."""


class CdapEmulator(Emulator[CdapEmulatorConfig]):
    """In-memory CDAP: namespaces, pipelines, runs; builds the aiohttp application serving them."""

    name = "cdap"
    cli_options = (
        *(
            Option(f"{phase}_seconds", help="default %(default)s")
            for phase in ("pending", "starting", "running", "not_found", "stop")
        ),
        Option("max_concurrent_runs", type=int),
        Option("auto_create", "--no-auto-create", help="unknown pipelines answer 404"),
    )
    counters = ("starts", "program_level_stops", "program_level_starts", "deploys", "deletes")
    keyed_counters = ("starts_by_pipeline", "run_stops", "calls_by_principal")
    # Who a Google access token belongs to (a Data Fusion emulator's issued tokens), when this CDAP plays
    # a Data Fusion instance: then /v3 calls need such a token, counted by principal. None: ``token``.
    token_principal: Callable[[str], str | None] | None = None
    prefixes = PREFIXES

    def clear_state(self) -> None:
        """No runs, pipelines or namespaces but the default one; the ``token`` check."""
        self._namespaces: set[str] = {DEFAULT_NAMESPACE}
        self._apps: dict[tuple[str, str], ProgramKind] = {}
        self._pipelines: dict[tuple[str, str], PipelineBehaviour] = {}
        self._runs: dict[tuple[str, str, str], CdapRun] = {}
        self._deployed: dict[tuple[str, str], DeployedApp] = {}
        self._deleted: set[tuple[str, str]] = set()
        self.token_principal = None

    # ----- Python API (also used by the control routes) -----

    def configure_pipeline(self, namespace: str, app: str, changes: dict[str, Any]) -> None:
        """Change a pipeline's behaviour (only the given fields); creates its namespace."""
        with self._lock:
            behaviour = copy.deepcopy(self._pipelines.get((namespace, app), PipelineBehaviour()))
            behaviour.update(changes)
            self._pipelines[(namespace, app)] = behaviour
            self._namespaces.add(namespace)

    def run_records(self, namespace: str | None = None, app: str | None = None) -> list[dict[str, Any]]:
        """Every run's record, newest first, including runs whose record still answers 404."""
        at = now()
        with self._lock:
            runs = [
                run
                for run in self._runs.values()
                if (namespace is None or run.namespace == namespace) and (app is None or run.app == app)
            ]
            runs.sort(key=lambda run: run.created, reverse=True)
            return [dict(run.record(at), namespace=run.namespace, app=run.app) for run in runs]

    def run_ends(self) -> dict[str, float]:
        """Run id -> when the run reaches its final state by its timeline (epoch seconds, maybe ahead)."""
        with self._lock:
            return {run.run_id: run.timeline.ends_at() for run in self._runs.values()}

    # ----- application -----

    def routes(self) -> list[Route]:
        # A handler answers its result as JSON (a response as it is), or raises _BadRequest.
        api = functools.partial(
            api_handler,
            error=_BadRequest,
            answer=lambda exc: web.Response(status=exc.status, text=exc.message),
        )

        # Mutations start or stop runs (random lost replies apply to them only).
        return [
            Route("GET", "/ping", self._ping, "ping"),
            Route("GET", "/v3/namespaces/{ns}", self._get_namespace, "get_namespace"),
            Route("POST", "/v3/namespaces/{ns}/start", api(self._start), "start", True),
            Route("GET", PROGRAM_PATH + "/runs", api(self._list_runs), "list_runs"),
            Route("GET", PROGRAM_PATH + "/runs/{runid}", api(self._get_run), "get_run"),
            Route("POST", PROGRAM_PATH + "/runs/{runid}/stop", api(self._stop_run), "stop_run", True),
            Route("GET", PROGRAM_PATH + "/runs/{runid}/logs", api(self._get_logs), "get_logs"),
            Route("POST", PROGRAM_PATH + "/stop", api(self._stop_program), "stop_program", True),
            Route("POST", PROGRAM_PATH + "/start", api(self._start_program), "start_program", True),
            *self._app_routes(api),
            Route("GET", "/v3/namespaces/{ns}/apps/{app}", api(self._get_app_detail), "get_app_detail"),
        ]

    def middlewares(self) -> list[Middleware]:
        return [self._auth_middleware]

    def control_routes(self) -> list[tuple[str, str, Handler]]:
        return [("PUT", "pipelines/{ns}/{app}", self._put_pipeline), ("GET", "runs", self._get_all_runs)]

    @web.middleware
    async def _auth_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix("/api")
        if not is_control_path(request.path) and path.startswith("/v3/") and self.token_principal is not None:
            principal = self.token_principal(bearer_token(request) or "")
            if principal is None:
                return web.Response(
                    status=401, text="Unauthorized: the bearer token is not a valid access token"
                )
            self.core.stats.incr("calls_by_principal", principal)
        elif not is_control_path(request.path) and path.startswith("/v3/"):
            error = bearer_auth_error(request, self.config.token)
            if error is not None:
                return error
        return await handler(request)

    async def _ping(self, request: web.Request) -> web.Response:
        return web.Response(text="OK.")

    async def _get_namespace(self, request: web.Request) -> web.Response:
        ns = request.match_info["ns"]
        with self._lock:
            known = ns in self._namespaces
        if not known:
            return web.Response(status=404, text=f"Namespace '{ns}' was not found.")
        description = (
            "This is the default namespace, which is automatically created, and is always available."
        )
        if ns != DEFAULT_NAMESPACE:
            description = f"Namespace {ns}"
        return web.json_response({"name": ns, "description": description, "config": {}})

    # ----- starting runs -----

    async def _start(self, request: web.Request) -> Any:
        items = _parse_batch(await request.read())
        with self._lock:
            return self._start_items(request.match_info["ns"], items)

    def _start_items(self, ns: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self._require_namespace(ns)
        at = now()
        results: list[dict[str, Any]] = []
        planned: list[tuple[str, ProgramKind, dict[str, Any]]] = []
        for item in items:
            error = self._check_item(ns, item, planned, at)
            echo = {
                "appId": item["appId"],
                "programType": item["programType"],
                "programId": item["programId"],
            }
            if error is not None:
                results.append({"statusCode": error[0], "error": error[1], **echo})
                continue
            kind = KINDS_BY_TYPE[str(item["programType"]).lower()]
            args = item.get("runtimeargs") or {}
            planned.append((item["appId"], kind, args))
            results.append({"statusCode": 200})
        limit = self.config.max_concurrent_runs
        if planned and limit is not None and self._active_runs(at) + len(planned) > limit:
            raise _BadRequest(
                429, f"Cannot start {len(planned)} run(s): the limit of {limit} concurrent runs is reached."
            )
        created = iter(planned)
        for result in results:
            if result["statusCode"] == 200:
                app, kind, args = next(created)
                run = self._create_run(ns, app, kind, args, at)
                result.update(
                    runId=run.run_id, appId=app, programType=kind.program_type, programId=kind.program_id
                )
        return results

    def _require_namespace(self, ns: str) -> None:
        if ns in self._namespaces:
            return
        if not self.config.auto_create:
            raise _BadRequest(404, f"Namespace '{ns}' was not found.")
        self._namespaces.add(ns)

    def _check_item(
        self, ns: str, item: dict[str, Any], planned: list[tuple[str, ProgramKind, dict[str, Any]]], at: float
    ) -> tuple[int, str] | None:
        app = item["appId"]
        program_type = str(item["programType"])
        kind = KINDS_BY_TYPE.get(program_type.lower())
        if kind is None:
            return 400, f"Invalid program type '{program_type}': a pipeline runs as 'workflow' or 'spark'."
        if item["programId"] != kind.program_id:
            return 400, (
                f"Program '{item['programId']}' of type {kind.program_type} does not exist in app '{app}': "
                f"a pipeline's {kind.program_type} program is '{kind.program_id}'."
            )
        args = item.get("runtimeargs")
        if args is not None and not isinstance(args, dict):
            return 400, "'runtimeargs' must be a JSON object of strings."
        behaviour = self._pipelines.get((ns, app), PipelineBehaviour())
        if not self._exists(ns, app, behaviour):
            return 404, f"App: {app} not found"
        known = self._program_of(ns, app, behaviour)
        if known is not None and known is not kind:
            return 400, (
                f"App '{app}' is a {known.name} pipeline: start it with programType "
                f"'{known.program_type.lower()}' and programId '{known.program_id}'."
            )
        if behaviour.start_error is not None:
            return behaviour.start_error["statusCode"], behaviour.start_error["error"]
        if kind is STREAMING and (
            any(p[0] == app and p[1] is kind for p in planned) or self._active_runs(at, ns, app) > 0
        ):
            return 409, f"Program '{app}.{kind.program_id}' is already running."
        return None

    def _exists(self, ns: str, app: str, behaviour: PipelineBehaviour) -> bool:
        if behaviour.exists is not None:
            return behaviour.exists
        if (ns, app) in self._deployed:
            return True
        if (ns, app) in self._deleted:
            return False
        if "missing" in app.lower():
            return False
        return (ns, app) in self._pipelines or (ns, app) in self._apps or self.config.auto_create

    def _program_of(self, ns: str, app: str, behaviour: PipelineBehaviour) -> ProgramKind | None:
        if behaviour.program is not None:
            return KINDS_BY_NAME[behaviour.program]
        return self._apps.get((ns, app))

    def _active_runs(self, at: float, ns: str | None = None, app: str | None = None) -> int:
        return sum(
            1
            for run in self._runs.values()
            if run.status(at) not in TERMINAL and (ns is None or (run.namespace, run.app) == (ns, app))
        )

    def _create_run(self, ns: str, app: str, kind: ProgramKind, args: dict[str, Any], at: float) -> CdapRun:
        behaviour = self._pipelines.get((ns, app), PipelineBehaviour())
        config = self.config
        name = app.lower()
        outcome = behaviour.outcome
        if outcome is None and "fail" in name:
            outcome = "FAILED"
        if outcome is None and "killed" in name:
            outcome = "KILLED"
        if outcome is None and kind is BATCH:
            outcome = "COMPLETED"
        running = behaviour.running_seconds
        if running is None:
            running = config.running_seconds * (config.long_factor if "long" in name else 1.0)
        phases = (
            ("PENDING", _pick(behaviour.pending_seconds, config.pending_seconds)),
            ("STARTING", _pick(behaviour.starting_seconds, config.starting_seconds)),
            ("RUNNING", running if outcome is not None else float("inf")),
        )
        runtime_args = {str(k): v for k, v in args.items()}
        runtime_args.setdefault("logical.start.time", str(int(at * 1000)))
        run = CdapRun(
            namespace=ns,
            app=app,
            run_id=str(uuid.uuid1()),
            kind=kind,
            runtime_args=runtime_args,
            created=at,
            visible_at=at + _pick(behaviour.not_found_seconds, config.not_found_seconds),
            timeline=Timeline(at, phases, outcome),
        )
        self._runs[(ns, app, run.run_id)] = run
        self._apps.setdefault((ns, app), kind)
        self.core.stats.incr("starts")
        self.core.stats.incr("starts_by_pipeline", f"{ns}/{app}")
        return run

    async def _start_program(self, request: web.Request) -> Any:
        """The single-program start: creates a run but, as in CDAP, answers with an empty body."""
        ns, app = request.match_info["ns"], request.match_info["app"]
        self.core.stats.incr("program_level_starts")
        kind = _program_kind(request)
        raw = await request.read()
        try:
            args = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise _BadRequest(400, "Invalid runtime arguments: expected a JSON object.") from None
        item = {
            "appId": app,
            "programType": kind.program_type,
            "programId": kind.program_id,
            "runtimeargs": args,
        }
        with self._lock:
            result = self._start_items(ns, [item])[0]
        if result["statusCode"] != 200:
            return web.Response(status=result["statusCode"], text=result["error"])
        return web.Response()

    # ----- reading runs -----

    def _visible_run(self, request: web.Request, at: float) -> CdapRun:
        kind = _program_kind(request)
        info = request.match_info
        run = self._runs.get((info["ns"], info["app"], info["runid"]))
        if run is None or run.kind is not kind or at < run.visible_at:
            raise _BadRequest(404, f"'runid' '{info['runid']}' not found.")
        return run

    async def _get_run(self, request: web.Request) -> Any:
        at = now()
        with self._lock:
            return self._visible_run(request, at).record(at)

    async def _list_runs(self, request: web.Request) -> Any:
        at = now()
        info, query = request.match_info, request.query
        kind = _program_kind(request)
        status = query.get("status", "").upper()
        start = _int_param(query, "start", 0)
        end = _int_param(query, "end", 2**63 - 1)
        limit = _int_param(query, "limit", 100)
        with self._lock:
            runs = [
                run
                for run in self._runs.values()
                if (run.namespace, run.app) == (info["ns"], info["app"])
                and run.kind is kind
                and at >= run.visible_at
                and start <= int(run.created) <= end
                and status in ("", "ALL", run.status(at))
            ]
            runs.sort(key=lambda run: run.created, reverse=True)
            return [run.record(at) for run in runs[: max(limit, 0)]]

    async def _get_logs(self, request: web.Request) -> Any:
        at = now()
        start = _int_param(request.query, "start", 0)
        stop = _int_param(request.query, "stop", 2**63 - 1)
        with self._lock:
            lines = self._visible_run(request, at).log_lines(at)
        text = "".join(
            _format_log(moment, level, message) + "\n"
            for moment, level, message in sorted(lines, key=lambda line: line[0])
            if start <= moment < stop
        )
        return web.Response(text=text)

    # ----- stopping runs -----

    async def _stop_run(self, request: web.Request) -> Any:
        at = now()
        info = request.match_info
        self.core.stats.incr("run_stops", f"{info['ns']}/{info['app']}/{info['runid']}")
        with self._lock:
            self._stop(self._visible_run(request, at), at)
        return web.Response()

    def _stop(self, run: CdapRun, at: float) -> None:
        status = run.status(at)
        if status in TERMINAL:
            raise _BadRequest(
                400,
                f"Program run 'program_run:{run.namespace}.{run.app}.-SNAPSHOT."
                f"{run.kind.program_type.lower()}.{run.kind.program_id}.{run.run_id}' is not running.",
            )
        if status != "STOPPING":
            run.stopped_at = at
            run.killed_at = at + self.config.stop_seconds

    async def _stop_program(self, request: web.Request) -> Any:
        """Program-level stop: stops one arbitrary running run (the oldest). Never right for a given run."""
        at = now()
        info = request.match_info
        self.core.stats.incr("program_level_stops")
        kind = _program_kind(request)
        with self._lock:
            candidates = sorted(
                (
                    run
                    for run in self._runs.values()
                    if (run.namespace, run.app) == (info["ns"], info["app"])
                    and run.kind is kind
                    and at >= run.visible_at
                    and run.status(at) not in TERMINAL | {"STOPPING"}
                ),
                key=lambda run: run.created,
            )
            if not candidates:
                raise _BadRequest(400, f"Program '{info['app']}.{kind.program_id}' is not running.")
            self._stop(candidates[0], at)
        return web.Response()

    # ----- applications (pipelines): deploy, delete, list; and the UI pages links open -----

    def _app_routes(self, api: Any) -> list[Route]:
        apps = "/v3/namespaces/{ns}/apps"
        return [
            Route("GET", apps, api(self._list_apps), "list_apps"),
            Route("PUT", apps + "/{app}", api(self._deploy_app), "deploy_app", True),
            Route("DELETE", apps + "/{app}", api(self._delete_app), "delete_app", True),
            Route(
                "DELETE",
                apps + "/{app}/versions/{version}",
                api(self._delete_app),
                "delete_app_version",
                True,
            ),
            link_page_route("/pipelines/ns/{ns}/view/{app}", "ui_pipeline", self._pipeline_page),
            link_page_route("/cdap/ns/{ns}/pipelines", "ui_pipelines", self._pipelines_page),
        ]

    def deployed_apps(self, namespace: str = DEFAULT_NAMESPACE) -> dict[str, dict[str, Any]]:
        """The pipelines deployed in ``namespace``: name -> the pipeline JSON deployed, and ``versions``."""
        with self._lock:
            return {
                app: {"artifact": d.artifact, "config": d.config, "versions": list(d.versions)}
                for (ns, app), d in self._deployed.items()
                if ns == namespace
            }

    async def _deploy_app(self, request: web.Request) -> Any:
        ns, app = request.match_info["ns"], request.match_info["app"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise _BadRequest(400, f"Error while reading json request body for app {app}.") from None
        artifact = body.get("artifact") if isinstance(body, dict) else None
        if not isinstance(artifact, dict):
            raise _BadRequest(400, "Artifact must be specified.")
        for key in ("name", "version"):
            if not isinstance(artifact.get(key), str) or not artifact[key]:
                raise _BadRequest(400, f"Artifact {key} must be specified.")
        scope = str(artifact.get("scope") or "USER").upper()
        if scope not in ("SYSTEM", "USER"):
            raise _BadRequest(400, f"Invalid artifact scope '{artifact.get('scope')}'.")
        kind = PIPELINE_ARTIFACTS.get(artifact["name"])
        if kind is None:
            raise _BadRequest(
                404,
                f"No artifact named '{artifact['name']}' found in scope {scope}: a pipeline's artifact "
                f"is one of {sorted(PIPELINE_ARTIFACTS)}.",
            )
        config = body.get("config") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(config, dict):
            raise _BadRequest(400, f"Could not create pipeline '{app}': 'config' must be a JSON object.")
        if not isinstance(config.get("stages", []), list) or not isinstance(
            config.get("connections", []), list
        ):
            raise _BadRequest(
                400, f"Invalid pipeline config of '{app}': 'stages' and 'connections' are lists."
            )
        with self._lock:
            self._require_namespace(ns)
            previous = self._deployed.get((ns, app))
            versions = [*(previous.versions if previous else []), str(uuid.uuid1())]
            deployed = DeployedApp(
                dict(artifact, scope=scope), config, str(body.get("description") or ""), versions
            )
            self._deployed[(ns, app)] = deployed
            self._deleted.discard((ns, app))
            self._apps[(ns, app)] = kind
            self.core.stats.incr("deploys")
            return deployed.record(app)

    async def _delete_app(self, request: web.Request) -> Any:
        info = request.match_info
        ns, app, version = info["ns"], info["app"], info.get("version")
        at = now()
        with self._lock:
            deployed = self._deployed.get((ns, app))
            started = (ns, app) in self._apps and (ns, app) not in self._deleted
            if deployed is None and not started:
                raise _BadRequest(404, f"Application '{app}' was not found.")
            if version is not None and (deployed is None or version not in deployed.versions):
                raise _BadRequest(404, f"Application '{app}' with version '{version}' was not found.")
            active = self._active_runs(at, ns, app)
            if active:
                kind = self._apps.get((ns, app), BATCH)
                raise _BadRequest(
                    409,
                    f"'application:{ns}.{app}.-SNAPSHOT' could not be deleted. Reason: The following "
                    f"programs are still running: {kind.program_id}",
                )
            if deployed is not None and version is not None and len(deployed.versions) > 1:
                deployed.versions.remove(version)
            else:
                self._deployed.pop((ns, app), None)
                self._apps.pop((ns, app), None)
                self._deleted.add((ns, app))
            self.core.stats.incr("deletes")
        return web.Response()

    async def _list_apps(self, request: web.Request) -> Any:
        ns = request.match_info["ns"]
        names = {n for n in request.query.get("artifactName", "").split(",") if n}
        version = request.query.get("artifactVersion", "")
        with self._lock:
            if ns not in self._namespaces:
                raise _BadRequest(404, f"Namespace '{ns}' was not found.")
            records = [d.record(app) for (space, app), d in sorted(self._deployed.items()) if space == ns]
        return [
            r
            for r in records
            if (not names or r["artifact"]["name"] in names)
            and (not version or r["artifact"]["version"] == version)
        ]

    def _pipeline_page(self, request: web.Request) -> tuple[str, list[str]]:
        ns, app = request.match_info["ns"], request.match_info["app"]
        with self._lock:
            deployed = (ns, app) in self._deployed
            runs = sum(1 for run in self._runs.values() if (run.namespace, run.app) == (ns, app))
        state = "deployed" if deployed else "not deployed"
        return f"Pipeline {app}", [f"Namespace {ns}: pipeline {app} ({state}), {runs} run(s)."]

    def _pipelines_page(self, request: web.Request) -> tuple[str, list[str]]:
        ns = request.match_info["ns"]
        with self._lock:
            names = sorted(app for (space, app) in self._deployed if space == ns)
        return f"Pipelines of namespace {ns}", names or ["No pipelines deployed."]

    # ----- application detail (the deployed pipeline and its config; read for lineage) -----

    async def _get_app_detail(self, request: web.Request) -> Any:
        ns, app = request.match_info["ns"], request.match_info["app"]
        self._require_namespace(ns)
        with self._lock:
            behaviour = self._pipelines.get((ns, app), PipelineBehaviour())
            if not self._exists(ns, app, behaviour):
                raise _BadRequest(404, f"Application '{app}' was not found.")
            kind = self._program_of(ns, app, behaviour) or BATCH
            deployed = self._deployed.get((ns, app))
        detail = app_detail(app, kind)
        if deployed is not None:  # what was deployed, rather than the built-in example's stages
            detail.update(
                appVersion=deployed.versions[-1],
                description=deployed.description,
                configuration=json.dumps(deployed.config),
                artifact=dict(deployed.artifact),
            )
        return detail

    # ----- control routes -----

    async def _put_pipeline(self, request: web.Request) -> web.Response:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object")
            self.configure_pipeline(request.match_info["ns"], request.match_info["app"], changes)
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        with self._lock:
            behaviour = self._pipelines[(request.match_info["ns"], request.match_info["app"])]
            return web.json_response(dataclasses.asdict(behaviour))

    async def _get_all_runs(self, request: web.Request) -> web.Response:
        return web.json_response(self.run_records(request.query.get("namespace"), request.query.get("app")))


def _pick(override: float | None, default: float) -> float:
    return default if override is None else override


def _program_kind(request: web.Request) -> ProgramKind:
    kind = KINDS_BY_SEGMENT[request.match_info["ptype"]]
    program = request.match_info["program"]
    if program != kind.program_id:
        raise _BadRequest(404, f"Program '{program}' of type {kind.program_type} was not found.")
    return kind


def _int_param(query: Any, name: str, default: int) -> int:
    value = query.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise _BadRequest(400, f"Invalid value for '{name}': {value!r} is not an integer.") from None


def _parse_batch(raw: bytes) -> list[dict[str, Any]]:
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        raise _BadRequest(400, "Invalid request body: expected a JSON array of programs.") from None
    if not isinstance(body, list):
        raise _BadRequest(400, "Invalid request body: expected a JSON array of programs.")
    for item in body:
        if not isinstance(item, dict):
            raise _BadRequest(400, "Invalid request body: each program must be a JSON object.")
        for key in ("appId", "programType", "programId"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise _BadRequest(400, f"'{key}' must be specified.")
    return body


# ----- the deployed pipelines' configs (application detail) -----

# What the example DAG's pipelines read and write, as Data Fusion's plugins name it; macros such as
# ${input.path} are resolved from the run's runtime arguments by whoever reads the config.
EXAMPLE_STAGES: dict[str, list[dict[str, Any]]] = {
    "daily-sales": [
        {
            "name": "Sales files",
            "plugin": {
                "name": "GCSFile",
                "type": "batchsource",
                "properties": {"referenceName": "sales_files", "path": "${input.path}", "format": "csv"},
            },
        },
        {"name": "Wrangler", "plugin": {"name": "Wrangler", "type": "transform", "properties": {}}},
        {
            "name": "Sales table",
            "plugin": {
                "name": "BigQueryTable",
                "type": "batchsink",
                "properties": {
                    "referenceName": "sales",
                    "project": "example-project",
                    "dataset": "sales",
                    "table": "${output.table}",
                },
            },
        },
    ],
    "inventory-sync": [
        {
            "name": "Inventory",
            "plugin": {
                "name": "Database",
                "type": "batchsource",
                "properties": {
                    "referenceName": "inventory",
                    "connectionString": "jdbc:postgresql://inventory-db:5432/shop",
                    "tableName": "public.inventory",
                    "importQuery": "SELECT * FROM inventory",
                },
            },
        },
        {
            "name": "Inventory table",
            "plugin": {
                "name": "BigQueryTable",
                "type": "batchsink",
                "properties": {"project": "example-project", "dataset": "warehouse", "table": "inventory"},
            },
        },
    ],
    "orders-export": [
        {
            "name": "Orders",
            "plugin": {
                "name": "BigQueryTable",
                "type": "batchsource",
                "properties": {"project": "example-project", "dataset": "sales", "table": "orders"},
            },
        },
        {
            "name": "Export",
            "plugin": {
                "name": "GCS",
                "type": "batchsink",
                "properties": {"path": "gs://example-exports/orders", "format": "json"},
            },
        },
    ],
}


def pipeline_stages(app: str) -> list[dict[str, Any]]:
    """A pipeline's stages: the examples' own; any other pipeline reads GCS and writes BigQuery."""
    if app in EXAMPLE_STAGES:
        return copy.deepcopy(EXAMPLE_STAGES[app])
    table = app.replace("-", "_")
    return [
        {
            "name": "Input",
            "plugin": {
                "name": "GCSFile",
                "type": "batchsource",
                "properties": {"path": f"gs://emulator-input/{app}/"},
            },
        },
        {
            "name": "Output",
            "plugin": {
                "name": "BigQueryTable",
                "type": "batchsink",
                "properties": {"project": "emulator-project", "dataset": "pipelines", "table": table},
            },
        },
    ]


def app_detail(app: str, kind: ProgramKind) -> dict[str, Any]:
    """CDAP's application detail: the pipeline config travels as a JSON string in ``configuration``
    (an app named ``*badconfig*`` has a configuration that is not JSON)."""
    from itertools import pairwise

    artifact = "cdap-data-pipeline" if kind is BATCH else "cdap-data-streams"
    stages = pipeline_stages(app)
    config = {
        "stages": stages,
        "connections": [{"from": a["name"], "to": b["name"]} for a, b in pairwise(stages)],
        "engine": "spark",
    }
    return {
        "name": app,
        "appVersion": "-SNAPSHOT",
        "description": "Data Pipeline Application",
        "configuration": "{not json" if "badconfig" in app else json.dumps(config),
        "datasets": [],
        "programs": [{"type": kind.program_type, "app": app, "name": kind.program_id}],
        "plugins": [],
        "artifact": {"name": artifact, "version": "6.10.1", "scope": "SYSTEM"},
    }


create_cdap_app = CdapEmulator.new_app


class CdapEmulatorHandle(PlatformEmulatorHandle[CdapEmulator, CdapEmulatorConfig]):
    """A running CDAP emulator plus direct control of its state, for tests.

    ``url`` is the root (self-hosted CDAP); ``api_url`` is the same server under ``/api`` (Data Fusion).
    """

    emulator_class = CdapEmulator
    run_key = "runid"

    @property
    def api_url(self) -> str:
        return self.url + "/api"

    def configure_pipeline(self, name: str, namespace: str = DEFAULT_NAMESPACE, **behaviour: Any) -> None:
        """E.g. ``configure_pipeline("p", outcome="FAILED", running_seconds=0.2, start_error=None)``."""
        self.emulator.configure_pipeline(namespace, name, behaviour)

    def runs(self, namespace: str = DEFAULT_NAMESPACE, app: str | None = None) -> list[dict[str, Any]]:
        """Run records of a namespace (and app), newest first; each also carries ``namespace``/``app``."""
        return self.emulator.run_records(namespace, app)

    def run_ends(self) -> dict[str, float]:
        """Run id -> when the run reaches its final state (epoch seconds): to measure how soon it is seen."""
        return self.emulator.run_ends()

    def accept_tokens_of(self, principal_of: Callable[[str], str | None]) -> None:
        """Play a Data Fusion instance: accept only the Google access tokens ``principal_of`` knows
        (e.g. a Data Fusion emulator's), counting calls by principal (``calls_by_principal``)."""
        self.emulator.token_principal = principal_of

    def deployed(self, namespace: str = DEFAULT_NAMESPACE) -> dict[str, dict[str, Any]]:
        """The pipelines deployed in ``namespace``: name -> ``artifact``, ``config`` and ``versions``."""
        return self.emulator.deployed_apps(namespace)
