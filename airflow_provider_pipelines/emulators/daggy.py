"""Daggy (``daggyd``) REST API emulator: submit, validate, watch, kill and re-queue DAG runs.

Follows daggyd's endpoint table and examples; where they are silent, the choices are in
docs/EMULATORS.md. Runs move by a discrete-event simulation over the wall clock, brought up to date by
each request, so timestamps are exact whatever the polling rate.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from airflow_provider_pipelines.emulators.auth import missing_headers
from airflow_provider_pipelines.emulators.base import ApiError, Emulator
from airflow_provider_pipelines.emulators.cli import HEADER_OPTION, Option
from airflow_provider_pipelines.emulators.faults import FaultOptions
from airflow_provider_pipelines.emulators.handle import PlatformEmulatorHandle
from airflow_provider_pipelines.emulators.routes import (
    Handler,
    Middleware,
    Route,
    api_handler,
    is_control_path,
)

QUEUED, RUNNING, COMPLETED, ERRORED, KILLED = "QUEUED", "RUNNING", "COMPLETED", "ERRORED", "KILLED"
STATES = (QUEUED, RUNNING, COMPLETED, ERRORED, KILLED, "RETRY", "PAUSED")
TERMINAL = frozenset({COMPLETED, ERRORED, KILLED})
REQUEUEABLE = frozenset({ERRORED, KILLED})
READY_MESSAGE = "Ya like DAGs?"
KILLED_RC = -1
NS = 1_000_000_000
_PARAMETER = re.compile(r"\{\{([^{}]+)\}\}")
_WORD_SPLIT = re.compile(r"[^0-9a-z]+")
_RUN_ID = re.compile(r"-?[0-9]+")
MAX_TASKS = 10_000  # after expansion: a guard against a huge parameter cross product


@dataclass
class DaggyEmulatorConfig(FaultOptions):
    """Settings of a Daggy emulator; timings in seconds. Read live: tests may change it between requests.

    ``queued_seconds``: how long a submitted (or re-queued) run stays QUEUED before RUNNING.
    ``task_seconds``: how long one task attempt runs (times ``long_factor`` for ``sleep``/``long`` commands).
    ``required_headers``: headers every ``/ready`` and ``/v1`` request must carry (daggyd itself has no
    authentication: this stands for a proxy in front of it).
    ``output_log_bytes``: the ``outputLog`` of every attempt that ends is padded with filler lines to at
    least this many bytes (0: just its ``Echoing`` line); it makes large run documents cheaply, for
    benchmarks. Read when an attempt ends.
    """

    queued_seconds: float = 0.5
    task_seconds: float = 1.0
    long_factor: float = 100.0
    required_headers: dict[str, str] | None = None
    output_log_bytes: int = 0


class DagError(Exception):
    """An invalid DAG: answered 400 ``{"error": reason}``."""


class _ApiError(ApiError):
    """Answered as ``{"error": message}`` with that HTTP status."""


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


def _ns(seconds: float) -> int:
    return round(seconds * NS)


def _now_ns() -> int:
    return time.time_ns()


_FILLER_LINE = "filler: " + "x" * 55 + "\n"  # 64 bytes


@functools.lru_cache(maxsize=8)
def _filler(size: int) -> str:
    """At least ``size`` bytes of filler lines (one string per size, shared by every attempt)."""
    return _FILLER_LINE * -(-size // len(_FILLER_LINE)) if size > 0 else ""


# ----- DAG parsing and expansion -----


@dataclass(frozen=True)
class ExpandedDag:
    """A valid DAG after parameter expansion: ``tasks`` maps final names to daggyd-shaped definitions."""

    tag: str
    tasks: dict[str, dict[str, Any]]


def parse_dag(raw: bytes | str) -> ExpandedDag:
    """Validate and expand a DAG document; raises :class:`DagError` with the reason."""
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise DagError(f"Invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise DagError("The DAG must be a JSON object with 'tasks'")
    tag = body.get("tag", "")
    if not isinstance(tag, str):
        raise DagError("'tag' must be a string")
    parameters = _parse_parameters(body.get("parameters"))
    raw_tasks = body.get("tasks")
    if not isinstance(raw_tasks, dict) or not raw_tasks:
        raise DagError("The DAG has no tasks")

    expansions: dict[str, list[str]] = {}
    tasks: dict[str, dict[str, Any]] = {}
    edges: list[tuple[str, str, str]] = []  # (task as written, "children" | "parents", other name)
    for name, spec in raw_tasks.items():
        if not name:
            raise DagError("Task names must not be empty")
        definition, commands = _parse_task(name, spec, parameters)
        names = [name] if len(commands) == 1 else [f"{name}_{index}" for index in range(len(commands))]
        expansions[name] = names
        for task_name, command in zip(names, commands, strict=True):
            if task_name in tasks:
                raise DagError(f"Duplicate task name '{task_name}' after parameter expansion")
            if len(tasks) >= MAX_TASKS:
                raise DagError(f"The DAG expands to more than {MAX_TASKS} tasks")
            expanded = copy.deepcopy(definition)
            expanded["job"]["command"] = command
            tasks[task_name] = expanded
        for relation in ("children", "parents"):
            edges.extend((name, relation, other) for other in definition[relation])
    _link(tasks, expansions, edges)
    _check_acyclic(tasks)
    return ExpandedDag(tag, tasks)


def _parse_parameters(value: Any) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DagError("'parameters' must be a JSON object of names to a string or a list of strings")
    parameters: dict[str, list[str]] = {}
    for name, values in value.items():
        if isinstance(values, str):
            parameters[name] = [values]
        elif isinstance(values, list) and values and all(isinstance(v, str) for v in values):
            parameters[name] = list(values)
        else:
            raise DagError(f"Parameter '{name}' must be a string or a non-empty list of strings")
    return parameters


def _parse_task(
    name: str, spec: Any, parameters: dict[str, list[str]]
) -> tuple[dict[str, Any], list[list[str]]]:
    """The task's normalised definition and its expanded commands (one per expansion)."""
    if not isinstance(spec, dict):
        raise DagError(f"Task '{name}' must be a JSON object")
    job = spec.get("job")
    command = job.get("command") if isinstance(job, dict) else None
    if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
        raise DagError(f"Task '{name}' has no job.command (a non-empty list of strings)")
    assert isinstance(job, dict)
    max_retries = spec.get("maxRetries", 0)
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise DagError(f"Task '{name}': 'maxRetries' must be a non-negative integer")
    interval = spec.get("retryIntervalSeconds", 0)
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
        raise DagError(f"Task '{name}': 'retryIntervalSeconds' must be a non-negative number")
    relations: dict[str, list[str]] = {}
    for relation in ("children", "parents"):
        others = spec.get(relation, [])
        if not isinstance(others, list) or not all(isinstance(o, str) for o in others):
            raise DagError(f"Task '{name}': '{relation}' must be a list of task names")
        relations[relation] = others
    environment = job.get("environment", [])
    if not isinstance(environment, list):
        raise DagError(f"Task '{name}': 'job.environment' must be a list")
    is_generator = spec.get("isGenerator", False)
    if not isinstance(is_generator, bool):
        raise DagError(f"Task '{name}': 'isGenerator' must be true or false")
    definition: dict[str, Any] = {
        "maxRetries": max_retries,
        "retryIntervalSeconds": interval,
        "job": {**job, "environment": environment},
        "children": relations["children"],
        "parents": relations["parents"],
        "isGenerator": is_generator,
    }
    return definition, _expand_command(name, command, parameters)


