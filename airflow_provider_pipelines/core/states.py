"""The run state model every platform maps its own vocabulary onto."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_pipelines.core.errors import redact, shorten


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
        secrets = list(secrets)

        def clean(value: Any) -> Any:
            if isinstance(value, str):
                return shorten(redact(value, secrets))
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, Mapping):
                return {clean(k): clean(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [clean(v) for v in value]
            return value

        progress = clean(self.progress) if self.progress is not None else None
        cleaned = RunStatus(clean(self.raw_state), self.state, clean(dict(self.details)), progress)
        return self if repr(cleaned) == repr(self) else cleaned
