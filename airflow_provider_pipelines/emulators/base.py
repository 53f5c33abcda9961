"""What every platform emulator is built on, and the names of the modules that build it.

An emulator is an ``aiohttp.web.Application`` whose handlers read and write one in-memory state, plus:

- :class:`FaultInjector` (``faults``): a middleware that answers some requests with errors, drops or
  delays, or lets a mutation act and then loses its reply (``lost-502``, ``lost-504``, ``lost-drop``);
- :class:`RequestStats` (``stats``): request counters and the last raw paths, ``GET /_emulator/stats``;
- :class:`PathGuard` (``paths``): refuses a request whose raw path would not reach exactly the resource
  it names, and records each request's path parameters, decoded once from the raw path;
- :class:`EmulatorCore` (``control``): ties them to the control API under ``/_emulator/``;
- :class:`Timeline` (``timeline``): which state a run is in now, from its start and per-state durations;
- :class:`EmulatorServer` (``server``) runs an application on a port in a background thread, and
  :class:`PlatformEmulatorHandle` (``handle``) is what tests hold of a running emulator;
- :class:`EmulatorCli` (``cli``): a platform's command line.

Every public name of those modules is importable from here as well.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from airflow_provider_pipelines.emulators.auth import (
    JwtError,
    bearer_auth_error,
    bearer_token,
    decode_hs256_jwt,
    encode_hs256_jwt,
    missing_headers,
)
from airflow_provider_pipelines.emulators.cli import (
    EmulatorCli,
    add_common_arguments,
    common_config_options,
    parse_header_options,
)
from airflow_provider_pipelines.emulators.control import EmulatorCore
from airflow_provider_pipelines.emulators.faults import (
    FAULT_KINDS,
    LOST_FAULT_KINDS,
    LOST_PREFIX,
    LOST_REPLY_KINDS,
    MALFORMED_BODY,
    RANDOM_FAULT_KINDS,
    FaultInjector,
    FaultOptions,
    FaultRule,
    format_retry_after,
    parse_kinds,
)
from airflow_provider_pipelines.emulators.handle import (
    ConfigT,
    EmulatorHandle,
    EmulatorT,
    PlatformEmulator,
    PlatformEmulatorHandle,
)
from airflow_provider_pipelines.emulators.paths import PathGuard, PathRecord
from airflow_provider_pipelines.emulators.routes import (
    CONTROL_PREFIX,
    ROUTE_MUTATIONS,
    ROUTE_NAMES,
    Handler,
    Mutation,
    MutationCheck,
    is_control_path,
    is_control_request,
    request_is_mutation,
    route_name_of,
)
from airflow_provider_pipelines.emulators.server import EmulatorServer
from airflow_provider_pipelines.emulators.stats import RequestStats
from airflow_provider_pipelines.emulators.timeline import Timeline, now

__all__ = [
    "CONTROL_PREFIX",
    "FAULT_KINDS",
    "LOST_FAULT_KINDS",
    "LOST_PREFIX",
    "LOST_REPLY_KINDS",
    "MALFORMED_BODY",
    "RANDOM_FAULT_KINDS",
    "ROUTE_MUTATIONS",
    "ROUTE_NAMES",
    "ConfigT",
    "EmulatorCli",
    "EmulatorCore",
    "EmulatorHandle",
    "EmulatorServer",
    "EmulatorT",
    "FaultInjector",
    "FaultOptions",
    "FaultRule",
    "Handler",
    "JwtError",
    "Mutation",
    "MutationCheck",
    "PathGuard",
    "PathRecord",
    "PlatformEmulator",
    "PlatformEmulatorHandle",
    "RequestStats",
    "Timeline",
    "add_common_arguments",
    "bearer_auth_error",
    "bearer_token",
    "common_config_options",
    "decode_hs256_jwt",
    "encode_hs256_jwt",
    "format_retry_after",
    "is_control_path",
    "is_control_request",
    "missing_headers",
    "now",
    "parse_header_options",
    "parse_kinds",
    "request_is_mutation",
    "restore_config",
    "route_name_of",
]


def restore_config(config: Any, initial: Any) -> None:
    """Put every field of a (live, mutable) config back to its initial value."""
    for item in dataclasses.fields(initial):
        setattr(config, item.name, copy.deepcopy(getattr(initial, item.name)))
