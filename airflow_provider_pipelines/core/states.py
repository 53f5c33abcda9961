"""The run state model every platform maps its own vocabulary onto."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_pipelines.core.errors import MAX_MESSAGE, redact, shorten


class RunState(enum.StrEnum):
    """Where a run is, in the provider's words."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    UNKNOWN = "unknown"  # a platform state we do not know: keep waiting, never success

    @property
    def terminal(self) -> bool:
        return self in (RunState.SUCCESS, RunState.FAILED)


@dataclass(frozen=True)
class StateMap:
    """
    A platform's run states mapped onto :class:`RunState`.

    Matching ignores case. A state missing from the map is ``UNKNOWN``: not terminal, never success.
    ``success_states`` given by a user replace which platform states count as success; any other
    terminal state, and any state the user listed in ``failure_states``, is then a failure.
    """

    states: Mapping[str, RunState]

    def __post_init__(self) -> None:
        object.__setattr__(self, "states", {k.upper(): v for k, v in self.states.items()})

    def classify(
        self,
        raw: str | None,
        success_states: Iterable[str] | None = None,
        failure_states: Iterable[str] | None = None,
    ) -> RunState:
        key = str(raw).upper() if raw is not None else ""
        if success_states is None and failure_states is None:  # the platform's own reading: every poll
            return self.states.get(key, RunState.UNKNOWN)
        if success_states is not None and key in {s.upper() for s in success_states}:
            return RunState.SUCCESS
        if failure_states is not None and key in {s.upper() for s in failure_states}:
            return RunState.FAILED
        state = self.states.get(key, RunState.UNKNOWN)
        if success_states is not None and state is RunState.SUCCESS:
            return RunState.FAILED
        return state

    def names(self, state: RunState) -> list[str]:
        return sorted(k for k, v in self.states.items() if v is state)


@dataclass(frozen=True)
class RunStatus:
    """
    One observation of a run: the platform's own state, what it means, details for the outcome
    (JSON primitives) and, optionally, a progress line logged whenever it changes (task counts...).
    """

    raw_state: str
    state: RunState
    details: Mapping[str, Any] = field(default_factory=dict)
    progress: str | None = None

    def __init__(
        self,
        raw_state: str,
        state: RunState,
        details: Mapping[str, Any] | None = None,
        progress: str | None = None,
    ) -> None:
        # The generated __init__ of a frozen dataclass sets each field through object.__setattr__; a
        # trigger makes one of these per poll. details omitted (or None) is a new empty dict, as before.
        fields = self.__dict__
        fields["raw_state"] = raw_state
        fields["state"] = state
        fields["details"] = {} if details is None else details
        fields["progress"] = progress

    @property
    def terminal(self) -> bool:
        return self.state.terminal

    def sanitized(self, secrets: Iterable[str]) -> RunStatus:
        """
        This status fit to travel in trigger events, logs and error messages, which is where the state,
        the details and the progress (all read from a reply) go: secrets taken out, texts capped (a
        reply may hold megabytes where a state was due), and numbers JSON cannot carry (NaN,
        Infinity) made null. Itself when nothing had to change.
        """
        # What redact() replaces.
        secrets = [secret for secret in secrets if len(secret) >= 4] if secrets else []
        # Every poll passes through here: look before copying, as nearly every status is fit already.
        details = self.details
        fit = not _unfit(self.raw_state, secrets) and (not details or not _unfit(details, secrets))
        if fit and (self.progress is None or not _unfit(self.progress, secrets)):
            return self
        progress = _clean(self.progress, secrets) if self.progress is not None else None
        details = _clean(dict(self.details), secrets)
        return RunStatus(_clean(self.raw_state, secrets), self.state, details, progress)


def _unfit(value: Any, secrets: list[str]) -> bool:
    """Whether a value read from a reply needs :func:`_clean` (loops, not generators: it runs per poll)."""
    kind = type(value)
    # Numbers and null first, a dict before the Mapping ABC: per poll, the ABC checks cost the most here.
    if kind is int or kind is bool or value is None:
        return False
    if isinstance(value, str):
        if len(value) > MAX_MESSAGE:
            return True
        for secret in secrets:  # noqa: SIM110
            if secret in value:
                return True
        return False
    if isinstance(value, float):
        return not math.isfinite(value)
    if kind is dict or isinstance(value, Mapping):
        for key, item in value.items():  # noqa: SIM110
            if _unfit(key, secrets) or _unfit(item, secrets):
                return True
        return False
    if isinstance(value, list | tuple):
        for item in value:
            if _unfit(item, secrets):
                return True
    return False


def _clean(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return shorten(redact(value, secrets), MAX_MESSAGE)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {_clean(k, secrets): _clean(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, secrets) for v in value]
    return value
