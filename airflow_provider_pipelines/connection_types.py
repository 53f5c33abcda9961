"""
Every platform's connection type and form, in one module that imports no Airflow: the provider
info reads it while Airflow itself is still starting, and each hook takes its form from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_pipelines.core.connection_form import ConnectionForm, ConnField

_TLS_AND_TIMEOUTS = (
    ConnField("verify", "Verify TLS", "boolean", "Check the server's certificate", default=True),
    ConnField("ca_bundle", "CA bundle path", description="Verify TLS against this CA bundle"),
    ConnField("connect_timeout", "Connect timeout (s)", "number", default=10),
    ConnField("timeout", "Read timeout (s)", "number", default=60),
    ConnField("retry_attempts", "Tries per call", "integer", "Backoff with jitter on 429, 5xx, timeouts", 5),
    ConnField("retry_max_wait", "Longest backoff wait (s)", "number", default=30),
)


@dataclass(frozen=True)
class ConnectionType:
    """A connection type: its id, display name, hook class (dotted path) and form."""

    conn_type: str
    hook_name: str
    hook_class: str
    form: ConnectionForm


CDAP_CONNECTION = ConnectionType(
    conn_type="cdap",
    hook_name="CDAP / Cloud Data Fusion",
    hook_class="airflow_provider_pipelines.hooks.cdap.CdapHook",
    form=ConnectionForm(
        fields=(
            ConnField("auth_type", "Auth type", description="none, bearer or google (inferred when empty)"),
            ConnField(
                "keyfile_dict", "Service-account key (JSON)", "password", "Google auth: the key's JSON"
            ),
            ConnField(
                "key_path", "Service-account key path", description="Google auth: a key file on workers"
            ),
            ConnField(
                "ui_url", "UI URL", description="Base URL of the CDAP / Data Fusion UI, for task links"
            ),
            *_TLS_AND_TIMEOUTS,
        ),
        hidden=("schema", "login", "port"),
        relabeling={"host": "CDAP router URL or Data Fusion apiEndpoint", "password": "Bearer token"},
        placeholders={
            "host": "http://cdap.example.com:11015 or https://…datafusion.googleusercontent.com/api",
            "password": "only for auth_type bearer",
        },
    ),
)

DAGGY_CONNECTION = ConnectionType(
    conn_type="daggy",
    hook_name="Daggy",
    hook_class="airflow_provider_pipelines.hooks.daggy.DaggyHook",
    form=ConnectionForm(
        fields=(
            ConnField(
                "headers",
                "Extra headers (JSON)",
                "password",
                "Headers a proxy in front of daggyd needs, as a JSON object; values are secrets",
            ),
            *_TLS_AND_TIMEOUTS,
        ),
        hidden=("schema", "login", "password"),
        relabeling={"host": "daggyd host", "port": "daggyd port"},
        placeholders={"host": "daggy.example.com or http://daggy.example.com:2503", "port": "2503"},
    ),
)

TAILER_CONNECTION = ConnectionType(
    conn_type="tailer",
    hook_name="Tailer",
    hook_class="airflow_provider_pipelines.hooks.tailer.TailerHook",
    form=ConnectionForm(
        fields=(
            ConnField(
                "refresh_token", "Firebase refresh token", "password", "Lets the hook renew tokens itself"
            ),
            ConnField("firebase_api_key", "Firebase web API key", "password", "Needed with a refresh token"),
            ConnField(
                "firebase_token_url", "Firebase token URL", description="Default: Google's secure-token API"
            ),
            *_TLS_AND_TIMEOUTS,
        ),
        hidden=("schema", "login", "port"),
        relabeling={"host": "Tailer API URL", "password": "JWT (expires after an hour)"},
        placeholders={
            "host": "https://tailer-api-nqonovswsq-ew.a.run.app (the default)",
            "password": "output of `tailer auth get-token`, or leave empty and set a refresh token",
        },
    ),
)

FLOWENGINE_CONNECTION = ConnectionType(
    conn_type="flowengine",
    hook_name="FlowEngine (4Paradigm)",
    hook_class="airflow_provider_pipelines.hooks.flowengine.FlowEngineHook",
    form=ConnectionForm(
        fields=(
            ConnField("engine_key", "Engine key", description="engineKey of the engine"),
            ConnField("user_id", "User id", description="Sent as X-FlowEngine-UserId", default="1"),
            ConnField(
                "headers",
                "Extra headers (JSON)",
                "password",
                "Headers the gateway needs (cookie, access key), as a JSON object; values are secrets",
            ),
            *_TLS_AND_TIMEOUTS,
        ),
        hidden=("schema", "login", "password", "port"),
        relabeling={"host": "fl_url"},
        placeholders={"host": "https://flowengine.example.com"},
    ),
)

ENOS_CONNECTION = ConnectionType(
    conn_type="enos",
    hook_name="EnOS (Envision)",
    hook_class="airflow_provider_pipelines.hooks.enos.EnosHook",
    form=ConnectionForm(
        fields=(
            ConnField("org_id", "Organization id (orgId)"),
            ConnField("user_id", "User id", description="Needed for batch data flows"),
            *_TLS_AND_TIMEOUTS,
        ),
        hidden=("schema", "port"),
        relabeling={"host": "API gateway URL", "login": "App key", "password": "App secret"},
        placeholders={"host": "https://apim-ppe1.envisioniot.com"},
    ),
)

CONNECTION_TYPES: tuple[ConnectionType, ...] = (
    CDAP_CONNECTION,
    DAGGY_CONNECTION,
    TAILER_CONNECTION,
    FLOWENGINE_CONNECTION,
    ENOS_CONNECTION,
)