def _expand_command(name: str, command: list[str], parameters: dict[str, list[str]]) -> list[list[str]]:
    referenced: list[str] = []
    for argument in command:
        for match in _PARAMETER.finditer(argument):
            parameter = match.group(1)
            if parameter not in parameters:
                raise DagError(f"Task '{name}' references undefined parameter '{parameter}'")
            if parameter not in referenced:
                referenced.append(parameter)
    # Several-valued parameters multiply the task, in the order the DAG declares them.
    ordered = [p for p in parameters if p in referenced]
    if math.prod(len(parameters[p]) for p in ordered) > MAX_TASKS:
        raise DagError(f"Task '{name}' expands to more than {MAX_TASKS} tasks")
    choices = [[(p, value) for value in parameters[p]] for p in ordered]
    return [_substitute(command, dict(combination)) for combination in itertools.product(*choices)]


def _substitute(command: list[str], values: dict[str, str]) -> list[str]:
    return [_PARAMETER.sub(lambda match: values[match.group(1)], argument) for argument in command]


def _link(
    tasks: dict[str, dict[str, Any]],
    expansions: dict[str, list[str]],
    edges: list[tuple[str, str, str]],
) -> None:
    """Fill every task's ``children`` and ``parents`` with final names, both directions."""

    def resolve(task: str, relation: str, other: str) -> list[str]:
        if other in expansions:
            return expansions[other]
        if other in tasks:
            return [other]
        kind = "child" if relation == "children" else "parent"
        raise DagError(f"Task '{task}' names an unknown {kind} '{other}'")

    pairs: set[tuple[str, str]] = set()
    for task, relation, other in edges:
        for source in expansions[task]:
            for target in resolve(task, relation, other):
                pairs.add((source, target) if relation == "children" else (target, source))
    order = {name: index for index, name in enumerate(tasks)}
    for definition in tasks.values():
        definition["children"], definition["parents"] = [], []
    for parent, child in sorted(pairs, key=lambda pair: (order[pair[0]], order[pair[1]])):
        if parent == child:
            raise DagError(f"The DAG has a cycle: {parent} -> {parent}")
        tasks[parent]["children"].append(child)
        tasks[child]["parents"].append(parent)


