"""FlowEngine (4Paradigm) offline-pipeline API emulator: discover the engine, manage pipelines, run them.

Follows the vendor's "operate offline pipelines through the API" page (12 calls); its error codes,
messages, status words and what stop and resume do are inferred (docs/EMULATORS.md). Errors are
envelopes with a non-zero ``status``, normally under HTTP 200. Runs move by wall clock.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import BodyPartReader, web

from airflow_provider_pipelines.emulators.auth import missing_headers
from airflow_provider_pipelines.emulators.base import ApiError, Emulator
from airflow_provider_pipelines.emulators.cli import HEADER_OPTION, Option
from airflow_provider_pipelines.emulators.faults import FaultOptions
from airflow_provider_pipelines.emulators.handle import PlatformEmulatorHandle, delegate, lookup
from airflow_provider_pipelines.emulators.routes import (
    Handler,
    Middleware,
    Route,
    is_control_path,
    json_object,
    route_errors,
)
from airflow_provider_pipelines.emulators.timeline import Timeline, ms, now

OK_MSG = "后台处理正常"
USER_HEADER = "X-FlowEngine-UserId"

# Canonical status words; ``status_case``, ``status_words`` and ``unknown_status`` change what is sent.
STATUSES = ("init", "running", "success", "failed", "stopping", "stopped")
INIT, RUNNING, SUCCESS, FAILED, STOPPING, STOPPED = STATUSES
TERMINAL = frozenset({SUCCESS, FAILED, STOPPED})
RESUMABLE = frozenset({STOPPED, FAILED})
STATUS_CASES = ("lower", "upper", "title")

# Envelope ``status`` codes of errors (all inferred: the vendor publishes none).
ERR_GENERIC = 1
ERR_UNAUTHORIZED = 401
ERR_NO_ROUTE = 404
ERR_ENGINE_KEY = 1001
ERR_ENGINE_ID = 1002
ERR_RUN_NOT_FOUND = 4004
ERR_CONFLICT = 4009

FIRST_RUN_ID = 100
DEFAULT_PAGE_SIZE = 10
START_NODE_TYPE = "START"
MAX_BODY = 64 * 1024 * 1024
NOT_FOUND = "接口不存在 (not found: {path})"


@dataclass
class FlowEngineEmulatorConfig(FaultOptions):
    """Settings of a FlowEngine emulator; timings in seconds. Read live: tests may change it between requests.

    ``user_id``: the only ``X-FlowEngine-UserId`` accepted. ``required_headers``: more headers every API
    request must carry (a gateway's ``Cookie`` or ``Access-Key``). Either missing: HTTP 401.
    ``engine_key`` / ``engine_path`` / ``engine_id``: what discovery answers and what later calls must use.
    ``init_seconds`` / ``running_seconds``: a run's phases (``running_seconds`` times ``long_factor`` for a
    pipeline whose name contains ``long``); ``stop_seconds``: how long a stopped run is ``stopping``.
    Timings are read when a run starts, stops or resumes.
    ``start_reply_has_id``: ``False`` makes a run start answer ``data: null`` (find the run in the history).
    ``status_case`` (``lower``, ``upper``, ``title``), ``status_words`` (canonical word -> word sent, e.g.
    ``{"success": "FINISHED"}``) and ``unknown_status`` (sent instead of ``running`` for a run) change the
    status vocabulary, read at every reply. ``string_status``: the envelope's ``status`` as a string.
    ``serves_run_get``: ``False`` answers the run's ``GET …/pipeline/{historyId}/get`` (a vendor-SDK call
    that the vendor's API page does not list) as an unknown route does: HTTP 404 with an error envelope,
    for every run. Runs can then be read only through ``historyList``.
    """

    user_id: str = "1"
    required_headers: dict[str, str] | None = None
    engine_key: str = "emulator-engine"
    engine_path: str = "/engine/15/cess-data-3"
    engine_id: int = 6
    init_seconds: float = 0.5
    running_seconds: float = 2.0
    stop_seconds: float = 0.2
    long_factor: float = 100.0
    start_reply_has_id: bool = True
    status_case: str = "lower"
    status_words: dict[str, str] | None = None
    unknown_status: str | None = None
    string_status: bool = False
    serves_run_get: bool = True

    def __post_init__(self) -> None:
        if self.status_case not in STATUS_CASES:
            raise ValueError(
                f"status_case must be one of {', '.join(STATUS_CASES)}: got {self.status_case!r}"
            )


class EnvelopeError(ApiError):
    """Answered as ``{"status": status, "msg": msg, "data": null}`` with HTTP ``http`` (200 by default)."""

    def __init__(self, status: int, msg: str, http: int = 200) -> None:
        super().__init__(status, msg)
        self.http = http


def _generic(msg: str) -> EnvelopeError:
    """The engine's generic error (status 1), for what a request gets wrong."""
    return EnvelopeError(ERR_GENERIC, msg)


