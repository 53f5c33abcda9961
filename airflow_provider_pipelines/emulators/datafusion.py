"""Cloud Data Fusion management API emulator: instances and their long-running operations, plus the two
Google services a client needs to call it: an OAuth2 token endpoint (``/token``, in place of
``https://oauth2.googleapis.com/token``) and IAM credentials' ``generateAccessToken`` (impersonation).

Strict where Google's REST reference is explicit (resource names, the Operation shape with ``done``
left out until true, ``{"error": {"code", "message", "status"}}`` errors, 404 / 409 / 400, output-only
fields), configurable where it is silent (how long operations take, where ``apiEndpoint`` points).
Operations end by wall clock: every request settles those that are due, no background task runs.

Fault injection: an instance whose label ``emulator-fail`` names an operation (``create``, ``update``,
``restart``, ``delete``) gets that operation failed, as does one scheduled with
``POST /_emulator/datafusion/instances/{instance}/fail`` (``{"verb", "message"}``). An account in
``refused_accounts`` cannot be impersonated (403 PERMISSION_DENIED), nor used as a delegate.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from airflow_provider_pipelines.emulators.auth import bearer_token
from airflow_provider_pipelines.emulators.base import ApiError, Emulator
from airflow_provider_pipelines.emulators.cli import Option
from airflow_provider_pipelines.emulators.faults import FaultOptions
from airflow_provider_pipelines.emulators.handle import PlatformEmulatorHandle, delegate
from airflow_provider_pipelines.emulators.routes import (
    Handler,
    Middleware,
    Route,
    api_handler,
    is_control_request,
    route_errors,
)
from airflow_provider_pipelines.emulators.timeline import now

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
IAM_SCOPE = "https://www.googleapis.com/auth/iam"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INSTANCE_TYPES = frozenset({"BASIC", "ENTERPRISE", "DEVELOPER"})
FAIL_LABEL = "emulator-fail"
VERBS = ("create", "update", "restart", "delete")
# The fields an update may name (none named: all of them are overwritten).
UPDATABLE = frozenset(
    {
        "labels",
        "options",
        "version",
        "enableStackdriverLogging",
        "enableStackdriverMonitoring",
        "eventPublishConfig",
        "enableRbac",
        "accelerators",
        "maintenancePolicy",
        "dataplexDataLineageIntegrationEnabled",
        "loggingConfig",
        "description",
        "displayName",
    }
)
OUTPUT_ONLY = frozenset(
    {
        "name",
        "createTime",
        "updateTime",
        "state",
        "stateMessage",
        "serviceEndpoint",
        "apiEndpoint",
        "availableVersion",
        "gcsBucket",
        "p4ServiceAccount",
        "tenantProjectId",
        "disabledReason",
        "satisfiesPzs",
        "workforceIdentityServiceEndpoint",
    }
)
INSTANCE_FIELDS = (
    UPDATABLE
    | OUTPUT_ONLY
    | {
        "type",
        "privateInstance",
        "networkConfig",
        "zone",
        "serviceAccount",
        "dataprocServiceAccount",
        "cryptoKeyConfig",
        "enableZoneSeparation",
        "patchRevision",
        "isolationConfig",
    }
)
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
}
INSTANCE_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
BASE = "/{version:v1beta1|v1}/projects/{project}/locations/{location}"
INSTANCE = BASE + "/instances/{instance:[^/:]+}"
IAM_PATH = "/v1/projects/-/serviceAccounts/{account:[^/:]+}:generateAccessToken"
TYPE_URL = "type.googleapis.com/google.cloud.datafusion.v1.{}"
# What PATCH /_emulator/datafusion/config may change.
CONFIGURABLE = frozenset(
    {
        "create_seconds",
        "update_seconds",
        "restart_seconds",
        "delete_seconds",
        "api_endpoint",
        "service_endpoint",
        "version",
        "require_auth",
        "refused_accounts",
        "token_seconds",
    }
)
# Who a request authenticated as ("" when anonymous, with require_auth off).
PRINCIPAL = web.RequestKey("datafusion_principal", str)


@dataclass
class DataFusionEmulatorConfig(FaultOptions):
    """Settings of a Data Fusion emulator; timings in seconds. Read on every request, so tests may change it.

    ``api_endpoint`` and ``service_endpoint`` are every instance's CDAP REST base and UI (``{instance}``,
    ``{project}`` and ``{location}`` are replaced); by default the local CDAP emulator's. ``token`` is a
    static bearer token accepted besides those the emulator issues; ``require_auth=False`` accepts any.
    """

    create_seconds: float = 2.0
    update_seconds: float = 1.0
    restart_seconds: float = 1.0
    delete_seconds: float = 1.0
    api_endpoint: str = "http://127.0.0.1:11015/api"
    service_endpoint: str = "http://127.0.0.1:11015"
    version: str = "6.10.1"
    require_auth: bool = True
    token: str | None = None
    token_seconds: int = 3600
    refused_accounts: tuple[str, ...] = ()


class _GoogleError(ApiError):
    """An error answered in Google's shape; ``reason`` is the status name (FAILED_PRECONDITION...)."""

    def __init__(self, status: int, message: str, reason: str | None = None) -> None:
        super().__init__(status, message)
        self.reason = reason or STATUS_NAMES.get(status, "UNKNOWN")