def _check_acyclic(tasks: dict[str, dict[str, Any]]) -> None:
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(tasks, white)
    for root in tasks:
        if colour[root] != white:
            continue
        path = [root]
        stack = [iter(tasks[root]["children"])]
        colour[root] = grey
        while stack:
            child = next(stack[-1], None)
            if child is None:
                colour[path.pop()] = black
                stack.pop()
            elif colour[child] == grey:
                cycle = [*path[path.index(child) :], child]
                raise DagError(f"The DAG has a cycle: {' -> '.join(cycle)}")
            elif colour[child] == white:
                colour[child] = grey
                path.append(child)
                stack.append(iter(tasks[child]["children"]))


# ----- runs -----


def _words(command: list[str]) -> set[str]:
    return set(_WORD_SPLIT.split(" ".join(command).lower()))


@dataclass
class TaskRun:
    """One task of a run: its state, its finished attempts and the attempt under way."""

    name: str
    definition: dict[str, Any]
    state: str = QUEUED
    attempts: list[dict[str, Any]] = field(default_factory=list)
    started: int | None = None  # the running attempt's start, ns
    ends: int | None = None  # the running attempt's end, ns
    not_before: int | None = None  # a retry waiting for its interval
    tries: int = 0  # attempts since the task was last (re)queued

    @property
    def command(self) -> list[str]:
        command: list[str] = self.definition["job"]["command"]
        return command

    def fails(self) -> bool:
        return "fail" in _words(self.command)

    def is_long(self) -> bool:
        return "long" in _words(self.command) or "sleep" in " ".join(self.command).lower()

    def finish_attempt(
        self, at: int, rc: int, error_log: str = "", executor_log: str = "", log_bytes: int = 0
    ) -> None:
        """Record the running attempt as ended; its ``outputLog`` padded to ``log_bytes`` (if more)."""
        assert self.started is not None
        output = f"Echoing {' '.join(self.command)}\n"
        self.attempts.append(
            {
                "startTime": str(self.started),
                "stopTime": str(at),
                "rc": rc,
                "outputLog": output + _filler(log_bytes - len(output)),
                "errorLog": error_log,
                "executorLog": executor_log,
            }
        )
        self.started = self.ends = None