def _engine_path(path: str) -> str:
    """``"engine/15/x/"`` -> ``"/engine/15/x"``; ``""`` or ``"/"`` -> ``""`` (the engine at the root)."""
    stripped = path.strip("/")
    return f"/{stripped}" if stripped else ""


def _node(node_id: str, name: str, title: str, node_type: str) -> dict[str, Any]:
    """A node in the shape of the vendor's template example (fewer null fields)."""
    return {
        "id": None,
        "runId": None,
        "name": name,
        "engineTemplateId": None,
        "indexType": "DAG",
        "params": None,
        "executionConfig": None,
        "desc": None,
        "type": node_type,
        "nodeId": node_id,
        "title": title,
        "status": "INITIALIZED",
        "inputSlots": None,
        "outputSlots": [],
        "isStartNode": node_type == START_NODE_TYPE,
    }


def default_execution_config(cron: str | None = None) -> dict[str, Any]:
    return {
        "runMode": "SINGLE",
        "cronExpression": cron,
        "interval": 0,
        "intervalUnit": "MINUTE",
        "isManual": None,
        "trigger": None,
        "retryCount": None,
        "timeOut": None,
        "startAt": None,
    }


def _template_data(name: str, describe: str, nodes: list[dict[str, Any]], cron: str | None) -> dict[str, Any]:
    ids = [node["nodeId"] for node in nodes]
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "describe": describe,
        "nodes": nodes,
        "edges": [{"source": a, "target": b} for a, b in itertools.pairwise(ids)],
        "status": "init",
        "layout": "",
        "executionConfig": default_execution_config(cron),
        "openMsgTopicConfig": {},
        "pipelineParams": None,
    }


def seeded_templates() -> list[tuple[str, dict[str, Any]]]:
    """``(pipelineKey, data)`` of the pipelines every emulator starts (and resets) with: ids 1 and 2."""
    start = _node("start_node", "start", "开始", START_NODE_TYPE)
    daily = [
        start,
        _node("node_sql", "feature_sql", "特征SQL", "SQL"),
        _node("node_train", "train_model", "模型训练", "TRAIN"),
    ]
    failing = [copy.deepcopy(start), _node("node_bad", "bad_step", "失败步骤", "SQL")]
    return [
        (
            "daily_features",
            _template_data("daily_features", "每日特征 (daily features)", daily, "0 0 2 * * ?"),
        ),
        ("always_fail", _template_data("always_fail", "总是失败 (always fails)", failing, None)),
    ]


@dataclass
class Pipeline:
    id: int
    engine_template_id: int
    pipeline_key: str
    data: dict[str, Any]
    create_time: int
    update_time: int
    cron_enabled: bool = False

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))

    def node_ids(self) -> list[str]:
        return [str(node["nodeId"]) for node in self.data["nodes"]]

    def detail(self) -> dict[str, Any]:
        """The ``06 get`` shape, as the vendor's template example (also the body ``07 update`` takes)."""
        return {
            "id": self.id,
            "engineTemplateId": self.engine_template_id,
            "data": copy.deepcopy(self.data),
            "jobKey": None,
            "tiggerKey": None,
            "historyList": None,
            "createTime": self.create_time,
            "pipelineKey": self.pipeline_key,
        }


@dataclass
class RunNode:
    node_id: str
    name: str
    is_start: bool


