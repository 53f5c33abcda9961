"""What every platform emulator is built on (:class:`Emulator`), and every public name of the modules
that build it (faults, stats, paths, control, timeline, server, handle, cli; docs/EMULATORS.md)."""

from __future__ import annotations

import copy
import dataclasses
import threading
import typing
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from aiohttp import web

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
    Option,
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
    ApiError,
    Handler,
    Middleware,
    Mutation,
    MutationCheck,
    Route,
    is_control_path,
    is_control_request,
    json_view,
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
    "ApiError",
    "ConfigT",
    "Emulator",
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


OptionsT = TypeVar("OptionsT", bound=FaultOptions)


class Emulator(Generic[OptionsT]):
    """An in-memory platform: its live ``config``, its :class:`EmulatorCore`, a lock over its state, and the
    application serving it. A platform subclasses ``Emulator[XEmulatorConfig]`` and declares:

    - ``name`` (its control routes are under ``/_emulator/<name>/``) and, for the command line,
      ``cli_options`` (``config_class`` is ``XEmulatorConfig``, from ``Emulator[XEmulatorConfig]``);
    - ``counters`` and ``keyed_counters``: its own counters in the stats (:class:`RequestStats`);
    - :meth:`clear_state`: its state as at start (at construction, and by :meth:`reset`);
    - :meth:`routes`, :meth:`middlewares` (after the core's), and its control routes: ``control_views``
      (a path answering a method's result as JSON) and :meth:`control_routes`.
    """

    name: ClassVar[str]
    config_class: type[OptionsT]
    cli_options: ClassVar[Sequence[Option]] = ()
    counters: ClassVar[Sequence[str]] = ()
    keyed_counters: ClassVar[Sequence[str]] = ()
    client_max_size: ClassVar[int] = 1024**2
    prefixes: ClassVar[Sequence[str]] = ("",)  # where the API routes are served, by default
    control_views: ClassVar[Mapping[str, str]] = {}  # GET path under /_emulator/<name>/ -> method's JSON

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):
            if typing.get_origin(base) is Emulator:
                (cls.config_class,) = typing.get_args(base)

    def __init__(self, config: OptionsT | None = None) -> None:
        self.config: OptionsT = config if config is not None else self.config_class()
        self._initial_config = copy.deepcopy(self.config)
        self._lock = threading.RLock()
        stats = RequestStats(counters=self.counters, keyed_counters=self.keyed_counters)
        self.core = EmulatorCore(stats, FaultInjector.from_options(self.config))
        self.core.reset_hooks.append(self._reset_state)
        self.clear_state()

    def reset(self) -> None:
        """Back to the as-started state (see :meth:`clear_state`), no faults or counts, the initial config."""
        self.core.reset()

    def _reset_state(self) -> None:
        with self._lock:
            restore_config(self.config, self._initial_config)
            self.clear_state()
        self.core.faults.reset_to(self.config)

    def clear_state(self) -> None:
        """Set the platform's state as it is at start (called with the lock held on a reset)."""

    def routes(self) -> Sequence[Route]:
        """The platform's API routes, in the order the router tries them."""
        return ()

    def middlewares(self) -> Sequence[Middleware]:
        """The platform's own middlewares (authentication, error shapes), outermost first."""
        return ()

    def control_routes(self) -> Sequence[tuple[str, str, Handler]]:
        """``(method, path under /_emulator/<name>/, handler)`` of the platform's control routes."""
        return ()

    @classmethod
    def new_app(cls, config: OptionsT | None = None) -> web.Application:
        """A fresh application of a new emulator (its state is reachable only over HTTP)."""
        return cls(config).create_app()

    def create_app(self) -> web.Application:
        """A fresh application serving this emulator's state."""
        app = web.Application(client_max_size=self.client_max_size)
        self.core.install(app)
        app.middlewares.extend(self.middlewares())
        for method, path, handler, name, mutation, prefixes in self.routes():
            prefixes = self.prefixes if prefixes is None else prefixes
            self.core.add_route(app, method, path, handler, name, prefixes, mutation)
        views = [("GET", path, json_view(getattr(self, read))) for path, read in self.control_views.items()]
        for method, path, handler in [*views, *self.control_routes()]:
            app.router.add_route(method, f"{CONTROL_PREFIX}{self.name}/{path}", handler)
        return app
