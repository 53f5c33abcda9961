"""
Every platform of the provider, declared once, and the registry of them (:data:`PLATFORMS`).

A :class:`Platform` names everything the provider has for one platform: its connection type and form,
its hook, triggers, operator and sensor modules, extra links (as dotted paths, so nothing is imported)
and its emulator's CLI name. The provider info (``get_provider_info.py``) and the connection types
(``connection_types.py``) are derived from :data:`PLATFORMS`. This module imports no Airflow and
nothing heavy: Airflow's ProvidersManager reads the provider info while Airflow itself is starting.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from airflow_provider_pipelines.core.connection_form import ConnectionForm, ConnField

PACKAGE = "airflow_provider_pipelines"

TLS_AND_TIMEOUTS = (
    ConnField("verify", "Verify TLS", "boolean", "Check the server's certificate", default=True),
    ConnField("ca_bundle", "CA bundle path", description="Verify TLS against this CA bundle"),
    ConnField("connect_timeout", "Connect timeout (s)", "number", default=10),
    ConnField("timeout", "Read timeout (s)", "number", default=60),
    ConnField("retry_attempts", "Tries per call", "integer", "Backoff with jitter on 429, 5xx, timeouts", 5),
    ConnField("retry_max_wait", "Longest backoff wait (s)", "number", default=30),
)
"""The form fields every platform's connection has (``HttpSettings`` and ``RetryPolicy`` read them)."""


@dataclass(frozen=True)
class ConnectionType:
    """A connection type: its id, display name, hook class (dotted path) and form."""

    conn_type: str
    hook_name: str
    hook_class: str
    form: ConnectionForm


def _module_of(class_path: str) -> str:
    return class_path.rpartition(".")[0]


@dataclass(frozen=True)
class Platform:
    """
    One platform, declared once. Paths are dotted and imported by nobody here.

    :param name: the module name under ``hooks/``, ``operators/``, ``sensors/``, ``triggers/`` and
        ``links/`` (``cdap``); also the connection type unless ``conn_type`` says otherwise.
    :param display_name: the integration's and the connection type's name in Airflow's UI.
    :param form: the connection form (Airflow >= 3.2 reads it from the provider info, Airflow 2
        from the hook, which takes it from :attr:`connection`).
    :param hook: the hook class.
    :param triggers: the trigger classes.
    :param operators: the modules holding the operators.
    :param sensors: the modules holding the sensors.
    :param links: the extra link classes (declared to Airflow as ``extra-links``).
    :param emulator: the emulator's CLI name (``python -m airflow_provider_pipelines.emulators <name>``).
    :param conn_type: the connection type, when it is not ``name``.
    :param extra_hooks: further hook classes that have no connection type of this provider (Cloud
        Data Fusion's management API reads Google's ``google_cloud_platform`` connection).
    """

    name: str
    display_name: str
    form: ConnectionForm
    hook: str
    triggers: tuple[str, ...]
    operators: tuple[str, ...]
    sensors: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    emulator: str | None = None
    conn_type: str = ""
    extra_hooks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"platform name {self.name!r} must be a module name")
        for path in (
            self.hook,
            *self.extra_hooks,
            *self.triggers,
            *self.operators,
            *self.sensors,
            *self.links,
        ):
            if not all(part.isidentifier() for part in path.split(".")) or "." not in path:
                raise ValueError(f"platform {self.name!r}: {path!r} is not a dotted path")
        if not self.triggers or not self.operators:
            raise ValueError(f"platform {self.name!r} needs a trigger and an operator module")

    @cached_property
    def connection(self) -> ConnectionType:
        """The connection type: what ``connection-types`` lists, and what the hook's class attributes are."""
        return ConnectionType(self.conn_type or self.name, self.display_name, self.hook, self.form)

    @property
    def hook_modules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_module_of(path) for path in (self.hook, *self.extra_hooks)))

    @property
    def trigger_modules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_module_of(path) for path in self.triggers))


def registry(*platforms: Platform) -> tuple[Platform, ...]:
    """The platforms, in order, checked: each name, connection type and hook is declared once."""
    for what, values in (
        ("name", [platform.name for platform in platforms]),
        ("connection type", [platform.connection.conn_type for platform in platforms]),
        ("hook", [platform.hook for platform in platforms]),
    ):
        doubles = sorted({value for value in values if values.count(value) > 1})
        if doubles:
            raise ValueError(f"platforms declared twice (same {what}): {doubles}")
    return tuple(platforms)