@dataclass
class Run:
    """One pipeline run (a history record); its status follows ``timeline``, replaced on stop and resume."""

    id: int
    pipeline_id: int
    params: dict[str, Any]
    nodes: list[RunNode]
    created: float
    timeline: Timeline
    outcome: str
    is_long: bool

    def status(self, at: float) -> str:
        return self.timeline.state_at(at)

    def failing_index(self) -> int:
        """The node that fails a failing run: the last node that is not a START node."""
        for index in range(len(self.nodes) - 1, -1, -1):
            if not self.nodes[index].is_start:
                return index
        return len(self.nodes) - 1

    def node_statuses(self, status: str) -> list[tuple[RunNode, str, str]]:
        """``(node, canonical status, msg)`` of every node while the run is in ``status``."""
        failing = self.failing_index() if status == FAILED else -1
        rows = []
        for index, node in enumerate(self.nodes):
            msg = ""
            if status == INIT:
                state = INIT
            elif status in (SUCCESS, FAILED):
                state = SUCCESS if index != failing else FAILED
                if index == failing:
                    msg = f"Simulated failure in {node.name}: the task exited with code 1"
            elif node.is_start:
                state = SUCCESS
            else:
                state = status  # running, stopping, stopped
            rows.append((node, state, msg))
        return rows