@dataclass
class DaggyRun:
    run_id: int
    tag: str
    tasks: dict[str, TaskRun]
    state: str
    changes: list[tuple[int, str]]
    runs_at: int  # when a QUEUED run turns RUNNING
    clock: int  # the last event processed
    last_update: int

    def change(self, state: str, at: int) -> None:
        self.state = state
        self.changes.append((at, state))
        self.touch(at)

    def touch(self, at: int) -> None:
        self.clock = max(self.clock, at)
        self.last_update = max(self.last_update, at)

    def summary(self) -> dict[str, Any]:
        return {
            "runID": self.run_id,
            "tag": self.tag,
            "state": self.state,
            "startTime": str(self.changes[0][0]),
            "lastUpdate": str(self.last_update),
            "taskCounts": dict(Counter(task.state for task in self.tasks.values())),
        }

    def document(self) -> dict[str, Any]:
        return {
            "runID": self.run_id,
            "tag": self.tag,
            "tasks": {name: copy.deepcopy(task.definition) for name, task in self.tasks.items()},
            "taskStates": {name: task.state for name, task in self.tasks.items()},
            "taskAttempts": {name: copy.deepcopy(task.attempts) for name, task in self.tasks.items()},
            "dagStateChanges": [{"time": str(at), "state": state} for at, state in self.changes],
        }


