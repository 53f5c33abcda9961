"""EnOS (Envision) emulator: the API gateway's token service and signatures, stream processing
pipelines (start, stop, pause, list, Kafka lag) and batch data flows v2.1 (trigger, get, cancel).

Follows EnOS's public API pages (APIM token service, gateway signatures, stream processing API 2.x,
batch processing v2.1); where they are silent, the choices are marked *(inferred)* in docs/EMULATORS.md.
Pipelines and flow instances move by wall clock: nothing runs in the background.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import math
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from airflow_provider_pipelines.emulators.base import ApiError, Emulator
from airflow_provider_pipelines.emulators.cli import Option
from airflow_provider_pipelines.emulators.faults import FaultOptions, format_retry_after
from airflow_provider_pipelines.emulators.handle import PlatformEmulatorHandle, delegate, lookup
from airflow_provider_pipelines.emulators.routes import (
    Handler,
    Middleware,
    Route,
    api_handler,
    is_control_request,
    json_object,
    route_errors,
)
from airflow_provider_pipelines.emulators.timeline import Timeline, ms, now

# ----- constants -----

TOKEN_PREFIX = "/apim-token-service/v2.0/token/"
STREAMING_PREFIX = "/streaming/v2.0/streaming/"
BATCH_PREFIX = "/batch-processing-service/v2.1/"

PUBLISHED, RUNNING, PAUSED, STOPPED = "PUBLISHED", "RUNNING", "PAUSED", "STOPPED"
PIPELINE_STATUSES = (PUBLISHED, RUNNING, PAUSED, STOPPED)
STARTABLE = frozenset({PUBLISHED, STOPPED, PAUSED})
STOPPABLE = frozenset({RUNNING, PAUSED})
PIPELINE_ACTIONS = ("start", "stop", "pause", "release", "save")
STANDALONE, CLUSTER = 0, 1

# Batch flow instance statuses (integers on the wire).
FLOW_STATUSES: dict[str, int] = {
    "FAIL": -1,
    "INIT": 0,
    "SUCCESS": 1,
    "RUNNING": 2,
    "SUSPEND": 3,
    "INTERNAL_ERROR": 4,
    "WAIT": 5,
    "READY": 6,
    "TIMEOUT": 7,
    "CANCEL": 8,
    "RERUN": 9,
    "SKIP": 10,
}
FLOW_TERMINAL = frozenset({"FAIL", "SUCCESS", "INTERNAL_ERROR", "TIMEOUT", "CANCEL", "SKIP"})
# The hundreds digit of a flow id picks its outcome; 9 means a long run that then succeeds.
FLOW_OUTCOMES_BY_DIGIT = {3: "FAIL", 4: "INTERNAL_ERROR", 7: "TIMEOUT"}
LONG_DIGIT = 9
FLOW_TASKS = ("extract", "load")

# Gateway (APIM) status codes.
ENCRYPTION_REUSED, APP_KEY_UNKNOWN, ENCRYPTION_INVALID, TIMESTAMP_INVALID, PARAMETER_INVALID = range(
    1001, 1006
)
TOKEN_INVALID, TOKEN_EXPIRED, SIGNATURE_INVALID = 1202, 1203, 1204

# Stream processing error codes.
CONFIG_INVALID = 61100
PIPELINE_NOT_FOUND = 61108
START_BUSY = 61121
FAILED_TO_STOP = 61122
RESOURCE_NOT_ENOUGH = 61126
MODE_NOT_AVAILABLE = 61128
CANNOT_CHANGE = 61152
CANNOT_START = 61165
START_BUSY_MESSAGE = (
    "Another user in the organization is starting a stream processing job. Please try again later."
)
# Batch processing error codes.
BAD_USER_OR_ORG = 62101
FLOW_HAS_NO_TASK = 62104
FLOW_INTERNAL = 62109
# EnOS's common "invalid arguments" code, for what the specific pages do not cover (inferred).
INVALID_ARGUMENT = 99400

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000


def _default_pipelines() -> list[dict[str, Any]]:
    """25 pipelines, so that the list takes three pages of 10."""
    seeds: list[dict[str, Any]] = [
        {"pipelineId": "pl-demo-1", "status": PUBLISHED},
        {"pipelineId": "pl-crash-2", "status": PUBLISHED},
        {"pipelineId": "pl-running-3", "status": RUNNING, "lag": 42},
        {"pipelineId": "pl-paused-4", "status": PAUSED},
        {"pipelineId": "pl-stopped-5", "status": STOPPED},
        {"pipelineId": "pl-nocluster-6", "status": PUBLISHED},
    ]
    for number in range(7, 26):
        seeds.append(
            {"pipelineId": f"pl-sample-{number}", "status": STOPPED if number % 3 == 0 else PUBLISHED}
        )
    return seeds


@dataclass
class EnosEmulatorConfig(FaultOptions):
    """Settings of an EnOS emulator; timings in seconds. Read live: tests may change it between requests.

    Token service: ``app_key`` / ``app_secret`` (the only application), ``token_seconds`` (an access
    token's lifetime), ``timestamp_tolerance_seconds`` (how far a request's ``timestamp`` may be from the
    emulator's clock, token service and ``apim-timestamp`` alike). ``token``: an access token the gateway
    also accepts for ever (its signature is still checked), handy with curl; ``None``: none.
    ``reject_first_token_use``: the next N signed calls with a valid token answer 1203 (token expired),
    and that token really ends, so the token service then issues a new one.

    Streaming: ``org_id``; ``start_seconds`` (a started pipeline keeps showing its old status that long,
    then RUNNING, or STOPPED for a ``crash`` pipeline), ``stop_seconds``; ``busy_starts`` (the next N
    starts answer 61121); ``one_start_at_a_time`` (while a start is in progress in the organization, other
    starts answer 61121); ``max_servers`` (``resourceConfig.server`` above it answers 61126);
    ``pipelines``: the pipelines present at start and after a reset, dicts with ``pipelineId`` and
    optional ``pipelineName``, ``status``, ``version``, ``lag``.

    Batch: ``user_id``; ``init_seconds`` (INIT), ``running_seconds`` (RUNNING; times ``long_factor`` for
    9xx flows). Timings are read when the pipeline or the instance changes.
    """

    app_key: str = "emulator-app-key"
    app_secret: str = "emulator-app-secret"
    token_seconds: float = 7200.0
    timestamp_tolerance_seconds: float = 300.0
    token: str | None = None
    reject_first_token_use: int = 0
    org_id: str = "o15589"
    start_seconds: float = 1.0
    stop_seconds: float = 0.5
    busy_starts: int = 0
    one_start_at_a_time: bool = True
    max_servers: int = 8
    pipelines: list[dict[str, Any]] = field(default_factory=_default_pipelines)
    user_id: str = "u-airflow"
    init_seconds: float = 0.5
    running_seconds: float = 2.0
    long_factor: float = 100.0


# ----- signatures -----


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def token_encryption(app_key: str, timestamp: int | str, app_secret: str) -> str:
    """The token service's ``encryption``: ``sha256_hex(appKey + str(timestamp) + appSecret)``."""
    return sha256_hex(f"{app_key}{timestamp}{app_secret}")


Params = Mapping[str, Any] | Iterable[tuple[str, Any]] | None


def params_data(params: Params, body: bytes | str | None = None) -> str:
    """The signed ``paramsData``: query parameters sorted by name (then value), each ``name + value``,
    followed by the body (bytes decoded as UTF-8)."""
    items = params.items() if isinstance(params, Mapping) else (params or ())
    pairs = sorted((str(name), str(value)) for name, value in items)
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    return "".join(name + value for name, value in pairs) + (body or "")


def apim_signature(
    access_token: str, params: Params, body: bytes | str | None, timestamp: int | str, app_secret: str
) -> str:
    """``sha256_hex(accessToken + paramsData + timestamp + appSecret)``, as the gateway checks it."""
    return sha256_hex(f"{access_token}{params_data(params, body)}{timestamp}{app_secret}")


# ----- errors -----


class _ApiError(ApiError):
    """An EnOS service error (``status`` is its ``code``): ``{"code", "msg", "requestId", "data": null}``
    under HTTP 200."""


class _TokenError(ApiError):
    """A token service error: ``{"status", "msg", "data": null}`` under HTTP 200."""


def _envelope(data: Any = "", code: int = 0, msg: str = "OK", status: int = 200) -> web.Response:
    body = {"code": code, "msg": msg, "requestId": str(uuid.uuid4()), "data": data}
    return web.json_response(body, status=status)


def _gateway_error(status: int, message: str, reason: str) -> web.Response:
    """The gateway's own 401 reply; ``X-Emulator-Reason`` says why (emulator-only header)."""
    return web.json_response(
        {"status": status, "msg": message}, status=401, headers={"X-Emulator-Reason": reason}
    )


def _stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _same(expected_hex: str, given: str) -> bool:
    """Constant-time comparison of a hex digest with what a client sent (hex case ignored)."""
    return hmac.compare_digest(expected_hex.encode(), given.lower().encode("utf-8", errors="replace"))


def _int_field(value: Any) -> int | None:
    """A JSON integer, or a string of digits (with an optional minus); ``None`` otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


# ----- state -----


@dataclass
class _Token:
    app_key: str
    expires_at: float
    revoked: bool = False


@dataclass
class Pipeline:
    """A stream processing pipeline: its status follows its timeline (old status, then the new one)."""

    pipeline_id: str
    name: str
    version: int
    timeline: Timeline
    sequence: int
    lag: int = 0
    operation: str | None = None  # "start" or "stop" while that timeline is in progress
    previous_update: float = 0.0  # when the status shown during a transition was entered

    def status(self, at: float) -> str:
        return self.timeline.state_at(at)

    def busy(self, at: float) -> bool:
        return self.operation is not None and at < self.timeline.ends_at()

    def update_time(self, at: float) -> float:
        return self.previous_update if self.busy(at) else self.timeline.ends_at()

    def record(self, at: float) -> dict[str, Any]:
        return {
            "pipelineId": self.pipeline_id,
            "pipelineName": self.name,
            "status": self.status(at),
            "version": self.version,
            "updateTime": ms(self.update_time(at)),
        }

    def change(
        self, at: float, phases: tuple[tuple[str, float], ...], final: str, operation: str | None
    ) -> None:
        self.previous_update = self.update_time(at)
        self.timeline = Timeline(at, phases, final)
        self.operation = operation


def flow_outcome(flow_id: int) -> tuple[str, bool]:
    """(final status, long-running?) of a flow, from the hundreds digit of its id."""
    digit = (flow_id // 100) % 10
    return FLOW_OUTCOMES_BY_DIGIT.get(digit, "SUCCESS"), digit == LONG_DIGIT


@dataclass
class FlowInstance:
    """One triggered flow: INIT, RUNNING, then its outcome, unless cancelled (CANCEL from then on)."""

    instance_id: str
    flow_id: int
    trigger_time: int
    action: str
    parameters: list[dict[str, Any]]
    timeline: Timeline
    sequence: int
    cancelled_at: float | None = None

    def cancelled(self, at: float) -> float | None:
        """When the instance was cancelled, if it was by ``at``."""
        return self.cancelled_at if self.cancelled_at is not None and at >= self.cancelled_at else None

    def status(self, at: float) -> str:
        return "CANCEL" if self.cancelled(at) is not None else self.timeline.state_at(at)

    def end_time(self, at: float) -> float | None:
        end, cancelled = self.timeline.ends_at(), self.cancelled(at)
        return cancelled if cancelled is not None else (end if at >= end else None)

    def _tasks(self, at: float) -> list[dict[str, Any]]:
        running_at = self.timeline.entered_at("RUNNING")
        assert running_at is not None
        end = self.timeline.ends_at()
        middle = running_at + (end - running_at) / 2
        outcome = self.timeline.final or "SUCCESS"
        cancelled = self.cancelled(at)
        moment = at if cancelled is None else cancelled
        # (name, starts, ends, final status, last log line)
        plans = [
            (FLOW_TASKS[0], running_at, middle, "SUCCESS", f"task {FLOW_TASKS[0]} succeeded"),
            (FLOW_TASKS[1], middle, end, outcome, _final_log_line(FLOW_TASKS[1], outcome, self.flow_id)),
        ]
        tasks = []
        for index, (name, starts, ends, final, last_line) in enumerate(plans, start=1):
            log = []
            start_time: float | None = None
            end_time: float | None = None
            if moment < running_at:
                status = "INIT"
            elif moment < starts:
                status = "WAIT"
            else:
                start_time = starts
                log.append(f"{_stamp(starts)} INFO task {name} started")
                if moment < ends:
                    status = RUNNING
                else:
                    status, end_time = final, ends
                    level = "INFO" if final == "SUCCESS" else "ERROR"
                    log.append(f"{_stamp(ends)} {level} {last_line}")
            if cancelled is not None and status not in FLOW_TERMINAL:
                status, end_time = "CANCEL", cancelled
                log.append(f"{_stamp(cancelled)} WARN task {name} cancelled")
            tasks.append(
                {
                    "taskId": f"task-{self.flow_id}-{index}",
                    "name": name,
                    "status": FLOW_STATUSES[status],
                    "statusDesc": status,
                    "startTime": None if start_time is None else ms(start_time),
                    "endTime": None if end_time is None else ms(end_time),
                    "log": "\n".join(log),
                }
            )
        return tasks

    def record(self, at: float) -> dict[str, Any]:
        status = self.status(at)
        end = self.end_time(at)
        tasks = self._tasks(at)
        return {
            "flowInstId": self.instance_id,
            "flowId": self.flow_id,
            "status": FLOW_STATUSES[status],
            "statusDesc": status,
            "triggerTime": self.trigger_time,
            "startTime": ms(self.timeline.start),
            "endTime": None if end is None else ms(end),
            "parameters": copy.deepcopy(self.parameters),
            "graph": {
                "tasks": tasks,
                "edges": [{"from": tasks[0]["taskId"], "to": tasks[1]["taskId"]}],
            },
        }


def _final_log_line(task: str, outcome: str, flow_id: int) -> str:
    if outcome == "SUCCESS":
        return f"task {task} succeeded"
    if outcome == "INTERNAL_ERROR":
        return f"task {task} failed: INTERNAL_ERROR: simulated internal error in flow {flow_id}"
    if outcome == "TIMEOUT":
        return f"task {task} failed: TIMEOUT: the task ran past its time limit in flow {flow_id}"
    return f"task {task} failed: FAIL: the task exited with code 1 in flow {flow_id}"


# ----- the emulator -----


class EnosEmulator(Emulator[EnosEmulatorConfig]):
    """In-memory EnOS: access tokens, pipelines and flow instances; builds the aiohttp application."""

    name = "enos"
    cli_options = (
        *map(Option, ("app_key", "app_secret", "token_seconds", "org_id", "user_id", "start_seconds")),
        *map(Option, ("stop_seconds", "init_seconds", "running_seconds", "long_factor", "max_servers")),
        Option(
            "one_start_at_a_time",
            "--concurrent-starts",
            help="let several pipelines start at once (default: one start at a time per organization)",
        ),
    )
    counters = (
        "tokens_issued",
        "token_gets",
        "token_refreshes",
        "token_errors",
        "token_failures",
        "signature_failures",
        "forced_token_expiries",
        "starts",
        "stops",
        "pauses",
        "releases",
        "saves",
        "list_calls",
        "offset_lag_calls",
        "flow_triggers",
        "flow_gets",
        "flow_cancels",
    )
    keyed_counters = ("starts_by_pipeline", "flow_triggers_by_flow", "errors", "actions")
    control_views = {"pipelines": "pipeline_records", "flow-instances": "flow_instance_records"}

    def __init__(self, config: EnosEmulatorConfig | None = None) -> None:
        self._sequence = itertools.count(1)
        super().__init__(config)

    def clear_state(self) -> None:
        """The seeded pipelines (``config.pipelines``), no flow instances, no access tokens (those issued
        before a reset answer 1202)."""
        self._tokens: dict[str, _Token] = {}
        self._current_tokens: dict[str, str] = {}
        self._used_timestamps: set[tuple[str, str]] = set()
        self._instances: dict[str, FlowInstance] = {}
        self._pipelines: dict[str, Pipeline] = {}
        for seed in self.config.pipelines:
            self._put_described(str(seed["pipelineId"]), seed)

    # ----- Python API (also used by the control routes) -----

    def put_pipeline(
        self,
        pipeline_id: str,
        name: str | None = None,
        status: str = PUBLISHED,
        version: int = 1,
        lag: int = 0,
    ) -> dict[str, Any]:
        """Add (or replace) a pipeline in ``status``; ``ValueError`` for an unknown status."""
        status = str(status).upper()
        if status not in PIPELINE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(PIPELINE_STATUSES)}: got {status!r}")
        at = now()
        with self._lock:
            old = self._pipelines.get(pipeline_id)
            pipeline = Pipeline(
                pipeline_id=pipeline_id,
                name=name if name is not None else pipeline_id.removeprefix("pl-"),
                version=version,
                timeline=Timeline(at, (), status),
                sequence=old.sequence if old is not None else next(self._sequence),
                lag=lag,
                previous_update=at,
            )
            self._pipelines[pipeline_id] = pipeline
            return pipeline.record(at)

    def _put_described(self, pipeline_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`put_pipeline` from JSON fields: ``pipelineName``, ``status``, ``version``, ``lag``."""
        name, status = fields.get("pipelineName"), fields.get("status", PUBLISHED)
        return self.put_pipeline(
            pipeline_id, name, status, int(fields.get("version", 1)), int(fields.get("lag", 0))
        )

    def pipeline_records(self) -> list[dict[str, Any]]:
        """Every pipeline as the list shows it, plus ``lag`` and ``operation`` (emulator-only: ``"start"``
        or ``"stop"`` while one is in progress, else ``None``)."""
        at = now()
        with self._lock:
            return [
                {**p.record(at), "lag": p.lag, "operation": p.operation if p.busy(at) else None}
                for p in self._ordered_pipelines()
            ]

    def flow_instance_records(self) -> list[dict[str, Any]]:
        """Every flow instance's record, newest first."""
        at = now()
        with self._lock:
            instances = sorted(self._instances.values(), key=lambda item: item.sequence, reverse=True)
            return [instance.record(at) for instance in instances]

    run_records = flow_instance_records  # EnOS's runs are its flow instances

    def issue_token(self, app_key: str | None = None) -> tuple[str, int]:
        """(access token, seconds left) as a successful ``token/get`` answers: the current token of
        ``app_key`` while it is valid, else a new one."""
        at = now()
        with self._lock:
            return self._current_token(app_key or self.config.app_key, at)

    def _current_token(self, app_key: str, at: float) -> tuple[str, int]:
        token = self._current_tokens.get(app_key)
        if token is not None:
            state = self._tokens[token]
            if not state.revoked and at < state.expires_at:
                return token, math.ceil(state.expires_at - at)
        return self._mint(app_key, at)

    def _mint(self, app_key: str, at: float, counter: str = "tokens_issued") -> tuple[str, int]:
        token = secrets.token_hex(20)
        self._tokens[token] = _Token(app_key, at + self.config.token_seconds)
        self._current_tokens[app_key] = token
        self.core.stats.incr(counter)
        return token, math.ceil(self.config.token_seconds)

    def _secret_for(self, app_key: str) -> str | None:
        return self.config.app_secret if app_key == self.config.app_key else None

    # ----- application -----

    def routes(self) -> list[Route]:
        service = self._service
        # Mutations (random lost replies apply to them only): every pipeline action, a flow trigger, a
        # flow instance cancel. The token service, the list, the lag and a flow instance get only read.
        return [
            Route("POST", TOKEN_PREFIX + "get", self._token_service, "token_get"),
            Route("POST", TOKEN_PREFIX + "refresh", self._token_service, "token_refresh"),
            Route(
                "POST",
                STREAMING_PREFIX + "pipeline/{pipelineId}",
                service(self._operate),
                "operate_pipeline",
                _operates_pipeline,
            ),
            Route("GET", STREAMING_PREFIX + "pipelines", service(self._list), "list_pipelines"),
            Route(
                "GET", STREAMING_PREFIX + "pipeline/{pipelineId}/offset-lag", service(self._lag), "offset_lag"
            ),
            Route("POST", BATCH_PREFIX + "flows", service(self._trigger), "flows", True),
            Route("GET", BATCH_PREFIX + "flowInstances", service(self._get_instance), "flow_instances"),
            Route(
                "POST", BATCH_PREFIX + "flowInstances", service(self._cancel_instance), "flow_instances", True
            ),
        ]

    def middlewares(self) -> list[Middleware]:
        # Unknown routes and wrong methods answer JSON *(inferred)*.
        errors = route_errors(lambda status, message: _envelope(None, status, message, status))
        return [self._gateway_middleware, errors]

    def control_routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("PUT", "pipelines/{pipelineId}", self._control_put_pipeline),
            ("POST", "token", self._control_token),
        ]

    # ----- the gateway -----

    @web.middleware
    async def _gateway_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Token and signature checks on every API call but the token service's."""
        if (
            is_control_request(request)
            or request.match_info.http_exception is not None
            or request.path.startswith(TOKEN_PREFIX)
        ):
            return await handler(request)
        error = await self._gateway_check(request)
        if error is not None:
            return error
        return await handler(request)

    async def _gateway_check(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("apim-accesstoken", "")
        timestamp = request.headers.get("apim-timestamp", "")
        signature = request.headers.get("apim-signature", "")
        body = await request.read()
        at = now()
        with self._lock:
            static = self.config.token is not None and token == self.config.token
            state = None if static else self._tokens.get(token)
            if not static:
                if not token:
                    self.core.stats.incr("token_failures")
                    return _gateway_error(TOKEN_INVALID, "token invalid", "no apim-accesstoken header")
                if state is None or state.revoked:
                    self.core.stats.incr("token_failures")
                    reason = "unknown access token" if state is None else "access token replaced by a refresh"
                    return _gateway_error(TOKEN_INVALID, "token invalid", reason)
                if at >= state.expires_at:
                    self.core.stats.incr("token_failures")
                    return _gateway_error(TOKEN_EXPIRED, "token expired", "access token expired")
            app_key = self.config.app_key if state is None else state.app_key
            secret = self._secret_for(app_key) or ""
            tolerance_ms = self.config.timestamp_tolerance_seconds * 1000
        stamp = _int_field(timestamp)
        failure: str | None = None
        if not signature:
            failure = "no apim-signature header"
        elif stamp is None:
            failure = "apim-timestamp is not epoch milliseconds"
        elif abs(ms(at) - stamp) > tolerance_ms:
            failure = "apim-timestamp is more than the tolerance away from the server clock (milliseconds?)"
        elif not _same(apim_signature(token, request.query.items(), body, timestamp, secret), signature):
            failure = "signature mismatch: sha256(accessToken + sorted params + body + timestamp + appSecret)"
        if failure is not None:
            self.core.stats.incr("signature_failures")
            return _gateway_error(SIGNATURE_INVALID, "signature invalid", failure)
        with self._lock:
            if self.config.reject_first_token_use > 0:
                self.config.reject_first_token_use -= 1
                if state is not None:
                    state.expires_at = min(state.expires_at, at)
                self.core.stats.incr("forced_token_expiries")
                self.core.stats.incr("token_failures")
                return _gateway_error(TOKEN_EXPIRED, "token expired", "reject_first_token_use")
        return None

    # ----- token service -----

    async def _token_service(self, request: web.Request) -> web.Response:
        """``token/get`` and ``token/refresh``."""
        try:
            token, expire = self._token_reply(await request.read(), request.path.endswith("/refresh"))
        except _TokenError as exc:
            self.core.stats.incr("token_errors")
            return web.json_response({"status": exc.status, "msg": exc.message, "data": None})
        return web.json_response(
            {"status": 0, "msg": "SUCCESS", "data": {"accessToken": token, "expire": expire}}
        )

    def _token_reply(self, raw: bytes, refresh: bool) -> tuple[str, int]:
        invalid = lambda message: _TokenError(PARAMETER_INVALID, f"invalid parameter: {message}")  # noqa: E731
        body = json_object(raw or b"null", invalid, "the body is not JSON")
        names = ("appKey", "encryption", "timestamp", *(("accessToken",) if refresh else ()))
        missing = [name for name in names if body.get(name) in (None, "")]
        if missing:
            raise _TokenError(PARAMETER_INVALID, f"invalid parameter: missing {', '.join(missing)}")
        app_key, encryption = body["appKey"], body["encryption"]
        if not isinstance(app_key, str) or not isinstance(encryption, str):
            raise _TokenError(PARAMETER_INVALID, "invalid parameter: appKey and encryption must be strings")
        stamp = _int_field(body["timestamp"])
        if stamp is None:
            raise _TokenError(PARAMETER_INVALID, "invalid parameter: timestamp must be epoch milliseconds")
        at = now()
        with self._lock:
            secret = self._secret_for(app_key)
            if secret is None:
                raise _TokenError(APP_KEY_UNKNOWN, f"appKey does not exist: {app_key}")
            if abs(ms(at) - stamp) > self.config.timestamp_tolerance_seconds * 1000:
                tolerance = format_retry_after(self.config.timestamp_tolerance_seconds)
                raise _TokenError(
                    TIMESTAMP_INVALID,
                    f"timestamp invalid: more than {tolerance} s away from the server time "
                    "(send epoch milliseconds)",
                )
            text = str(body["timestamp"])
            if not _same(token_encryption(app_key, text, secret), encryption):
                raise _TokenError(ENCRYPTION_INVALID, "encryption invalid")
            used = (app_key, text)
            if used in self._used_timestamps:
                raise _TokenError(ENCRYPTION_REUSED, "encryption reused")
            self._remember(used, at)
            if not refresh:
                self.core.stats.incr("token_gets")
                return self._current_token(app_key, at)
            old = body["accessToken"]
            if (
                not isinstance(old, str)
                or self._current_tokens.get(app_key) != old
                or self._tokens[old].revoked
            ):
                raise _TokenError(TOKEN_INVALID, "token invalid")
            self._tokens[old].revoked = True
            return self._mint(app_key, at, "token_refreshes")

    def _remember(self, used: tuple[str, str], at: float) -> None:
        """Keep used (appKey, timestamp) pairs; those outside the tolerance window are dropped (a
        timestamp that old is refused as 1004 anyway)."""
        if len(self._used_timestamps) > 1000:
            oldest = ms(at) - self.config.timestamp_tolerance_seconds * 1000
            self._used_timestamps = {
                pair for pair in self._used_timestamps if (_int_field(pair[1]) or 0) >= oldest
            }
        self._used_timestamps.add(used)

    # ----- streaming -----

    def _check_org(self, request: web.Request, name: str = "orgId") -> None:
        """The query's ``orgId`` (or ``userId``) must be the configured one: 62101 otherwise."""
        value = request.query.get(name)
        if value != (self.config.org_id if name == "orgId" else self.config.user_id):
            raise _ApiError(
                BAD_USER_OR_ORG, f"invalid {name}: {value!r}" if value else f"invalid {name}: missing"
            )

    def _service(self, action: Callable[[web.Request], Awaitable[Any]]) -> Handler:
        """A handler answering ``action``'s data, or its error, in the service's envelope."""
        return api_handler(action, _ApiError, self._service_error, _envelope)

    def _service_error(self, exc: _ApiError) -> web.Response:
        self.core.stats.incr("errors", str(exc.status))
        return _envelope(None, exc.status, exc.message)

    async def _operate(self, request: web.Request) -> Any:
        self._check_org(request)
        action = request.query.get("action")
        if action not in PIPELINE_ACTIONS:
            raise _ApiError(
                INVALID_ARGUMENT, f"invalid action {action!r}: use one of {', '.join(PIPELINE_ACTIONS)}"
            )
        self.core.stats.incr("actions", action)
        pipeline_id = request.match_info["pipelineId"]
        raw = await request.read()
        at = now()
        with self._lock:
            pipeline = self._pipeline(pipeline_id)
            if action == "start":
                self._start(pipeline, raw, at)
            elif action == "stop":
                self._stop(pipeline, at)
            elif action == "pause":
                self._pause(pipeline, at)
            else:
                self.core.stats.incr("releases" if action == "release" else "saves")
        return ""

    def _start(self, pipeline: Pipeline, raw: bytes, at: float) -> None:
        mode, servers = _start_body(raw)
        starting = [p for p in self._pipelines.values() if p.busy(at) and p.operation == "start"]
        if any(p is pipeline for p in starting) or (self.config.one_start_at_a_time and starting):
            raise _ApiError(START_BUSY, START_BUSY_MESSAGE)
        if self.config.busy_starts > 0:
            self.config.busy_starts -= 1
            raise _ApiError(START_BUSY, START_BUSY_MESSAGE)
        status = pipeline.status(at)
        if status not in STARTABLE or pipeline.busy(at):
            raise _ApiError(CANNOT_START, f"Stream processing job with status [{status}] cannot be started.")
        names = f"{pipeline.pipeline_id} {pipeline.name}".lower()
        if mode == CLUSTER and "nocluster" in names:
            raise _ApiError(
                MODE_NOT_AVAILABLE,
                "Your organization has not requested Cluster processing resource. "
                "Please request the resource and then start the jobs.",
            )
        if servers is not None and servers > self.config.max_servers:
            raise _ApiError(
                RESOURCE_NOT_ENOUGH,
                "Allocated resource is not enough to start a stream processing job. Please check the "
                f"resource configuration. (server {servers} > {self.config.max_servers})",
            )
        final = STOPPED if "crash" in names else RUNNING
        pipeline.change(at, ((status, self.config.start_seconds),), final, "start")
        self.core.stats.incr("starts")
        self.core.stats.incr("starts_by_pipeline", pipeline.pipeline_id)

    def _stop(self, pipeline: Pipeline, at: float) -> None:
        status = pipeline.status(at)
        if pipeline.busy(at) and pipeline.operation == "stop":
            self.core.stats.incr("stops")  # already stopping: accepted, nothing changes (inferred)
            return
        if status not in STOPPABLE or pipeline.busy(at):
            raise _ApiError(CANNOT_CHANGE, f"cannot change from [{status}] to Stopped")
        pipeline.change(at, ((status, self.config.stop_seconds),), STOPPED, "stop")
        self.core.stats.incr("stops")

    def _pause(self, pipeline: Pipeline, at: float) -> None:
        status = pipeline.status(at)
        if status != RUNNING or pipeline.busy(at):
            raise _ApiError(CANNOT_CHANGE, f"cannot change from [{status}] to Paused")
        pipeline.change(at, (), PAUSED, None)
        self.core.stats.incr("pauses")

    async def _list(self, request: web.Request) -> Any:
        self._check_org(request)
        page_size = _page_argument(request, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        page_no = _page_argument(request, "pageNo", 1, None)
        self.core.stats.incr("list_calls")
        at = now()
        with self._lock:
            pipelines = self._ordered_pipelines()
            page = pipelines[(page_no - 1) * page_size : page_no * page_size]
            return {"count": len(pipelines), "pipelines": [p.record(at) for p in page]}

    async def _lag(self, request: web.Request) -> Any:
        self._check_org(request)
        self.core.stats.incr("offset_lag_calls")
        with self._lock:
            return {"lag": self._pipeline(request.match_info["pipelineId"]).lag}

    def _pipeline(self, pipeline_id: str) -> Pipeline:
        pipeline = self._pipelines.get(pipeline_id)
        if pipeline is None:
            raise _ApiError(PIPELINE_NOT_FOUND, "stream processing pipeline does not exit.")
        return pipeline

    def _ordered_pipelines(self) -> list[Pipeline]:
        return sorted(self._pipelines.values(), key=lambda p: p.sequence)

    # ----- batch flows -----

    def _batch_action(self, request: web.Request, *actions: str) -> str:
        """The request's ``action``, one of ``actions`` (counted), of a checked user and organization."""
        self._check_org(request, "userId")
        self._check_org(request)
        action = request.query.get("action")
        if action not in actions:
            raise _ApiError(INVALID_ARGUMENT, f"invalid action {action!r}: use {' or '.join(actions)}")
        self.core.stats.incr("actions", action)
        return action

    async def _trigger(self, request: web.Request) -> Any:
        action = self._batch_action(request, "trigger", "updateAndTrigger")
        body = await _json_object(request)
        flow_id = _int_field(body.get("flowId"))
        if flow_id is None or flow_id < 0:
            raise _ApiError(
                INVALID_ARGUMENT, f"flowId must be a positive integer: got {json.dumps(body.get('flowId'))}"
            )
        if flow_id == 0:
            raise _ApiError(FLOW_HAS_NO_TASK, "flow has no task")
        at = now()
        trigger_time = body.get("triggerTime", ms(at))
        trigger_ms = _int_field(trigger_time)
        if trigger_ms is None or trigger_ms < 0:
            raise _ApiError(
                INVALID_ARGUMENT, f"triggerTime must be epoch milliseconds: got {json.dumps(trigger_time)}"
            )
        parameters: list[dict[str, Any]] = []
        if action == "updateAndTrigger":
            parameters = _flow_parameters(body.get("parameters"))
        outcome, long_running = flow_outcome(flow_id)
        running = self.config.running_seconds * (self.config.long_factor if long_running else 1)
        with self._lock:
            base_id = f"{flow_id}-{datetime.fromtimestamp(trigger_ms / 1000, tz=UTC):%Y%m%d%H%M%S}"
            instance_id = base_id
            suffix = 1
            while instance_id in self._instances:
                suffix += 1
                instance_id = f"{base_id}-{suffix}"
            self._instances[instance_id] = FlowInstance(
                instance_id=instance_id,
                flow_id=flow_id,
                trigger_time=trigger_ms,
                action=action,
                parameters=parameters,
                timeline=Timeline(at, (("INIT", self.config.init_seconds), ("RUNNING", running)), outcome),
                sequence=next(self._sequence),
            )
        self.core.stats.incr("flow_triggers")
        self.core.stats.incr("flow_triggers_by_flow", str(flow_id))
        return {"flowInstanceId": instance_id}

    async def _get_instance(self, request: web.Request) -> Any:
        self._batch_action(request, "get")
        instance_id = request.query.get("flowInstId", "")
        self.core.stats.incr("flow_gets")
        with self._lock:
            return self._instance(instance_id).record(now())

    def _instance(self, instance_id: str) -> FlowInstance:
        instance = self._instances.get(instance_id)
        if instance is None:
            raise _ApiError(FLOW_INTERNAL, f"flow instance not found: {instance_id}")
        return instance

    async def _cancel_instance(self, request: web.Request) -> Any:
        self._batch_action(request, "cancel")
        body = await _json_object(request)
        instance_id = body.get("flowInstId")
        if not isinstance(instance_id, str) or not instance_id:
            raise _ApiError(INVALID_ARGUMENT, "missing field: flowInstId")
        at = now()
        with self._lock:
            instance = self._instance(instance_id)
            status = instance.status(at)
            if status in FLOW_TERMINAL:
                raise _ApiError(
                    FLOW_INTERNAL, f"flow instance {instance_id} has ended ({status}) and cannot be cancelled"
                )
            instance.cancelled_at = at
        self.core.stats.incr("flow_cancels")
        return ""

    # ----- control routes -----

    async def _control_put_pipeline(self, request: web.Request) -> web.Response:
        pipeline_id = request.match_info["pipelineId"]
        try:
            body = await _json_object(request) if request.can_read_body else {}
            record = self._put_described(pipeline_id, body)
        except _ApiError as exc:
            return web.json_response({"error": exc.message}, status=400)
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(record)

    async def _control_token(self, request: web.Request) -> web.Response:
        token, expire = self.issue_token()
        return web.json_response({"accessToken": token, "expire": expire})


def _operates_pipeline(request: web.Request, body: Any) -> bool:
    """``POST .../pipeline/{pipelineId}`` changes the pipeline for every known ``action`` (start, stop,
    pause, release, save); an unknown one is refused without acting."""
    return request.query.get("action") in PIPELINE_ACTIONS


def _start_body(raw: bytes) -> tuple[int, int | None]:
    """(executionMode, resourceConfig.server or None) of a start body; 61100 if it is not valid."""

    def invalid(detail: str) -> _ApiError:
        return _ApiError(CONFIG_INVALID, f"The Stream configuration JSON is invalid. ({detail})")

    body = json_object(raw or b"null", invalid, "the body is not JSON")
    mode = body.get("executionMode")
    if isinstance(mode, bool) or mode not in (STANDALONE, CLUSTER):
        raise invalid(f"executionMode must be 0 (standalone) or 1 (cluster): got {json.dumps(mode)}")
    rate = body.get("kafkaRate")
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
        raise invalid(f"kafkaRate must be a positive integer: got {json.dumps(rate)}")
    resources = body.get("resourceConfig")
    if resources is None:
        return mode, None
    if not isinstance(resources, dict):
        raise invalid("resourceConfig must be a JSON object")
    servers = None
    if resources.get("server") is not None:
        servers = _int_field(resources["server"])
        if servers is None or servers < 1:
            raise invalid(
                f"resourceConfig.server must be a positive number: got {json.dumps(resources['server'])}"
            )
    yarn = resources.get("yarn")
    if yarn is not None and not isinstance(yarn, dict):
        raise invalid("resourceConfig.yarn must be a JSON object")
    advanced = resources.get("advanced")
    if advanced is not None and not (
        isinstance(advanced, list) and all(isinstance(item, dict) and "key" in item for item in advanced)
    ):
        raise invalid('resourceConfig.advanced must be a list of {"key", "value"}')
    return mode, servers


def _page_argument(request: web.Request, name: str, default: int, maximum: int | None) -> int:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    value = _int_field(text)
    if value is None or value < 1 or (maximum is not None and value > maximum):
        limit = f" and at most {maximum}" if maximum is not None else ""
        raise _ApiError(INVALID_ARGUMENT, f"{name} must be a positive integer{limit}: got {text!r}")
    return value


def _flow_parameters(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and isinstance(item.get("key"), str) and item["key"] for item in value
    ):
        raise _ApiError(INVALID_ARGUMENT, 'parameters must be a list of {"key": "<name>", "value": ...}')
    return copy.deepcopy(value)


async def _json_object(request: web.Request) -> dict[str, Any]:
    return json_object(await request.read() or b"null", lambda message: _ApiError(INVALID_ARGUMENT, message))


create_enos_app = EnosEmulator.new_app


class EnosEmulatorHandle(PlatformEmulatorHandle[EnosEmulator, EnosEmulatorConfig]):
    """A running EnOS emulator plus direct control of its state, for tests.

    Its runs are flow instances: :meth:`runs` (``flow_instances``) gives every flow instance's record (as
    ``flowInstances?action=get`` shows it), newest first.
    """

    emulator_class = EnosEmulator
    run_key = "flowInstId"
    flow_instances = PlatformEmulatorHandle.runs
    flow_instance = PlatformEmulatorHandle.run

    def encryption(self, timestamp: int | str, app_key: str | None = None) -> str:
        """The token service's ``encryption`` for ``timestamp`` with the configured key and secret."""
        return token_encryption(app_key or self.config.app_key, timestamp, self.config.app_secret)

    def sign(
        self,
        token: str,
        params: Params = None,
        body: bytes | str | None = None,
        timestamp: int | str | None = None,
    ) -> str:
        """The ``apim-signature`` of a call (``timestamp`` in ms; ``None``: now)."""
        stamp = ms(now()) if timestamp is None else timestamp
        return apim_signature(token, params, body, stamp, self.config.app_secret)

    def signed_headers(
        self, token: str | None = None, params: Params = None, body: bytes | str | None = None
    ) -> dict[str, str]:
        """The three ``apim-*`` headers of a call, signed now (``token=None``: :meth:`issue_token`)."""
        token = token if token is not None else self.issue_token()
        stamp = ms(now())
        return {
            "apim-accesstoken": token,
            "apim-timestamp": str(stamp),
            "apim-signature": self.sign(token, params, body, stamp),
        }

    def issue_token(self) -> str:
        """An access token as ``token/get`` would answer now (the current one while it is valid)."""
        return self.emulator.issue_token()[0]

    pipelines = delegate("pipeline_records", "Every pipeline, in list order, with ``lag`` and ``operation``.")
    pipeline = lookup("pipelines", "pipelineId")
    add_pipeline = delegate(
        "put_pipeline", "Add (or replace) a pipeline, as ``put_pipeline``, until a reset."
    )