class FlowEngineEmulator(Emulator[FlowEngineEmulatorConfig]):
    """In-memory FlowEngine engine: pipelines, runs and uploads; builds the aiohttp application."""

    name = "flowengine"
    cli_options = (
        Option("user_id", help="the accepted X-FlowEngine-UserId"),
        Option("engine_key"),
        Option("engine_path", help="what discovery answers as data.url"),
        Option("engine_id"),
        Option("init_seconds"),
        Option("running_seconds"),
        Option("stop_seconds"),
        Option("long_factor"),
        Option(
            "start_reply_has_id",
            "--no-start-reply-id",
            help="a run start answers data: null (find it in the history)",
        ),
        Option("status_case", choices=STATUS_CASES),
        Option(
            "status_words",
            "--status-word",
            help=f"send WORD for a status among {','.join(STATUSES)} (repeatable), e.g. success=FINISHED",
            metavar="STATUS=WORD",
            repeat=True,
            convert=lambda items: _status_words(items),
        ),
        Option("unknown_status", help="send this instead of 'running' for a run"),
        Option("string_status", help="send the envelope's status as a string"),
        Option(
            "serves_run_get",
            "--no-run-get",
            help="answer GET .../pipeline/{historyId}/get with HTTP 404, as an engine without it",
        ),
        HEADER_OPTION,
    )
    counters = (
        "engine_info_calls",
        "engine_param_calls",
        "pipelines_created",
        "pipelines_updated",
        "uploads",
        "schedule_changes",
        "starts",
        "run_stops",
        "resumes",
    )
    keyed_counters = ("starts_by_pipeline", "envelope_errors")
    control_views = {"runs": "run_records", "pipelines": "pipelines", "uploads": "uploads"}
    client_max_size = MAX_BODY
    # Every engine route is served under any path and checks it against the live ``engine_path``.
    prefixes = ("/{engine_prefix:.+}", "")

    def clear_state(self) -> None:
        """The two seeded pipelines, no runs or uploads; pipeline ids go on at 3, run ids at 100."""
        self._pipelines: dict[int, Pipeline] = {}
        self._runs: dict[int, Run] = {}
        self._uploads: list[dict[str, Any]] = []
        self._next_pipeline_id = 1
        self._next_run_id = FIRST_RUN_ID
        self._seed_pipelines()

    # ----- Python API (also used by the control routes) -----

    def _seed_pipelines(self) -> None:
        created = ms(now())
        for key, data in seeded_templates():
            self._add_pipeline(key, data, created)

    def _add_pipeline(self, key: str, data: dict[str, Any], created: int) -> Pipeline:
        pipeline_id = self._next_pipeline_id
        self._next_pipeline_id += 1
        pipeline = Pipeline(pipeline_id, 1000 + pipeline_id, key, data, created, created)
        self._pipelines[pipeline_id] = pipeline
        return pipeline

    def pipelines(self) -> list[dict[str, Any]]:
        """Every pipeline's detail (as ``06 get``) plus ``cronEnabled``, by id."""
        with self._lock:
            return [
                {**pipeline.detail(), "cronEnabled": pipeline.cron_enabled}
                for pipeline in self._pipelines.values()
            ]

    def run_records(self) -> list[dict[str, Any]]:
        """Every run's record, newest first (as the history shows them)."""
        at = now()
        with self._lock:
            return [self._record(run, at) for run in sorted(self._runs.values(), key=lambda r: -r.id)]

    def uploads(self) -> list[dict[str, Any]]:
        """Every uploaded file: ``fileName``, ``path``, ``size``, ``sha256``, oldest first."""
        with self._lock:
            return copy.deepcopy(self._uploads)

    # ----- status vocabulary -----

    def word(self, status: str, run_level: bool = True) -> str:
        """The word sent for a canonical status under the current config."""
        config = self.config
        if run_level and status == RUNNING and config.unknown_status is not None:
            return config.unknown_status
        words = {key.lower(): value for key, value in (config.status_words or {}).items()}
        if status in words:
            return words[status]
        if config.status_case == "upper":
            return status.upper()
        if config.status_case == "title":
            return status.title()
        return status

    def _record(self, run: Run, at: float, status: str | None = None) -> dict[str, Any]:
        state = run.status(at) if status is None else status
        changed = run.created if status is not None else run.timeline.changed_at(at)
        created = ms(run.created)

        def since(moment: float) -> int:  # offsets from the creation are rounded, so 0.35 s is 350 ms exactly
            return created + ms(moment - run.created)

        return {
            "id": run.id,
            "pipelineId": run.pipeline_id,
            "status": self.word(state),
            "createTime": created,
            "updateTime": since(changed),
            "endTime": since(run.timeline.ends_at()) if state in TERMINAL else None,
            "params": copy.deepcopy(run.params),
            "nodes": [
                {
                    "nodeId": node.node_id,
                    "name": node.name,
                    "status": self.word(node_state, False),
                    "msg": msg,
                }
                for node, node_state, msg in run.node_statuses(state)
            ],
        }

    def _summary(self, pipeline: Pipeline, at: float) -> dict[str, Any]:
        runs = [run for run in self._runs.values() if run.pipeline_id == pipeline.id]
        status = self.word(max(runs, key=lambda r: r.id).status(at)) if runs else self.word(INIT, False)
        return {
            "id": pipeline.id,
            "name": pipeline.name,
            "describe": pipeline.data.get("describe"),
            "pipelineKey": pipeline.pipeline_key,
            "status": status,
            "cronEnabled": pipeline.cron_enabled,
            "createTime": pipeline.create_time,
        }

    # ----- envelopes -----

    def _envelope(self, status: int, msg: str, data: Any, http: int = 200) -> web.Response:
        code: int | str = str(status) if self.config.string_status else status
        body = json.dumps({"status": code, "msg": msg, "data": data}, ensure_ascii=False)
        return web.Response(status=http, text=body, content_type="application/json")

    def _error(self, exc: EnvelopeError) -> web.Response:
        self.core.stats.incr("envelope_errors", str(exc.status))
        return self._envelope(exc.status, exc.message, None, exc.http)

    # ----- application -----

    def routes(self) -> list[Route]:
        info = "/engine-manager/v1/k8s/info"
        routes = [
            Route(
                "GET", path, self._api(self._engine_info, engine_route=False), "engine_info", prefixes=("",)
            )
            for path in (info + "/", info)
        ]
        pipeline = "/kernel/v1/pipeline"
        template = pipeline + "/template/{engine_id}"
        schedule_off = pipeline + "/{engine_id}/{pipeline_id}/stop"
        stop_run = partial(self._change_run, change=self._stop)
        resume_run = partial(self._change_run, change=self._resume)
        # (method, path, handler, name, mutation): mutations create, upload, update, start, stop or
        # resume (random lost replies apply to them only).
        table: list[tuple[str, str, Callable[[web.Request], Awaitable[Any]], str, bool]] = [
            ("GET", "/kernel/v1/system/getParam", self._engine_param, "engine_param", False),
            ("POST", template + "/create", self._create_pipeline, "create_pipeline", True),
            ("POST", "/kernel/v1/template/uploadJobFileParam/1", self._upload, "upload_job_file", True),
            ("GET", pipeline + "/{engine_id}/list", self._list_pipelines, "list_pipelines", False),
            ("GET", template + "/{pipeline_id}/get", self._get_pipeline, "get_pipeline", False),
            ("PUT", template + "/update", self._update_pipeline, "update_pipeline", True),
            ("POST", pipeline + "/{engine_id}/{pipeline_id}/start", self._start, "start_pipeline", True),
            ("POST", schedule_off, self._stop_schedule, "stop_schedule", True),
            ("DELETE", schedule_off, self._stop_schedule, "stop_schedule", True),
            ("GET", pipeline + "/{pipeline_id}/historyList", self._history_list, "history_list", False),
            ("DELETE", pipeline + "/{run_id}/stopHistory", stop_run, "stop_run", True),
            ("POST", pipeline + "/{run_id}/resumeHistory", resume_run, "resume_run", True),
            ("GET", pipeline + "/{run_id}/get", self._get_run, "get_run", False),
        ]
        return routes + [
            Route(method, path, self._api(handler, key_optional=name == "upload_job_file"), name, mutation)
            for method, path, handler, name, mutation in table
        ]

    def middlewares(self) -> list[Middleware]:
        # Unknown routes and wrong methods answer envelopes with HTTP 404 / 405.
        errors = route_errors(
            lambda status, message: self._error(EnvelopeError(status, message, status)),
            "请求方法不支持 (method not allowed: {method} {path}; use {allowed})",
            NOT_FOUND,
        )
        return [errors, self._auth_middleware]

    @web.middleware
    async def _auth_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_control_path(request.path):
            return await handler(request)
        missing = []
        if request.headers.get(USER_HEADER) != str(self.config.user_id):
            missing.append(USER_HEADER)
        missing += missing_headers(request, self.config.required_headers)
        if missing:
            message = f"用户未登录 (unauthorized: missing or wrong {', '.join(missing)})"
            return self._error(EnvelopeError(ERR_UNAUTHORIZED, message, 401))
        return await handler(request)

    def _api(
        self,
        handler: Callable[[web.Request], Awaitable[Any]],
        engine_route: bool = True,
        key_optional: bool = False,
    ) -> Handler:
        """Wrap a handler returning ``data``: engine path and engineKey checks, then the envelope."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                if engine_route:
                    self._check_engine_path(request)
                self._check_engine_key(request, key_optional)
                if "engine_id" in request.match_info:  # a template or pipeline route names the engine
                    self._check_engine_id(request.match_info["engine_id"])
                data = await handler(request)
            except EnvelopeError as exc:
                return self._error(exc)
            return self._envelope(0, OK_MSG, data)

        return wrapped

    def _check_engine_path(self, request: web.Request) -> None:
        prefix = request.match_info.get("engine_prefix")
        actual = "" if prefix is None else _engine_path(prefix)
        if actual != _engine_path(self.config.engine_path):
            raise EnvelopeError(ERR_NO_ROUTE, NOT_FOUND.format(path=request.path), 404)

    def _check_engine_key(self, request: web.Request, optional: bool) -> None:
        key = request.query.get("engineKey")
        if key is None and optional:
            return
        if key != self.config.engine_key:
            shown = "missing" if key is None else repr(key)
            raise EnvelopeError(ERR_ENGINE_KEY, f"engineKey 无效 (engineKey invalid: {shown})")

    def _check_engine_id(self, text: str | None) -> None:
        if text is None:
            raise EnvelopeError(ERR_ENGINE_ID, "engineId 缺失 (engineId missing)")
        if text.strip() != str(self.config.engine_id):
            raise EnvelopeError(ERR_ENGINE_ID, f"engineId {text} 无效 (engineId invalid)")

    def _pipeline(self, text: str) -> Pipeline:
        pipeline = self._pipelines.get(_int_id(text, "pipelineId"))
        if pipeline is None:
            raise _generic(f"pipeline {text} 不存在 (not found)")
        return pipeline

    def _run(self, text: str) -> Run:
        run = self._runs.get(_int_id(text, "pipelineRunId"))
        if run is None:
            raise EnvelopeError(ERR_RUN_NOT_FOUND, f"运行记录 {text} 不存在 (run not found)")
        return run

    # ----- discovery -----

    async def _engine_info(self, request: web.Request) -> Any:
        self.core.stats.incr("engine_info_calls")
        return {
            "url": _engine_path(self.config.engine_path),
            "engineKey": self.config.engine_key,
            "engineName": "flowengine-emulator",
            "namespace": _engine_path(self.config.engine_path).rsplit("/", 1)[-1],
        }

    async def _engine_param(self, request: web.Request) -> Any:
        self.core.stats.incr("engine_param_calls")
        return {
            "engineId": self.config.engine_id,
            "engineKey": self.config.engine_key,
            "engineName": "flowengine-emulator",
            "version": "emulator",
        }

    # ----- pipelines -----

    async def _create_pipeline(self, request: web.Request) -> Any:
        key, data = _parse_template(await _json_object(request))
        at = ms(now())
        with self._lock:
            self._check_key_free(key, None)
            data["id"] = str(uuid.uuid4())
            pipeline = self._add_pipeline(key, data, at)
            self.core.stats.incr("pipelines_created")
            return pipeline.detail()

    def _check_key_free(self, key: str, pipeline_id: int | None) -> None:
        for other in self._pipelines.values():
            if other.pipeline_key == key and other.id != pipeline_id:
                raise _generic(f"pipelineKey {key} 已存在 (already exists: pipeline {other.id})")

    async def _list_pipelines(self, request: web.Request) -> Any:
        at = now()
        with self._lock:
            return [self._summary(pipeline, at) for pipeline in self._pipelines.values()]

    async def _get_pipeline(self, request: web.Request) -> Any:
        with self._lock:
            return self._pipeline(request.match_info["pipeline_id"]).detail()

    async def _update_pipeline(self, request: web.Request) -> Any:
        body = await _json_object(request)
        raw_id = body.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, int | str) or not str(raw_id).strip():
            raise _generic("id 缺失 (the body needs the pipeline's id, as 06 get returns it)")
        pipeline_id = _int_id(str(raw_id), "id")
        key, data = _parse_template(body)
        with self._lock:
            pipeline = self._pipelines.get(pipeline_id)
            if pipeline is None:
                raise EnvelopeError(
                    ERR_CONFLICT, f"pipeline {pipeline_id} 不存在, 无法修改 (conflict: unknown id)"
                )
            self._check_key_free(key, pipeline_id)
            data["id"] = pipeline.data.get("id") or str(uuid.uuid4())
            pipeline.pipeline_key, pipeline.data, pipeline.update_time = key, data, ms(now())
            self.core.stats.incr("pipelines_updated")
            return pipeline.detail()

    async def _upload(self, request: web.Request) -> Any:
        no_file = _generic("缺少文件参数 file (no multipart 'file' part)")
        if not request.content_type.startswith("multipart/"):
            raise no_file
        try:
            reader = await request.multipart()
            found: dict[str, Any] | None = None
            while (part := await reader.next()) is not None:
                if found is None and isinstance(part, BodyPartReader) and part.name == "file":
                    digest, size = hashlib.sha256(), 0
                    while chunk := await part.read_chunk():
                        digest.update(chunk)
                        size += len(chunk)
                    name = (part.filename or "file").replace("\\", "/").rsplit("/", 1)[-1] or "file"
                    found = {"fileName": name, "size": size, "sha256": digest.hexdigest()}
                else:
                    await part.release()
        except (ValueError, AssertionError) as exc:
            raise _generic(f"文件上传失败 (bad multipart body: {exc})") from None
        if found is None:
            raise no_file
        found["path"] = f"/jobfiles/{uuid.uuid4()}/{found['fileName']}"
        with self._lock:
            self._uploads.append(dict(found))
        self.core.stats.incr("uploads")
        return {"fileName": found["fileName"], "path": found["path"], "size": found["size"]}

    # ----- schedule and runs -----

    async def _start(self, request: web.Request) -> Any:
        once = request.query.get("once", "true").strip().lower()
        if once not in ("true", "false"):
            raise _generic(f"once 无效 (once must be true or false: got {once!r})")
        if once == "false":
            await request.read()  # {"data": " "}: not checked
            return self._set_schedule(request.match_info["pipeline_id"], True)
        body = await _json_object(request, empty_ok=True)
        at = now()
        with self._lock:
            pipeline = self._pipeline(request.match_info["pipeline_id"])
            known = pipeline.node_ids()
            for node_id, params in body.items():
                if node_id not in known:
                    raise _generic(
                        f"节点 {node_id} 不存在 (unknown nodeId {node_id!r} for pipeline {pipeline.id}: "
                        f"use {', '.join(known)})",
                    )
                if not isinstance(params, dict):
                    raise _generic(
                        f"节点 {node_id} 的参数无效 (the parameters of {node_id!r} must be an object)",
                    )
            lowered = pipeline.name.lower()
            is_long = "long" in lowered
            running = self._running_seconds(is_long)
            outcome = FAILED if "fail" in lowered else SUCCESS
            run = Run(
                id=self._next_run_id,
                pipeline_id=pipeline.id,
                params=copy.deepcopy(body),
                nodes=[
                    RunNode(
                        str(node["nodeId"]),
                        str(node.get("name") or node.get("title") or node["nodeId"]),
                        str(node.get("type", "")).upper() == START_NODE_TYPE,
                    )
                    for node in pipeline.data["nodes"]
                ],
                created=at,
                timeline=Timeline(at, ((INIT, self.config.init_seconds), (RUNNING, running)), outcome),
                outcome=outcome,
                is_long=is_long,
            )
            self._next_run_id += 1
            self._runs[run.id] = run
            self.core.stats.incr("starts")
            self.core.stats.incr("starts_by_pipeline", str(pipeline.id))
            if not self.config.start_reply_has_id:
                return None
            # The start reply shows the run as running (as third-party scripts see it), even while init.
            return self._record(run, at, status=RUNNING)

    def _running_seconds(self, is_long: bool) -> float:
        return self.config.running_seconds * (self.config.long_factor if is_long else 1.0)

    async def _stop_schedule(self, request: web.Request) -> Any:
        await request.read()
        return self._set_schedule(request.match_info["pipeline_id"], False)

    def _set_schedule(self, pipeline_text: str, enabled: bool) -> Any:
        with self._lock:
            pipeline = self._pipeline(pipeline_text)
            pipeline.cron_enabled = enabled
            self.core.stats.incr("schedule_changes")
            return self._summary(pipeline, now())

    async def _history_list(self, request: web.Request) -> Any:
        self._check_engine_id(request.query.get("engineId"))
        page = _positive(request.query.get("page"), "page", 1)
        size = _positive(request.query.get("size"), "size", DEFAULT_PAGE_SIZE)
        at = now()
        with self._lock:
            pipeline = self._pipeline(request.match_info["pipeline_id"])
            runs = sorted(
                (r for r in self._runs.values() if r.pipeline_id == pipeline.id), key=lambda r: -r.id
            )
            chosen = runs[(page - 1) * size : page * size]
            return {
                "list": [self._record(run, at) for run in chosen],
                "total": len(runs),
                "page": page,
                "size": size,
            }

    async def _get_run(self, request: web.Request) -> Any:
        if not self.config.serves_run_get:
            raise EnvelopeError(ERR_NO_ROUTE, NOT_FOUND.format(path=request.path), 404)
        at = now()
        with self._lock:
            return self._record(self._run(request.match_info["run_id"]), at)

    async def _change_run(self, request: web.Request, change: Callable[[Run, str, float], None]) -> Any:
        """``change(run, its status, now)`` on the request's run; the run's record after it."""
        self._check_engine_id(request.query.get("engineId"))
        at = now()
        with self._lock:
            run = self._run(request.match_info["run_id"])
            change(run, run.status(at), at)
            return self._record(run, at)

    def _stop(self, run: Run, status: str, at: float) -> None:
        if status in TERMINAL:
            raise _generic(f"运行记录 {run.id} 已结束 (run already finished: {self.word(status)})")
        if status != STOPPING:  # stopping again is accepted and changes nothing
            run.timeline = Timeline(at, ((STOPPING, self.config.stop_seconds),), STOPPED)
            self.core.stats.incr("run_stops")

    def _resume(self, run: Run, status: str, at: float) -> None:
        if status not in RESUMABLE:
            raise _generic(
                f"运行记录 {run.id} 无法重启 (only a stopped or failed run can be resumed: "
                f"run is {self.word(status)})",
            )
        run.timeline = Timeline(at, ((RUNNING, self._running_seconds(run.is_long)),), run.outcome)
        self.core.stats.incr("resumes")


def _int_id(text: str, what: str) -> int:
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        raise _generic(f"{what} {text} 无效 (invalid {what}: not an integer)")
    return int(text)


def _positive(text: str | None, what: str, default: int) -> int:
    if text is None or text == "":
        return default
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise _generic(f"{what} 无效 ({what} must be a positive integer: got {text!r})")
    return int(text)


async def _json_object(request: web.Request, empty_ok: bool = False) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip() and empty_ok:
        return {}
    not_json = "请求体不是合法的 JSON (the body is not valid JSON)"
    not_object = "请求体必须是 JSON 对象 (the body must be a JSON object)"
    return json_object(raw, _generic, not_json, not_object)


def _parse_template(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(pipelineKey, data)`` of a create or update body; ``EnvelopeError`` naming what is wrong."""
    data = body.get("data")
    if not isinstance(data, dict):
        raise _generic("data 缺失 (the template needs a 'data' object)")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _generic("data.name 缺失 (the template needs data.name, a non-empty string)")
    nodes = data.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        raise _generic("data.nodes 缺失 (the template needs data.nodes, a non-empty list)")
    seen: set[str] = set()
    for node in nodes:
        node_id = node.get("nodeId") if isinstance(node, dict) else None
        if not isinstance(node_id, str) or not node_id:
            raise _generic("节点缺少 nodeId (every node needs a nodeId, a non-empty string)")
        if node_id in seen:
            raise _generic(f"节点 {node_id} 重复 (duplicate nodeId {node_id!r})")
        seen.add(node_id)
    edges = data.get("edges", [])
    if edges is not None and not isinstance(edges, list):
        raise _generic("data.edges 无效 (data.edges must be a list)")
    execution = data.get("executionConfig")
    if execution is not None and not isinstance(execution, dict):
        raise _generic("data.executionConfig 无效 (data.executionConfig must be an object)")
    key = body.get("pipelineKey", name)
    if not isinstance(key, str) or not key.strip():
        raise _generic("pipelineKey 无效 (pipelineKey must be a non-empty string)")
    data = copy.deepcopy(data)
    data.setdefault("describe", "")
    data["edges"] = data.get("edges") or []
    data["executionConfig"] = data.get("executionConfig") or default_execution_config()
    return key, data