class DaggyEmulator(Emulator[DaggyEmulatorConfig]):
    """In-memory daggyd: runs and their tasks; builds the aiohttp application serving them."""

    name = "daggy"
    cli_options = (
        *map(Option, ("queued_seconds", "task_seconds", "long_factor")),
        Option(
            "output_log_bytes",
            help="pad every ended attempt's outputLog to at least this many bytes (large run documents)",
        ),
        HEADER_OPTION,
    )
    counters = ("submits", "validations", "invalid_dags", "run_kills", "task_kills", "requeues")
    control_views = {"runs": "run_records"}

    def clear_state(self) -> None:
        """No runs: run ids restart at 0."""
        self._runs: dict[int, DaggyRun] = {}

    # ----- Python API (also used by the control routes) -----

    def submit(self, dag: ExpandedDag) -> int:
        at = _now_ns()
        with self._lock:
            run_id = len(self._runs)
            tasks = {name: TaskRun(name, definition) for name, definition in dag.tasks.items()}
            run = DaggyRun(
                run_id=run_id,
                tag=dag.tag,
                tasks=tasks,
                state=QUEUED,
                changes=[(at, QUEUED)],
                runs_at=at + _ns(self.config.queued_seconds),
                clock=at,
                last_update=at,
            )
            self._runs[run_id] = run
            self.core.stats.incr("submits")
        return run_id

    def run_records(self) -> list[dict[str, Any]]:
        """Every run's full document (as ``GET /v1/dagrun/{id}``) plus its ``state``, by run id."""
        at = _now_ns()
        with self._lock:
            documents = []
            for run in self._runs.values():
                self._advance(run, at)
                documents.append({**run.document(), "state": run.state})
            return documents

    # ----- simulation -----

    def _advance(self, run: DaggyRun, at: int) -> None:
        """Process every event of ``run`` up to ``at``, in time order."""
        while run.state not in TERMINAL:
            if run.state == QUEUED:
                if run.runs_at > at:
                    return
                run.change(RUNNING, run.runs_at)
                self._start_ready(run, run.runs_at)
                continue
            moment = self._next_event(run)
            if moment is None:
                self._finish(run)
                return
            if moment > at:
                return
            for task in run.tasks.values():
                if task.state == RUNNING and task.ends == moment:
                    self._end_attempt(run, task, moment)
            run.touch(moment)
            self._start_ready(run, moment)

    def _next_event(self, run: DaggyRun) -> int | None:
        moments = [task.ends for task in run.tasks.values() if task.state == RUNNING and task.ends]
        moments += [
            task.not_before
            for task in run.tasks.values()
            if task.state == QUEUED and task.not_before is not None and task.not_before > run.clock
        ]
        return min(moments) if moments else None

    def _start_ready(self, run: DaggyRun, at: int) -> None:
        for task in run.tasks.values():
            if task.state != QUEUED or (task.not_before is not None and task.not_before > at):
                continue
            if all(run.tasks[parent].state == COMPLETED for parent in task.definition["parents"]):
                seconds = self.config.task_seconds * (self.config.long_factor if task.is_long() else 1.0)
                task.state, task.started, task.ends = RUNNING, at, at + _ns(seconds)
                task.not_before = None
                task.tries += 1
                run.touch(at)

    def _end_attempt(self, run: DaggyRun, task: TaskRun, at: int) -> None:
        if not task.fails():
            task.finish_attempt(at, 0, log_bytes=self.config.output_log_bytes)
            task.state = COMPLETED
            return
        error_log = (
            "Traceback (most recent call last):\n"
            f'  File "{task.command[1] if len(task.command) > 1 else task.command[0]}", line 1, in <module>\n'
            f"RuntimeError: simulated failure in {task.name}\n"
        )
        task.finish_attempt(at, 1, error_log=error_log, log_bytes=self.config.output_log_bytes)
        if task.tries <= int(task.definition["maxRetries"]):
            task.state = QUEUED
            task.not_before = at + _ns(float(task.definition["retryIntervalSeconds"]))
        else:
            task.state = ERRORED

    def _finish(self, run: DaggyRun) -> None:
        """Nothing runs and nothing can start: the run ends."""
        states = {task.state for task in run.tasks.values()}
        if states == {COMPLETED}:
            run.change(COMPLETED, run.clock)
        elif ERRORED in states:
            run.change(ERRORED, run.clock)
        else:
            run.change(KILLED, run.clock)

    def _kill_task(self, run: DaggyRun, task: TaskRun, at: int) -> None:
        if task.state == RUNNING:
            task.finish_attempt(at, KILLED_RC, executor_log="Killed by request\n")
        if task.state in (RUNNING, QUEUED):
            task.state = KILLED
            task.not_before = None
            run.touch(at)

    def _requeue_task(self, run: DaggyRun, task: TaskRun, at: int) -> None:
        task.state, task.tries, task.not_before = QUEUED, 0, None
        run.touch(at)

    def _resume(self, run: DaggyRun, at: int) -> None:
        if run.state in TERMINAL:
            run.change(QUEUED, at)
            run.runs_at = at + _ns(self.config.queued_seconds)
        elif run.state == RUNNING:
            self._start_ready(run, at)
        self._advance(run, at)

    # ----- application -----

    def routes(self) -> list[Route]:
        run = "/v1/dagrun/{runid}"
        task = run + "/task/{taskName}"
        # Mutations submit, kill or re-queue (random lost replies apply to them only); validate only
        # checks a DAG.
        # A handler answers its result as JSON (a response as it is), or raises _ApiError.
        api = functools.partial(
            api_handler, error=_ApiError, answer=lambda exc: _error(exc.status, exc.message)
        )
        return [
            Route("GET", "/ready", self._ready, "ready"),
            Route("GET", "/v1/dagruns", self._list_runs, "list_runs"),
            Route("POST", "/v1/dagrun", self._submit, "submit", True),
            Route("POST", "/v1/dagrun/validate", self._validate, "validate"),
            Route("GET", run, api(self._get_run), "get_run"),
            Route("DELETE", run, api(self._kill_run), "kill_run", True),
            Route("GET", run + "/state", api(self._get_run_state), "get_run_state"),
            Route("PATCH", run + "/state/{state}", api(self._set_run_state), "set_run_state", True),
            Route("GET", task, api(self._get_task), "get_task"),
            Route("DELETE", task, api(self._kill_task_route), "kill_task", True),
            Route("GET", task + "/state", api(self._get_task_state), "get_task_state"),
            Route("PATCH", task + "/state/{state}", api(self._set_task_state), "set_task_state", True),
        ]

    def middlewares(self) -> list[Middleware]:
        return [self._auth_middleware]

    @web.middleware
    async def _auth_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        guarded = not is_control_path(path) and (path == "/ready" or path.startswith("/v1/"))
        if guarded and missing_headers(request, self.config.required_headers):
            return _error(401, "unauthorized")
        return await handler(request)

    def _run(self, request: web.Request, at: int) -> DaggyRun:
        """The request's run, brought up to ``at``; call with the lock held."""
        text = request.match_info["runid"]
        if not _RUN_ID.fullmatch(text):
            raise _ApiError(400, f"Invalid run ID: {text}")
        run_id = int(text)
        run = self._runs.get(run_id)
        if run is None:
            raise _ApiError(404, f"No such run: {run_id}")
        self._advance(run, at)
        return run

    def _task(self, request: web.Request, at: int) -> tuple[DaggyRun, TaskRun]:
        run = self._run(request, at)
        name = request.match_info["taskName"]
        task = run.tasks.get(name)
        if task is None:
            raise _ApiError(404, f"No such task: {name} in run {run.run_id}")
        return run, task

    async def _ready(self, request: web.Request) -> web.Response:
        return web.json_response({"msg": READY_MESSAGE})

    async def _list_runs(self, request: web.Request) -> web.Response:
        at = _now_ns()
        every = request.query.get("all", "").lower() in ("1", "true", "yes")
        with self._lock:
            summaries = []
            for run in self._runs.values():
                self._advance(run, at)
                if every or run.state != COMPLETED:
                    summaries.append(run.summary())
        return web.json_response(summaries)

    async def _submit(self, request: web.Request) -> web.Response:
        try:
            dag = parse_dag(await request.read())
        except DagError as exc:
            self.core.stats.incr("invalid_dags")
            return _error(400, str(exc))
        return web.json_response({"runID": self.submit(dag)})

    async def _validate(self, request: web.Request) -> web.Response:
        self.core.stats.incr("validations")
        try:
            parse_dag(await request.read())
        except DagError as exc:
            self.core.stats.incr("invalid_dags")
            return _error(400, str(exc))
        return web.json_response({"valid": True})

    async def _get_run(self, request: web.Request) -> Any:
        with self._lock:
            return self._run(request, _now_ns()).document()

    async def _kill_run(self, request: web.Request) -> Any:
        at = _now_ns()
        with self._lock:
            run = self._run(request, at)
            self.core.stats.incr("run_kills")
            if run.state not in TERMINAL:
                for task in run.tasks.values():
                    self._kill_task(run, task, at)
                run.change(KILLED, at)
        return {}

    async def _get_run_state(self, request: web.Request) -> Any:
        with self._lock:
            return {"state": self._run(request, _now_ns()).state}

    async def _set_run_state(self, request: web.Request) -> Any:
        at = _now_ns()
        with self._lock:
            run = self._run(request, at)
            _check_target_state(request.match_info["state"])
            if run.state not in REQUEUEABLE:
                reason = f"Run {run.run_id} is {run.state}: only ERRORED or KILLED runs can be re-queued"
                raise _ApiError(400, reason)
            for task in run.tasks.values():
                if task.state in REQUEUEABLE:
                    self._requeue_task(run, task, at)
            return self._requeued(run, at)

    async def _get_task(self, request: web.Request) -> Any:
        with self._lock:
            return copy.deepcopy(self._task(request, _now_ns())[1].definition)

    async def _kill_task_route(self, request: web.Request) -> Any:
        at = _now_ns()
        with self._lock:
            run, task = self._task(request, at)
            self.core.stats.incr("task_kills")
            if run.state not in TERMINAL:
                self._kill_task(run, task, at)
                self._advance(run, at)
        return {}

    async def _get_task_state(self, request: web.Request) -> Any:
        with self._lock:
            return {"state": self._task(request, _now_ns())[1].state}

    async def _set_task_state(self, request: web.Request) -> Any:
        at = _now_ns()
        with self._lock:
            run, task = self._task(request, at)
            _check_target_state(request.match_info["state"])
            if task.state not in REQUEUEABLE:
                raise _ApiError(
                    400,
                    f"Task {task.name} of run {run.run_id} is {task.state}: "
                    "only an ERRORED or KILLED task can be re-queued",
                )
            self._requeue_task(run, task, at)
            return self._requeued(run, at)

    def _requeued(self, run: DaggyRun, at: int) -> dict[str, Any]:
        """Resume ``run`` after a re-queue; the reply."""
        self._resume(run, at)
        self.core.stats.incr("requeues")
        return {"runID": run.run_id}


def _check_target_state(state: str) -> None:
    if state.upper() not in STATES:
        raise _ApiError(400, f"Unknown state: {state}")
    if state.upper() != QUEUED:
        raise _ApiError(400, f"Cannot set state {state.upper()}: only QUEUED (re-queue) is supported")


create_daggy_app = DaggyEmulator.new_app


class DaggyEmulatorHandle(PlatformEmulatorHandle[DaggyEmulator, DaggyEmulatorConfig]):
    """A running Daggy emulator plus direct control of its state, for tests.

    :meth:`runs` gives every run's full document (``GET /v1/dagrun/{id}``) plus its ``state``, by run id.
    """

    emulator_class = DaggyEmulator
    run_key = "runID"
