"""Test handles: a running emulator, its faults, stats and path records, and its platform's state."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from aiohttp import web

from airflow_provider_pipelines.emulators.control import EmulatorCore
from airflow_provider_pipelines.emulators.faults import FaultRule
from airflow_provider_pipelines.emulators.paths import PathRecord
from airflow_provider_pipelines.emulators.server import EmulatorServer, Stoppable


class EmulatorHandle(Stoppable):
    """What every platform's test handle shares: the URL, faults, stats and stopping the server.

    A platform subclasses it and adds its own state (``config``, ``runs()``, ``reset()``...).
    """

    def __init__(self, core: EmulatorCore, server: EmulatorServer) -> None:
        self.core = core
        self.server = server
        self.url = server.url

    def add_fault(
        self,
        method: str | None,
        path_regex: str | None,
        kind_or_status: str | int,
        times: int = 1,
        retry_after: float | None = None,
        body: str | None = None,
        seconds: float | None = None,
    ) -> None:
        """Fault the next ``times`` requests matching ``method`` (``None``: any) and ``path_regex``."""
        rule = FaultRule(str(kind_or_status), method, path_regex, times, retry_after, body, seconds)
        self.core.faults.add_rule(rule)

    def set_random_faults(
        self,
        rate: float,
        kinds: list[str] | tuple[str, ...] | None = None,
        seed: int | None = None,
        retry_after: float | None = None,
        slow_seconds: float | None = None,
    ) -> None:
        self.core.faults.set_random(rate, kinds, seed, retry_after, slow_seconds)

    def set_lost_replies(
        self, rate: float, kinds: list[str] | tuple[str, ...] | None = None, seed: int | None = None
    ) -> None:
        """Lose the reply of a fraction ``rate`` of the mutations after they are carried out; ``kinds``
        among ``502``, ``504``, ``drop`` (``None``: keep the current ones, all three at first)."""
        self.core.faults.set_lost_replies(rate, kinds, seed)

    def clear_faults(self) -> None:
        """No more scripted rules, random faults or random lost replies (the counts stay)."""
        self.core.faults.clear()

    def stats(self) -> dict[str, Any]:
        return self.core.stats_snapshot()

    def paths(self, route: str | None = None) -> list[PathRecord]:
        """What the path guard recorded of each API request (of route ``route``), oldest first."""
        return [r for r in self.core.paths.records() if route is None or r.route == route]

    def assert_paths_safe(self) -> None:
        """Raise ``AssertionError`` naming every request the path guard refused."""
        refused = [r for r in self.core.paths.records() if r.problems]
        if refused:
            lines = [f"{r.method} {r.raw_path}: {'; '.join(r.problems)}" for r in refused]
            raise AssertionError("path safety: refused requests:\n" + "\n".join(lines))

    def stop(self) -> None:
        self.server.stop()


ConfigT = TypeVar("ConfigT")


Record = dict[str, Any]


class PlatformEmulator(Protocol):
    """What :class:`PlatformEmulatorHandle` needs of a platform's emulator."""

    core: EmulatorCore
    config: Any

    def create_app(self) -> web.Application: ...

    def reset(self) -> None: ...

    def run_records(self) -> list[Record]: ...


def find_record(records: Iterable[Record], key: str, value: Any) -> Record:
    """The first of ``records`` whose ``key`` is ``value``; ``KeyError(value)`` if none."""
    for record in records:
        if record[key] == value:
            return record
    raise KeyError(value)


def lookup(listing: str, key: str) -> Callable[[Any, Any], Record]:
    """A handle method: the record of the handle's ``listing()`` whose ``key`` is its argument."""

    def method(self: Any, value: Any) -> Record:
        return find_record(getattr(self, listing)(), key, value)

    method.__doc__ = f"The record of ``{listing}()`` whose ``{key}`` is the argument; ``KeyError`` if none."
    return method


def delegate(name: str, doc: str) -> Callable[..., Any]:
    """A handle method: its emulator's method ``name``, called with the same arguments."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.emulator, name)(*args, **kwargs)

    method.__doc__ = doc
    return method


EmulatorT = TypeVar("EmulatorT", bound=PlatformEmulator)


class PlatformEmulatorHandle(EmulatorHandle, Generic[EmulatorT, ConfigT]):
    """An :class:`EmulatorHandle` over one platform emulator (``emulator``) and its live ``config``.

    A platform subclasses ``PlatformEmulatorHandle[XEmulator, XEmulatorConfig]`` and sets
    :attr:`emulator_class`, and :attr:`run_key`, the field that names a run in its records;
    :meth:`start` builds that emulator and serves it on a loopback port. ``config`` is live: changes
    apply from the next request; :meth:`reset` restores the initial values.
    """

    emulator_class: Callable[[ConfigT | None], EmulatorT]
    run_key: ClassVar[str]

    def __init__(self, emulator: EmulatorT, server: EmulatorServer) -> None:
        super().__init__(emulator.core, server)
        self.emulator = emulator

    @classmethod
    def start(cls, config: ConfigT | None = None, host: str = "127.0.0.1", port: int = 0) -> Self:
        emulator = cls.emulator_class(config)
        server = EmulatorServer(emulator.create_app(), host=host, port=port)
        server.start()
        return cls(emulator, server)

    @property
    def config(self) -> ConfigT:
        """Live: changes apply from the next request; the handle's ``reset()`` restores the initial values."""
        config: ConfigT = self.emulator.config
        return config

    def runs(self) -> list[Record]:
        """Every run's record, newest first (the platform's emulator says what a record is)."""
        return self.emulator.run_records()

    def run(self, run_id: Any) -> Record:
        """The record of :meth:`runs` whose :attr:`run_key` field is ``run_id``; ``KeyError`` if none."""
        return find_record(self.runs(), self.run_key, run_id)

    def reset(self) -> None:
        """Back to the initial state: the platform's, no faults, counters at zero, the initial config."""
        self.emulator.reset()