def google_error(status: int, message: str, reason: str | None = None) -> web.Response:
    body = {"error": {"code": status, "message": message, "status": reason or STATUS_NAMES.get(status, "")}}
    return web.json_response(body, status=status)


def _answer(exc: _GoogleError) -> web.Response:
    return google_error(exc.status, exc.message, exc.reason)


def _timestamp(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class FusionInstance:
    """One instance: the fields its creator sent (and updates changed), its state and its times."""

    key: tuple[str, str, str]
    body: dict[str, Any]
    state: str
    created: float
    updated: float
    state_message: str = ""

    @property
    def name(self) -> str:
        project, location, instance = self.key
        return f"projects/{project}/locations/{location}/instances/{instance}"


@dataclass
class FusionOperation:
    """A long-running operation on an instance; it ends at ``done_at`` (then applied once)."""

    name: str
    verb: str
    target: tuple[str, str, str]
    started: float
    done_at: float
    failure: str | None = None
    patch: dict[str, Any] = field(default_factory=dict)
    cleared: list[str] = field(default_factory=list)
    applied: bool = False
    response: dict[str, Any] | None = None
    api_version: str = "v1"


@dataclass
class IssuedToken:
    principal: str
    scopes: tuple[str, ...]
    expires_at: float


class DataFusionEmulator(Emulator[DataFusionEmulatorConfig]):
    """In-memory Data Fusion management API, OAuth2 token endpoint and IAM impersonation."""

    name = "datafusion"
    cli_options = (
        *(Option(f"{verb}_seconds", help="default %(default)s") for verb in VERBS),
        Option("api_endpoint", help="every instance's apiEndpoint (default %(default)s)"),
        Option("service_endpoint", help="every instance's serviceEndpoint (default %(default)s)"),
        Option("require_auth", "--no-require-auth", help="accept calls without an issued token"),
        Option(
            "refused_accounts",
            "--refuse-account",
            help="a service account that cannot be impersonated (repeatable)",
            repeat=True,
            convert=tuple,
        ),
    )
    counters = ("operations", "tokens_issued", "impersonations", "impersonations_refused")
    keyed_counters = ("calls_by_principal", "operations_by_verb")

    def clear_state(self) -> None:
        """No instances, operations or tokens; failures scheduled and public keys forgotten."""
        self._instances: dict[tuple[str, str, str], FusionInstance] = {}
        self._operations: dict[str, FusionOperation] = {}
        self._tokens: dict[str, IssuedToken] = {}
        self._public_keys: dict[str, Any] = {}
        self._scheduled: dict[tuple[str, str], str] = {}
        self._sequence = 0

    # ----- Python API (also used by the control routes and the test handle) -----

    def instance_records(self) -> list[dict[str, Any]]:
        """Every instance as the API shows it, after settling the operations that are due."""
        with self._lock:
            self._settle(now())
            return [self._public(instance) for instance in self._instances.values()]

    run_records = instance_records

    def operation_records(self) -> list[dict[str, Any]]:
        with self._lock:
            self._settle(now())
            return [self._operation_view(op) for op in self._operations.values()]

    def fail_next(self, instance: str, verb: str, message: str = "Simulated failure") -> None:
        """Fail the next ``verb`` operation on instance ``instance`` (any project and location)."""
        if verb not in VERBS:
            raise ValueError(f"verb must be one of {', '.join(VERBS)}, not {verb!r}")
        with self._lock:
            self._scheduled[(instance, verb)] = message

    def put_instance(
        self,
        project: str,
        location: str,
        instance: str,
        body: Mapping[str, Any] | None = None,
        state: str = "ACTIVE",
    ) -> dict[str, Any]:
        """An instance in ``state`` (ACTIVE, FAILED...), there at once (no operation)."""
        at = now()
        with self._lock:
            record = FusionInstance(
                (project, location, instance), {"type": "BASIC", **dict(body or {})}, state, at, at
            )
            if state == "FAILED":
                record.state_message = "Simulated failure (put_instance)"
            self._instances[record.key] = record
            return self._public(record)

    def register_key(self, client_email: str, public_key: Any) -> None:
        """Verify the JWT assertions of ``client_email`` with this public key (cryptography's object)."""
        with self._lock:
            self._public_keys[client_email] = public_key

    def issue_token(self, principal: str, scopes: tuple[str, ...] = (CLOUD_PLATFORM_SCOPE,)) -> str:
        """A token as the token endpoint would issue it (for tests that skip google-auth)."""
        token = "ya29.emulator-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = IssuedToken(principal, scopes, now() + self.config.token_seconds)
        self.core.stats.incr("tokens_issued")
        return token

    # ----- application -----

    def routes(self) -> list[Route]:
        api = functools.partial(api_handler, error=_GoogleError, answer=_answer)
        return [
            Route("GET", BASE + "/instances", api(self._list_instances), "list_instances"),
            Route("POST", BASE + "/instances", api(self._create), "create_instance", True),
            Route("GET", INSTANCE, api(self._get), "get_instance"),
            Route("PATCH", INSTANCE, api(self._update), "update_instance", True),
            Route("DELETE", INSTANCE, api(self._delete), "delete_instance", True),
            Route("POST", INSTANCE + ":restart", api(self._restart), "restart_instance", True),
            Route("GET", BASE + "/operations/{operation:[^/:]+}", api(self._get_operation), "get_operation"),
            Route("POST", "/token", self._token, "token"),
            Route("POST", IAM_PATH, api(self._generate_access_token), "generate_access_token"),
        ]

    def middlewares(self) -> list[Middleware]:
        return [route_errors(google_error), self._auth_middleware]

    def control_routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "instances", self._control_instances),
            ("GET", "operations", self._control_operations),
            ("POST", "instances/{instance}/fail", self._control_fail),
            ("POST", "keys", self._control_key),
            ("PATCH", "config", self._control_config),
        ]

    @web.middleware
    async def _auth_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_control_request(request) or request.path == "/token":
            return await handler(request)
        token = bearer_token(request)
        principal = self._principal(token)
        if principal is None and self.config.require_auth:
            return google_error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
                "cookie or other valid authentication credential.",
            )
        self.core.stats.incr("calls_by_principal", principal or "anonymous")
        request[PRINCIPAL] = principal or ""
        return await handler(request)

    def _principal(self, token: str | None) -> str | None:
        if token is None:
            return None
        if self.config.token is not None and secrets.compare_digest(token, self.config.token):
            return "static-token"
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None or issued.expires_at <= now():
            return None
        return issued.principal

    # ----- instances -----

    def _key(self, request: web.Request) -> tuple[str, str, str]:
        info = request.match_info
        return info["project"], info["location"], info["instance"]

    def _existing(self, key: tuple[str, str, str]) -> FusionInstance:
        instance = self._instances.get(key)
        if instance is None:
            name = f"projects/{key[0]}/locations/{key[1]}/instances/{key[2]}"
            raise _GoogleError(404, f"Resource '{name}' was not found")
        return instance

    def _idle(self, instance: FusionInstance, verb: str) -> None:
        if instance.state in ("CREATING", "UPDATING", "RESTARTING", "DELETING"):
            raise _GoogleError(
                400,
                f"Cannot {verb} instance {instance.name} while it is {instance.state}",
                "FAILED_PRECONDITION",
            )

    async def _list_instances(self, request: web.Request) -> Any:
        project, location = request.match_info["project"], request.match_info["location"]
        with self._lock:
            self._settle(now())
            found = [
                self._public(instance)
                for key, instance in sorted(self._instances.items())
                if key[0] == project and (location == "-" or key[1] == location)
            ]
        return {"instances": found} if found else {}

    async def _get(self, request: web.Request) -> Any:
        with self._lock:
            self._settle(now())
            return self._public(self._existing(self._key(request)))

    async def _create(self, request: web.Request) -> Any:
        project, location = request.match_info["project"], request.match_info["location"]
        instance_id = request.query.get("instanceId", "")
        if not instance_id:
            raise _GoogleError(400, "instanceId is required")
        if not INSTANCE_ID.fullmatch(instance_id):
            raise _GoogleError(
                400,
                f"Invalid instanceId '{instance_id}': it must start with a lowercase letter and contain "
                "only lowercase letters, digits and hyphens (at most 63 characters)",
            )
        body = _instance_body(await _json_body(request), "instance")
        kind = body.get("type")
        if kind not in INSTANCE_TYPES:
            raise _GoogleError(
                400,
                f"instance.type must be one of {', '.join(sorted(INSTANCE_TYPES))}, not {json.dumps(kind)}",
            )
        key = (project, location, instance_id)
        at = now()
        with self._lock:
            self._settle(at)
            if key in self._instances:
                existing = self._instances[key]
                raise _GoogleError(409, f"Resource '{existing.name}' already exists")
            stored = {k: v for k, v in body.items() if k not in OUTPUT_ONLY}
            instance = FusionInstance(key, stored, "CREATING", at, at)
            self._instances[key] = instance
            return self._start(instance, "create", self.config.create_seconds, at, request)

    async def _update(self, request: web.Request) -> Any:
        body = _instance_body(await _json_body(request), "instance")
        mask_text = request.query.get("updateMask", "")
        mask = [part.strip() for part in mask_text.split(",") if part.strip()]
        unknown = sorted(set(mask) - UPDATABLE)
        if unknown:
            raise _GoogleError(400, f"updateMask names fields that cannot be updated: {', '.join(unknown)}")
        fields = mask or sorted(UPDATABLE & {"labels", "options", "version"})
        patch = {name: copy.deepcopy(body[name]) for name in fields if name in body}
        cleared = [name for name in fields if name not in body]
        at = now()
        with self._lock:
            self._settle(at)
            instance = self._existing(self._key(request))
            self._idle(instance, "update")
            instance.state, instance.updated = "UPDATING", at
            return self._start(instance, "update", self.config.update_seconds, at, request, patch, cleared)

    async def _restart(self, request: web.Request) -> Any:
        at = now()
        with self._lock:
            self._settle(at)
            instance = self._existing(self._key(request))
            self._idle(instance, "restart")
            instance.state, instance.updated = "RESTARTING", at
            return self._start(instance, "restart", self.config.restart_seconds, at, request)

    async def _delete(self, request: web.Request) -> Any:
        at = now()
        with self._lock:
            self._settle(at)
            instance = self._existing(self._key(request))
            self._idle(instance, "delete")
            instance.state, instance.updated = "DELETING", at
            return self._start(instance, "delete", self.config.delete_seconds, at, request)

    def _start(
        self,
        instance: FusionInstance,
        verb: str,
        seconds: float,
        at: float,
        request: web.Request,
        patch: dict[str, Any] | None = None,
        cleared: list[str] | None = None,
    ) -> dict[str, Any]:
        self._sequence += 1
        project, location, instance_id = instance.key
        op_id = f"operation-{int(at * 1000)}-{uuid.uuid4().hex[:12]}-{self._sequence}"
        labels = (patch or {}).get("labels", instance.body.get("labels")) or {}
        failure = self._scheduled.pop((instance_id, verb), None)
        if failure is None and isinstance(labels, Mapping) and labels.get(FAIL_LABEL) == verb:
            failure = f"Simulated failure of the {verb} operation (label {FAIL_LABEL}={verb})"
        operation = FusionOperation(
            name=f"projects/{project}/locations/{location}/operations/{op_id}",
            verb=verb,
            target=instance.key,
            started=at,
            done_at=at + max(0.0, seconds),
            failure=failure,
            patch=dict(patch or {}),
            cleared=list(cleared or []),
            api_version=request.match_info.get("version", "v1"),
        )
        self._operations[operation.name] = operation
        self.core.stats.incr("operations")
        self.core.stats.incr("operations_by_verb", verb)
        return self._operation_view(operation)

    def _settle(self, at: float) -> None:
        """Apply every operation whose time has come, in the order they end (lock held)."""
        due = sorted(
            (op for op in self._operations.values() if not op.applied and op.done_at <= at),
            key=lambda op: op.done_at,
        )
        for op in due:
            op.applied = True
            instance = self._instances.get(op.target)
            if instance is None:
                continue
            instance.updated = op.done_at
            if op.failure is not None:
                instance.state = "FAILED" if op.verb in ("create", "restart", "delete") else "ACTIVE"
                instance.state_message = op.failure if instance.state == "FAILED" else ""
                continue
            if op.verb == "delete":
                del self._instances[op.target]
                op.response = {"@type": "type.googleapis.com/google.protobuf.Empty"}
                continue
            if op.verb == "update":
                instance.body.update(op.patch)
                for name in op.cleared:
                    instance.body.pop(name, None)
            instance.state, instance.state_message = "ACTIVE", ""
            op.response = {"@type": TYPE_URL.format("Instance"), **self._public(instance)}

    def _public(self, instance: FusionInstance) -> dict[str, Any]:
        """The instance as the API answers it: output-only fields set by the emulator."""
        project, location, instance_id = instance.key
        data: dict[str, Any] = {"name": instance.name, **copy.deepcopy(instance.body)}
        data["state"] = instance.state
        if instance.state_message:
            data["stateMessage"] = instance.state_message
        if instance.state != "CREATING":
            names = {"instance": instance_id, "project": project, "location": location}
            data["serviceEndpoint"] = self.config.service_endpoint.format(**names)
            data["apiEndpoint"] = self.config.api_endpoint.format(**names)
            data["gcsBucket"] = f"gs://{instance_id}-{project}"
            data["tenantProjectId"] = f"{project[:20]}-tp"
        data.setdefault("version", self.config.version)
        data["createTime"] = _timestamp(instance.created)
        data["updateTime"] = _timestamp(instance.updated)
        data["p4ServiceAccount"] = "service-000000000000@gcp-sa-datafusion.iam.gserviceaccount.com"
        return data

    def _operation_view(self, op: FusionOperation) -> dict[str, Any]:
        """The Operation as Google shapes it: ``done`` only once true, then ``error`` or ``response``."""
        metadata: dict[str, Any] = {
            "@type": TYPE_URL.format("OperationMetadata"),
            "createTime": _timestamp(op.started),
            "target": "projects/{}/locations/{}/instances/{}".format(*op.target),
            "verb": op.verb,
            "apiVersion": op.api_version,
        }
        data: dict[str, Any] = {"name": op.name, "metadata": metadata}
        if op.applied:
            metadata["endTime"] = _timestamp(op.done_at)
            data["done"] = True
            if op.failure is not None:
                data["error"] = {"code": 13, "message": op.failure}
            else:
                data["response"] = copy.deepcopy(op.response or {})
        return data

    async def _get_operation(self, request: web.Request) -> Any:
        info = request.match_info
        name = f"projects/{info['project']}/locations/{info['location']}/operations/{info['operation']}"
        with self._lock:
            self._settle(now())
            op = self._operations.get(name)
            if op is None:
                raise _GoogleError(404, f"Resource '{name}' was not found")
            return self._operation_view(op)

    # ----- OAuth2 and IAM -----

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != JWT_GRANT:
            return _oauth_error("unsupported_grant_type", "Only the JWT bearer grant is served here")
        assertion = str(form.get("assertion") or "")
        try:
            claims = self._verified_claims(assertion)
        except ValueError as exc:
            return _oauth_error("invalid_grant", f"Invalid JWT: {exc}")
        scopes = tuple(str(claims.get("scope") or CLOUD_PLATFORM_SCOPE).split())
        token = self.issue_token(str(claims["iss"]), scopes)
        return web.json_response(
            {"access_token": token, "expires_in": self.config.token_seconds, "token_type": "Bearer"}
        )

    def _verified_claims(self, assertion: str) -> dict[str, Any]:
        try:
            header_b64, payload_b64, signature_b64 = assertion.split(".")
            claims = json.loads(_unb64(payload_b64))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not a JWT ({type(exc).__name__})") from None
        if not isinstance(claims, dict) or not claims.get("iss"):
            raise ValueError("no issuer")
        with self._lock:
            public_key = self._public_keys.get(str(claims["iss"]))
        if public_key is not None:
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding

            try:
                public_key.verify(
                    _unb64(signature_b64),
                    f"{header_b64}.{payload_b64}".encode(),
                    padding.PKCS1v15(),
                    hashes.SHA256(),
                )
            except (InvalidSignature, ValueError):
                raise ValueError("Invalid JWT Signature.") from None
        at = now()
        if not float(claims.get("iat", 0)) - 60 <= at < float(claims.get("exp", 0)):
            raise ValueError("Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
        return claims

    async def _generate_access_token(self, request: web.Request) -> Any:
        if not request.get(PRINCIPAL):
            raise _GoogleError(401, "Request is missing a valid OAuth 2 access token")
        account = request.match_info["account"]
        body = await _json_body(request)
        delegates = [str(item).rsplit("/", 1)[-1] for item in body.get("delegates") or []]
        refused = set(self.config.refused_accounts)
        denied = [name for name in [*delegates, account] if name in refused]
        if denied:
            self.core.stats.incr("impersonations_refused")
            raise _GoogleError(
                403,
                f"Permission 'iam.serviceAccounts.getAccessToken' denied on resource "
                f"'projects/-/serviceAccounts/{denied[0]}' (or it may not exist).",
            )
        scopes = tuple(str(scope) for scope in body.get("scope") or ()) or (CLOUD_PLATFORM_SCOPE,)
        token = self.issue_token(account, scopes)
        self.core.stats.incr("impersonations")
        expires = datetime.fromtimestamp(now() + self.config.token_seconds, tz=UTC)
        return {"accessToken": token, "expireTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}

    # ----- control -----

    async def _control_instances(self, request: web.Request) -> web.Response:
        return web.json_response(self.instance_records())

    async def _control_operations(self, request: web.Request) -> web.Response:
        return web.json_response(self.operation_records())

    async def _control_fail(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
            self.fail_next(
                request.match_info["instance"],
                str(data.get("verb")),
                str(data.get("message") or "Simulated failure"),
            )
        except (ValueError, AttributeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"scheduled": True})

    async def _control_config(self, request: web.Request) -> web.Response:
        """Change settings of the running emulator: ``{"api_endpoint": ..., "create_seconds": ...}``."""
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("send a JSON object of settings")
            unknown = sorted(set(changes) - CONFIGURABLE)
            if unknown:
                raise ValueError(f"unknown settings {unknown}: use {sorted(CONFIGURABLE)}")
            with self._lock:
                for name, value in changes.items():
                    current = getattr(self.config, name)
                    setattr(
                        self.config,
                        name,
                        tuple(value) if isinstance(current, tuple) else type(current)(value),
                    )
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({name: getattr(self.config, name) for name in sorted(CONFIGURABLE)})

    async def _control_key(self, request: web.Request) -> web.Response:
        """A new service-account key whose ``token_uri`` is this emulator's (for demos with no Google)."""
        try:
            data = await request.json() if request.can_read_body else {}
        except ValueError:
            data = {}
        base = f"{request.scheme}://{request.host}"
        key = self.new_service_account_key(
            base + "/token",
            str(data.get("client_email") or "airflow@emulator-project.iam.gserviceaccount.com"),
            str(data.get("project_id") or "emulator-project"),
        )
        return web.json_response(key)

    def new_service_account_key(self, token_uri: str, client_email: str, project_id: str) -> dict[str, Any]:
        """A service-account key (a fresh RSA key) whose assertions this emulator verifies."""
        key, public_key = service_account_key(token_uri, client_email, project_id)
        self.register_key(client_email, public_key)
        return key


def service_account_key(token_uri: str, client_email: str, project_id: str) -> tuple[dict[str, Any], Any]:
    """A service-account key file's content with a fresh RSA key, and its public key (cryptography's)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": uuid.uuid4().hex,
        "private_key": pem,
        "client_email": client_email,
        "client_id": str(uuid.uuid4().int)[:21],
        "token_uri": token_uri,
    }
    return key, private.public_key()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _oauth_error(error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=400)


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise _GoogleError(400, "Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise _GoogleError(400, "Invalid JSON payload received. Expected an object.")
    return body


def _instance_body(body: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(body) - INSTANCE_FIELDS)
    if unknown:
        raise _GoogleError(
            400,
            f"Invalid JSON payload received. Unknown name \"{unknown[0]}\" at '{where}': Cannot find field.",
        )
    for name in ("labels", "options"):
        value = body.get(name)
        if value is not None and (
            not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())
        ):
            raise _GoogleError(400, f"Invalid value at '{where}.{name}': a map of strings to strings")
    return body


create_datafusion_app = DataFusionEmulator.new_app


class DataFusionEmulatorHandle(PlatformEmulatorHandle[DataFusionEmulator, DataFusionEmulatorConfig]):
    """A running Data Fusion emulator plus direct control of its state, for tests.

    Its URL plays three Google hosts: the management API (``[pipelines] datafusion_api_url``), the
    OAuth2 token endpoint (:attr:`token_uri`, a key's ``token_uri``) and IAM credentials
    (``[pipelines] google_iam_url``). :meth:`runs` lists the instances.
    """

    emulator_class = DataFusionEmulator
    run_key = "name"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    @property
    def iam_url(self) -> str:
        return self.url

    def service_account_key(
        self,
        client_email: str = "airflow@emulator-project.iam.gserviceaccount.com",
        project_id: str = "emulator-project",
    ) -> dict[str, Any]:
        """A fresh service-account key that this emulator's token endpoint accepts (signature checked)."""
        return self.emulator.new_service_account_key(self.token_uri, client_email, project_id)

    put_instance = delegate(
        "put_instance",
        "``put_instance(project, location, instance, body=None, state='ACTIVE')``: an instance in "
        "``state``, there at once (no operation).",
    )
    operations = delegate("operation_records", "Every long-running operation, as the API shows it.")
    fail_next = delegate(
        "fail_next",
        "``fail_next(instance, verb, message)``: fail the next ``verb`` (create, update, restart, "
        "delete) operation on ``instance``.",
    )

    def instance(self, project: str, location: str, instance: str) -> dict[str, Any]:
        """The instance as the API shows it now; ``KeyError`` if there is none."""
        return self.run(f"projects/{project}/locations/{location}/instances/{instance}")

    def issue_token(self, principal: str = "test@emulator-project.iam.gserviceaccount.com") -> str:
        return self.emulator.issue_token(principal)


__all__ = [
    "DataFusionEmulator",
    "DataFusionEmulatorConfig",
    "DataFusionEmulatorHandle",
    "create_datafusion_app",
    "service_account_key",
]