def _declare(
    name: str,
    display_name: str,
    fields: tuple[ConnField, ...],
    hook: str,
    triggers: tuple[str, ...],
    links: tuple[str, ...] = (),
    **form: dict[str, str] | tuple[str, ...],
) -> Platform:
    """A platform laid out as this package lays them out: modules named after it, TLS and timeouts."""

    def module(kind: str) -> str:
        return f"{PACKAGE}.{kind}.{name}"

    return Platform(
        name=name,
        display_name=display_name,
        form=ConnectionForm(fields=(*fields, *TLS_AND_TIMEOUTS), **form),  # type: ignore[arg-type]
        hook=f"{module('hooks')}.{hook}",
        triggers=tuple(f"{module('triggers')}.{trigger}" for trigger in triggers),
        operators=(module("operators"),),
        sensors=(module("sensors"),),
        links=tuple(f"{module('links')}.{link}" for link in links),
        emulator=name,
    )


# -- the declarations, in the order the platforms landed --------------------------------------------

CDAP_BASE = _declare(
    "cdap",
    "CDAP / Cloud Data Fusion",
    (
        ConnField(
            "auth_type",
            "Authentication",
            description="Empty: a bearer token if one is set, Google if a key is, else none",
            choices=("none", "bearer", "google"),
        ),
        ConnField("keyfile_dict", "Service-account key (JSON)", "password", "Google auth: the key's JSON"),
        ConnField("key_path", "Service-account key path", description="Google auth: a key file on workers"),
        ConnField("ui_url", "UI URL", description="The CDAP / Data Fusion UI's address, for task links"),
    ),
    "CdapHook",
    ("CdapPipelineRunTrigger",),
    ("CdapPipelineLink", "CdapPipelinesListLink", "CdapInstanceLink"),
    hidden=("schema", "login", "port"),
    relabeling={"host": "CDAP router URL or Data Fusion apiEndpoint", "password": "Bearer token"},
    placeholders={
        "host": "http://cdap.example.com:11015 or https://…datafusion.googleusercontent.com/api",
        "password": "only for bearer authentication",
    },
)

# Cloud Data Fusion's instances (hooks/datafusion.py) and the instance operators belong to CDAP too.
CDAP = replace(
    CDAP_BASE,
    extra_hooks=(f"{PACKAGE}.hooks.datafusion.DataFusionHook",),
    triggers=(*CDAP_BASE.triggers, f"{PACKAGE}.triggers.datafusion.DataFusionOperationTrigger"),
    operators=(*CDAP_BASE.operators, f"{PACKAGE}.operators.cdap_instances"),
)

DAGGY = _declare(
    "daggy",
    "Daggy",
    (
        ConnField(
            "headers",
            "Extra headers (JSON)",
            "password",
            "Headers a proxy in front of daggyd needs, as a JSON object; values are secrets",
        ),
    ),
    "DaggyHook",
    ("DaggyRunTrigger",),
    hidden=("schema", "login", "password"),
    relabeling={"host": "daggyd host", "port": "daggyd port"},
    placeholders={"host": "daggy.example.com or http://daggy.example.com:2503", "port": "2503"},
)

TAILER = _declare(
    "tailer",
    "Tailer",
    (
        ConnField("refresh_token", "Firebase refresh token", "password", "Lets the hook renew tokens itself"),
        ConnField("firebase_api_key", "Firebase web API key", "password", "Needed with a refresh token"),
        ConnField(
            "firebase_token_url", "Firebase token URL", description="Default: Google's secure-token API"
        ),
    ),
    "TailerHook",
    ("TailerJobRunTrigger",),
    hidden=("schema", "login", "port"),
    relabeling={"host": "Tailer API URL", "password": "JWT (expires after an hour)"},
    placeholders={
        "host": "https://tailer-api-nqonovswsq-ew.a.run.app (the default)",
        "password": "output of `tailer auth get-token`, or leave empty and set a refresh token",
    },
)

FLOWENGINE = _declare(
    "flowengine",
    "FlowEngine (4Paradigm)",
    (
        ConnField(
            "engine_key",
            "Engine key",
            description="The key of the engine the pipelines run on",
            required=True,
        ),
        ConnField("user_id", "User id", description="The FlowEngine user the calls act as", default="1"),
        ConnField(
            "headers",
            "Extra headers (JSON)",
            "password",
            "Headers the gateway needs (cookie, access key), as a JSON object; values are secrets",
        ),
    ),
    "FlowEngineHook",
    ("FlowEnginePipelineRunTrigger",),
    hidden=("schema", "login", "password", "port"),
    relabeling={"host": "FlowEngine URL"},
    placeholders={"host": "https://flowengine.example.com"},
)

ENOS = _declare(
    "enos",
    "EnOS (Envision)",
    (
        ConnField("org_id", "Organization id", description="The EnOS organization (OU) id", required=True),
        ConnField("user_id", "User id", description="Needed for batch data flows"),
    ),
    "EnosHook",
    ("EnosStreamingPipelineTrigger", "EnosFlowInstanceTrigger"),
    hidden=("schema", "port"),
    relabeling={"host": "API gateway URL", "login": "App key", "password": "App secret"},
    placeholders={"host": "https://apim-ppe1.envisioniot.com"},
)

PLATFORMS: tuple[Platform, ...] = registry(CDAP, DAGGY, TAILER, FLOWENGINE, ENOS)
