"""Tailer (Fashion Data) API emulator: launch table-to-table / table-to-storage jobs and follow their runs.

Follows the public Tailer API page (a ``POST`` with an ``action`` and a Bearer JWT). The emulator issues
its own HS256 JWTs and serves a stand-in of Firebase's refresh-token exchange at
``/_emulator/firebase/v1/token``; where the page is silent, see docs/EMULATORS.md. Runs move by wall clock.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

from airflow_provider_pipelines.emulators.auth import (
    JwtError,
    bearer_token,
    decode_hs256_jwt,
    encode_hs256_jwt,
)
from airflow_provider_pipelines.emulators.base import ApiError, Emulator
from airflow_provider_pipelines.emulators.cli import Option
from airflow_provider_pipelines.emulators.faults import FaultOptions, format_retry_after
from airflow_provider_pipelines.emulators.handle import PlatformEmulatorHandle, delegate
from airflow_provider_pipelines.emulators.routes import (
    CONTROL_PREFIX,
    Handler,
    Middleware,
    Route,
    api_handler,
    json_object,
    route_errors,
)
from airflow_provider_pipelines.emulators.timeline import Timeline, now

SUCCESS, FAILED, RUNNING, NO_MATCH, CHECKED = "SUCCESS", "FAILED", "RUNNING", "NO_MATCH", "CHECKED"
STATUSES = (SUCCESS, FAILED, RUNNING, NO_MATCH, CHECKED)
PENDING = "PENDING"  # emulator-only: launched, not yet visible to the API
TABLE_TO_TABLE, TABLE_TO_STORAGE, WORKFLOW = "table-to-table", "table-to-storage", "workflow"
JOB_ID_PREFIXES = {TABLE_TO_TABLE: "gbq-to-gbq", TABLE_TO_STORAGE: "gbq-to-gcs"}
LAUNCHABLE = tuple(JOB_ID_PREFIXES)
IDENTITY = ("account", "environment", "configuration_type", "configuration_id")
ISSUER = "tailer-emulator"
DEFAULT_USER = "emulator-user"
PROJECT_ID = "tailer-emulator"
OK_REPLY: dict[str, Any] = {"code": 200, "data": {}, "message": "ok"}
DEFAULT_LIMIT = 10
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class TailerEmulatorConfig(FaultOptions):
    """Settings of a Tailer emulator; timings in seconds. Read live: tests may change it between requests.

    ``pending_seconds``: how long ``check_run_status`` answers ``{"results": []}`` after a launch.
    ``running_seconds``: how long a run is RUNNING before its outcome (times ``long_factor`` for ``long``).
    Both are read when a run is launched.
    ``api_key`` / ``refresh_tokens`` / ``token_seconds``: the Firebase stand-in's accepted API key,
    refresh tokens (a collection, or a mapping of refresh token to user id) and ID-token lifetime.
    ``jwt_secret``: the HS256 key of the JWTs; ``None`` draws a random one per emulator.
    ``token``: a bearer accepted as is besides the JWTs (the CLI's ``--token``); ``None``: JWTs only.
    """

    pending_seconds: float = 1.0
    running_seconds: float = 3.0
    long_factor: float = 100.0
    api_key: str = "emulator-api-key"
    refresh_tokens: Collection[str] | Mapping[str, str] = field(
        default_factory=lambda: {"emulator-refresh-token"}
    )
    token_seconds: float = 3600.0
    jwt_secret: str | None = None
    token: str | None = None


class _ApiError(ApiError):
    """Answered as ``{"code": status, "message": message}`` with that HTTP status."""


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"code": status, "message": message}, status=status, headers=headers)


def _api(handler: Callable[[web.Request], Awaitable[Any]]) -> Handler:
    """A handler answering ``handler``'s result as JSON, or the :class:`_ApiError` it raises."""
    return api_handler(handler, _ApiError, lambda exc: _error(exc.status, exc.message))


def _firebase_error(status: int, message: str, state: str = "INVALID_ARGUMENT") -> web.Response:
    return web.json_response({"error": {"code": status, "message": message, "status": state}}, status=status)


def _micros(moment: float) -> int:
    """Epoch microseconds: dates and durations are computed from these, so they agree to the digit."""
    return round(moment * 1_000_000)


def _iso(micros: int) -> str:
    seconds, micro = divmod(micros, 1_000_000)
    return (
        datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micro).isoformat(timespec="microseconds")
    )