create_flowengine_app = FlowEngineEmulator.new_app


class FlowEngineEmulatorHandle(PlatformEmulatorHandle[FlowEngineEmulator, FlowEngineEmulatorConfig]):
    """A running FlowEngine emulator plus direct control of its state, for tests."""

    emulator_class = FlowEngineEmulator
    run_key = "id"

    @property
    def engine_url(self) -> str:
        """``url`` + the engine's path: the base of every call after discovery."""
        return self.url + _engine_path(self.config.engine_path)

    @property
    def headers(self) -> dict[str, str]:
        """The headers every API request needs under the current config."""
        return {USER_HEADER: str(self.config.user_id), **(self.config.required_headers or {})}

    pipelines = delegate("pipelines", "Every pipeline's detail (as ``06 get``) plus ``cronEnabled``, by id.")
    pipeline = lookup("pipelines", "id")
    uploads = delegate("uploads", "Every uploaded file (``fileName``, ``path``, ``size``, ``sha256``).")


def _status_words(items: list[str]) -> dict[str, str] | None:
    """``["success=FINISHED"]`` -> ``{"success": "FINISHED"}`` (``--status-word``); ``None`` for none."""
    pairs = [item.partition("=") for item in items]
    for item, (status, sep, word) in zip(items, pairs, strict=True):
        if not sep or status.strip().lower() not in STATUSES or not word:
            raise ValueError(
                f"--status-word needs STATUS=WORD with STATUS among {', '.join(STATUSES)}: {item!r}"
            )
    return {status.strip().lower(): word for status, _, word in pairs} or None