def _duration(micros: int) -> str:
    """``84002519`` -> ``"0:01:24.002519"`` (hours may pass 24, as Python's ``str(timedelta)`` does not)."""
    whole, micro = divmod(max(0, micros), 1_000_000)
    minutes, second = divmod(whole, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}.{micro:06d}"


def outcome_for(configuration_id: str) -> str:
    """The final status a run of this configuration reaches, from its name (case-insensitive)."""
    name = configuration_id.lower()
    if "fail" in name:
        return FAILED
    if "nomatch" in name:
        return NO_MATCH
    return SUCCESS


@dataclass
class TailerRun:
    """One run: its status follows its timeline (PENDING, RUNNING, outcome) unless set by hand."""

    account: str
    environment: str
    configuration_type: str
    configuration_id: str
    job_id: str
    run_id: str
    execution_date: str
    timeline: Timeline
    sequence: int
    override: str | None = None
    override_at: float | None = None

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return (self.account, self.environment, self.configuration_type, self.configuration_id)

    def visible(self, at: float) -> bool:
        """False during the pending window: the API does not know the run yet."""
        return self.override is not None or self.timeline.state_at(at) != PENDING

    def status(self, at: float) -> str:
        return self.override if self.override is not None else self.timeline.state_at(at)

    def started(self) -> float:
        running = self.timeline.entered_at(RUNNING)
        assert running is not None
        if self.override_at is not None:
            return min(running, self.override_at)
        return running

    def record(self, at: float) -> dict[str, Any]:
        """The run as the API shows it (``status`` is ``PENDING`` only in the emulator's own listings)."""
        status = self.status(at)
        start = self.started()
        if self.override_at is not None:
            last_update = self.override_at
        elif status == PENDING:
            last_update = self.timeline.start
        elif status == RUNNING:
            last_update = start
        else:
            last_update = self.timeline.ends_at()
        # Offsets from the start are rounded, not each moment: the duration of a 0.3 s run is 0.300000.
        start_us = _micros(start)
        last_update_us = start_us + _micros(last_update - start)
        end_us = start_us + _micros(at - start) if status in (PENDING, RUNNING) else last_update_us
        return {
            "account": self.account,
            "configuration_id": self.configuration_id,
            "configuration_type": self.configuration_type,
            "duration": _duration(end_us - start_us),
            "environment": self.environment,
            "job_id": self.job_id,
            "last_update_date": _iso(last_update_us),
            "run_id": self.run_id,
            "start_execution_date": _iso(start_us),
            "status": status,
            "execution_date": self.execution_date,
        }


@dataclass
class ConfigurationState:
    """What ``set_configuration_status`` stores for one identity; configurations exist on first use."""

    activated: bool = True
    archived: bool = False

    @property
    def active(self) -> bool:
        return self.activated and not self.archived


Action = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class TailerEmulator(Emulator[TailerEmulatorConfig]):
    """In-memory Tailer API: configurations and runs; builds the aiohttp application serving them."""

    name = "tailer"
    cli_options = (
        *map(Option, ("pending_seconds", "running_seconds", "long_factor")),
        Option("api_key", help="the Firebase stand-in's API key"),
        Option(
            "refresh_tokens",
            "--refresh-token",
            help="a refresh token the Firebase stand-in accepts (repeatable; default emulator-refresh-token)",
            repeat=True,
            convert=lambda tokens: set(tokens) or {"emulator-refresh-token"},
        ),
        Option("token_seconds"),
        Option("jwt_secret", help="HS256 key of the JWTs (default: random)"),
    )
    counters = ("launches", "status_checks", "token_refreshes", "workflow_resets", "configuration_changes")
    keyed_counters = ("launches_by_configuration", "workflow_resets_by_configuration", "actions")
    control_views = {"runs": "run_records", "configurations": "configurations"}

    def __init__(self, config: TailerEmulatorConfig | None = None) -> None:
        self._random_secret = secrets.token_urlsafe(32)
        self._actions: dict[str, dict[str, Action]] = {
            "/v1/dag/launch": {"launch_job": self._launch_job},
            "/v1/dag/status": {
                "check_run_status": self._check_run_status,
                "get_last_status": self._get_last_status,
                "get_by_status": self._get_by_status,
                "set_run_status": self._set_run_status,
            },
            "/v1/workflow/status": {"reset_workflow_status": self._reset_workflow_status},
            "/v1/configuration/status": {"set_configuration_status": self._set_configuration_status},
        }
        super().__init__(config)

    def clear_state(self) -> None:
        """No runs or configurations. The JWT secret stays, so tokens minted before a reset still work."""
        self._runs: dict[str, TailerRun] = {}
        self._configurations: dict[tuple[str, str, str, str], ConfigurationState] = {}
        self._sequence = 0

    # ----- Python API (also used by the control routes) -----

    @property
    def jwt_secret(self) -> str:
        return self.config.jwt_secret or self._random_secret

    def mint_jwt(self, seconds: float = 3600, subject: str = "airflow") -> str:
        """A JWT the API accepts for ``seconds`` (``exp`` rounded up to the second; negative: expired)."""
        issued = now()
        claims = {"iss": ISSUER, "sub": subject, "iat": int(issued), "exp": math.ceil(issued + seconds)}
        return encode_hs256_jwt(claims, self.jwt_secret)

    def run_records(self) -> list[dict[str, Any]]:
        """Every run's record, newest first, including pending ones (status ``PENDING``)."""
        at = now()
        with self._lock:
            return [run.record(at) for run in self._newest_first(self._runs.values())]

    def set_run_status(self, run_id: str, status: str) -> dict[str, Any]:
        """Force a run's status from now on; ``KeyError`` if unknown, ``ValueError`` if not a status."""
        status = _check_status(status)
        at = now()
        with self._lock:
            run = self._runs[run_id]
            run.override, run.override_at = status, at
            return run.record(at)

    def configurations(self) -> list[dict[str, Any]]:
        """Every configuration used so far: its identity, ``activated``, ``archived``."""
        with self._lock:
            return [
                {**dict(zip(IDENTITY, key, strict=True)), **dataclasses.asdict(state)}
                for key, state in self._configurations.items()
            ]

    # ----- application -----

    def routes(self) -> list[Route]:
        names = {
            "/v1/dag/launch": "dag_launch",
            "/v1/dag/status": "dag_status",
            "/v1/workflow/status": "workflow_status",
            "/v1/configuration/status": "configuration_status",
        }
        # Every action but the /v1/dag/status reads (check_run_status, get_last_status, get_by_status)
        # changes state: random lost replies apply to those only.
        routes = [
            Route("POST", path, _api(self._api), name, _sets_run_status if path == "/v1/dag/status" else True)
            for path, name in names.items()
        ]
        # The Firebase stand-in is an API route: counted and faultable, never bearer-checked.
        routes.append(
            Route("POST", CONTROL_PREFIX + "firebase/v1/token", self._firebase_token, "firebase_token")
        )
        return routes

    def middlewares(self) -> list[Middleware]:
        # Unknown routes and wrong methods answer in the API's error shape.
        return [self._auth_middleware, route_errors(_error)]

    def control_routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("PUT", "runs/{run_id}", _api(self._control_set_run)),
            ("POST", "token", _api(self._control_token)),
        ]

    @web.middleware
    async def _auth_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/v1/"):
            error = self._auth_error(bearer_token(request))
            if error is not None:
                return error
        return await handler(request)

    def _auth_error(self, token: str | None) -> web.Response | None:
        if token is not None and self.config.token is not None and token == self.config.token:
            return None
        message = "invalid token"
        if token is not None:
            try:
                decode_hs256_jwt(token, self.jwt_secret, now(), issuer=ISSUER)
                return None
            except JwtError as exc:
                if exc.expired:
                    message = "token expired"
        challenge = f'Bearer realm="tailer-emulator", error="invalid_token", error_description="{message}"'
        return _error(401, message, {"WWW-Authenticate": challenge})

    async def _api(self, request: web.Request) -> dict[str, Any]:
        body = await _json_object(request)
        actions = self._actions[request.path]
        action = body.get("action")
        if action is None:
            raise _ApiError(400, "missing field: action")
        if not isinstance(action, str) or action not in actions:
            known = ", ".join(sorted(actions))
            raise _ApiError(400, f"unknown action {json.dumps(action)} for {request.path}: use {known}")
        self.core.stats.incr("actions", str(action))
        return await actions[action](body)

    # ----- actions -----

    async def _launch_job(self, body: dict[str, Any]) -> dict[str, Any]:
        identity = _full_identity(body)
        _, environment, configuration_type, configuration_id = identity
        if configuration_type not in LAUNCHABLE:
            raise _ApiError(
                400,
                f"configuration type {configuration_type!r} cannot be launched: "
                f"only {' and '.join(LAUNCHABLE)} jobs can be",
            )
        _check_suffix(configuration_type, configuration_id, environment)
        execution_date = _optional_date(body)
        expected_job_id = f"{JOB_ID_PREFIXES[configuration_type]}|{configuration_id}"
        job_id = body.get("job_id")
        if job_id is not None and job_id != expected_job_id:
            raise _ApiError(
                400,
                f"job_id {job_id!r} does not match configuration {configuration_id!r}: "
                f"expected {expected_job_id!r}",
            )
        at = now()
        with self._lock:
            state = self._configurations.setdefault(identity, ConfigurationState())
            if not state.active:
                raise _ApiError(
                    409,
                    f"configuration is not active: {configuration_id} "
                    f"(activated={json.dumps(state.activated)}, archived={json.dumps(state.archived)})",
                )
            moment = datetime.fromtimestamp(at, tz=UTC)
            run_id = f"{moment:%Y%m%d-%H%M%S}-{uuid.uuid4()}"
            running = self.config.running_seconds
            if "long" in configuration_id.lower():
                running *= self.config.long_factor
            self._sequence += 1
            self._runs[run_id] = TailerRun(
                *identity,
                job_id=expected_job_id,
                run_id=run_id,
                execution_date=execution_date or moment.date().isoformat(),
                timeline=Timeline(
                    at,
                    ((PENDING, self.config.pending_seconds), (RUNNING, running)),
                    outcome_for(configuration_id),
                ),
                sequence=self._sequence,
            )
            self.core.stats.incr("launches")
            self.core.stats.incr("launches_by_configuration", configuration_id)
        return {"run_id": run_id}

    async def _check_run_status(self, body: dict[str, Any]) -> dict[str, Any]:
        identity = _full_identity(body)
        job_id, run_id = _identity(body, ("job_id", "run_id"))
        self.core.stats.incr("status_checks")
        at = now()
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.identity != identity or run.job_id != job_id or not run.visible(at):
                return {"results": []}
            return {"results": [run.record(at)]}

    async def _get_last_status(self, body: dict[str, Any]) -> dict[str, Any]:
        identity = _full_identity(body, suffixed=True)
        return self._select(body, lambda run: run.identity == identity)

    async def _get_by_status(self, body: dict[str, Any]) -> dict[str, Any]:
        account, configuration_type = _identity(body, ("account", "configuration_type"))
        environment = body.get("environment")
        if environment is not None:
            (environment,) = _identity(body, ("environment",))
        return self._select(
            body,
            lambda run: (
                run.account == account
                and run.configuration_type == configuration_type
                and (environment is None or run.environment == environment)
            ),
        )

    def _select(self, body: dict[str, Any], wanted: Callable[[TailerRun], bool]) -> dict[str, Any]:
        execution_date = _optional_date(body)
        status = body.get("status")
        if status is not None:
            status = _api_status(status)
        limit = body.get("limit", DEFAULT_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise _ApiError(400, f"limit must be a positive integer: got {json.dumps(limit)}")
        at = now()
        with self._lock:
            records = []
            for run in self._newest_first(self._runs.values()):
                if not (run.visible(at) and wanted(run)):
                    continue
                if execution_date is not None and run.execution_date != execution_date:
                    continue
                if status is not None and run.status(at) != status:
                    continue
                records.append(run.record(at))
                if len(records) == limit:
                    break
        return {"results": records}

    async def _set_run_status(self, body: dict[str, Any]) -> dict[str, Any]:
        identity = _full_identity(body, suffixed=True)
        run_id, status = _identity(body, ("run_id", "status"))
        status = _api_status(status)
        at = now()
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.identity != identity or not run.visible(at):
                raise _ApiError(404, f"run not found: {run_id}")
            run.override, run.override_at = status, at
        return dict(OK_REPLY)

    async def _reset_workflow_status(self, body: dict[str, Any]) -> dict[str, Any]:
        identity = _full_identity(body)
        if identity[2] != WORKFLOW:
            raise _ApiError(
                400, f"reset_workflow_status needs configuration_type 'workflow': got {identity[2]!r}"
            )
        with self._lock:
            self._configurations.setdefault(identity, ConfigurationState())
        self.core.stats.incr("workflow_resets")
        self.core.stats.incr("workflow_resets_by_configuration", identity[3])
        return dict(OK_REPLY)

    async def _set_configuration_status(self, body: dict[str, Any]) -> dict[str, Any]:
        identity = _full_identity(body, suffixed=True)
        flags = {}
        for name in ("activated", "archived"):
            value = body.get(name)
            if not isinstance(value, bool):
                raise _ApiError(400, f"field {name!r} must be true or false: got {json.dumps(value)}")
            flags[name] = value
        with self._lock:
            self._configurations[identity] = ConfigurationState(**flags)
        self.core.stats.incr("configuration_changes")
        return dict(OK_REPLY)

    # ----- Firebase stand-in -----

    async def _firebase_token(self, request: web.Request) -> web.Response:
        key = request.query.get("key")
        if not key:
            return _firebase_error(403, "The request is missing a valid API key.", "PERMISSION_DENIED")
        if key != self.config.api_key:
            return _firebase_error(400, "API key not valid. Please pass a valid API key.")
        fields: dict[str, Any]
        if request.content_type == "application/json":
            try:
                fields = await request.json()
            except ValueError:
                return _firebase_error(400, "Invalid JSON payload received.")
            if not isinstance(fields, dict):
                return _firebase_error(400, "Invalid JSON payload received.")
        else:
            fields = dict(await request.post())
        if fields.get("grant_type") != "refresh_token":
            return _firebase_error(400, "INVALID_GRANT_TYPE")
        refresh_token = fields.get("refresh_token")
        if not refresh_token:
            return _firebase_error(400, "MISSING_REFRESH_TOKEN")
        known = self.config.refresh_tokens
        if not isinstance(refresh_token, str) or refresh_token not in known:
            return _firebase_error(400, "INVALID_REFRESH_TOKEN")
        user_id = known[refresh_token] if isinstance(known, Mapping) else DEFAULT_USER
        seconds = self.config.token_seconds
        id_token = self.mint_jwt(seconds, user_id)
        self.core.stats.incr("token_refreshes")
        return web.json_response(
            {
                "access_token": id_token,
                "expires_in": format_retry_after(seconds),
                "token_type": "Bearer",
                "refresh_token": refresh_token,
                "id_token": id_token,
                "user_id": user_id,
                "project_id": PROJECT_ID,
            }
        )

    # ----- control routes -----

    async def _control_set_run(self, request: web.Request) -> dict[str, Any]:
        run_id = request.match_info["run_id"]
        status = _api_status((await _json_object(request)).get("status"))
        try:
            return self.set_run_status(run_id, status)
        except KeyError:
            raise _ApiError(404, f"run not found: {run_id}") from None

    async def _control_token(self, request: web.Request) -> dict[str, Any]:
        body = await _json_object(request) if request.can_read_body else {}
        try:
            seconds, subject = float(body.get("seconds", 3600)), str(body.get("subject", "airflow"))
        except (TypeError, ValueError):
            raise _ApiError(400, "seconds must be a number") from None
        return {"id_token": self.mint_jwt(seconds, subject), "expires_in": format_retry_after(seconds)}

    @staticmethod
    def _newest_first(runs: Collection[TailerRun]) -> list[TailerRun]:
        return sorted(runs, key=lambda run: (run.timeline.start, run.sequence), reverse=True)


def _sets_run_status(request: web.Request, body: Any) -> bool:
    """``/v1/dag/status`` writes only for ``set_run_status``; its other actions read."""
    return isinstance(body, dict) and body.get("action") == "set_run_status"


async def _json_object(request: web.Request) -> dict[str, Any]:
    return json_object(await request.read() or b"null", lambda message: _ApiError(400, message))


def _identity(body: dict[str, Any], names: tuple[str, ...]) -> tuple[str, ...]:
    """The named fields, each a non-empty string; 400 naming every missing one otherwise."""
    missing = [name for name in names if body.get(name) in (None, "")]
    if missing:
        raise _ApiError(400, f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    for name in names:
        if not isinstance(body[name], str):
            raise _ApiError(400, f"field {name!r} must be a string: got {json.dumps(body[name])}")
    return tuple(body[name] for name in names)


def _full_identity(body: dict[str, Any], suffixed: bool = False) -> tuple[str, str, str, str]:
    """The four identity fields; ``suffixed``: a table-to-table id must carry its environment."""
    account, environment, configuration_type, configuration_id = _identity(body, IDENTITY)
    if suffixed:
        _check_suffix(configuration_type, configuration_id, environment)
    return account, environment, configuration_type, configuration_id


def _check_suffix(configuration_type: str, configuration_id: str, environment: str) -> None:
    """Table-to-table configuration ids carry the environment: ``000099_sales`` is ``000099_sales_DEV``."""
    if configuration_type == TABLE_TO_TABLE and not configuration_id.endswith(f"_{environment}"):
        raise _ApiError(
            404,
            f"configuration not found: {configuration_id} (a table-to-table configuration_id ends with "
            f"its environment: {configuration_id}_{environment})",
        )


def _optional_date(body: dict[str, Any]) -> str | None:
    value = body.get("execution_date")
    if value is None:
        return None
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise _ApiError(400, f"execution_date must be a date YYYY-MM-DD: got {json.dumps(value)}")


def _check_status(value: Any) -> str:
    """The status in upper case; ``ValueError`` unless one of Tailer's statuses."""
    if isinstance(value, str) and value.upper() in STATUSES:
        return value.upper()
    raise ValueError(f"status must be one of {', '.join(STATUSES)}: got {json.dumps(value)}")


def _api_status(value: Any) -> str:
    try:
        return _check_status(value)
    except ValueError as exc:
        raise _ApiError(400, str(exc)) from None


create_tailer_app = TailerEmulator.new_app


class TailerEmulatorHandle(PlatformEmulatorHandle[TailerEmulator, TailerEmulatorConfig]):
    """A running Tailer emulator plus direct control of its state, for tests.

    In :meth:`runs`, runs still in their pending window show ``PENDING``.
    """

    emulator_class = TailerEmulator
    run_key = "run_id"

    @property
    def token_url(self) -> str:
        """The Firebase stand-in, in place of ``https://securetoken.googleapis.com/v1/token``."""
        return f"{self.url}{CONTROL_PREFIX}firebase/v1/token"

    mint_jwt = delegate("mint_jwt", "A JWT the API accepts for ``seconds`` (negative: already expired).")
    set_run_status = delegate("set_run_status", "Force a run's status from now on; returns its record.")
    configurations = delegate("configurations", "Every configuration used, with ``activated``, ``archived``.")
