"""Time in the emulators: the wall clock, and runs' states by it."""

from __future__ import annotations

import time
from dataclasses import dataclass


def now() -> float:
    """Wall clock used by the emulators (epoch seconds)."""
    return time.time()


def ms(moment: float) -> int:
    """Epoch seconds (or a duration) in whole milliseconds."""
    return round(moment * 1000)


@dataclass(frozen=True)
class Timeline:
    """States entered one after another by wall clock: no background task advances anything.

    ``phases`` is an ordered list of ``(state, seconds)``; after the last one the run is in ``final``
    for ever (``final=None`` keeps the last phase's state).
    """

    start: float
    phases: tuple[tuple[str, float], ...]
    final: str | None = None

    def state_at(self, now: float) -> str:
        elapsed = now - self.start
        for state, seconds in self.phases:
            if elapsed < seconds:
                return state
            elapsed -= seconds
        if self.final is not None:
            return self.final
        return self.phases[-1][0] if self.phases else ""

    def entered_at(self, state: str) -> float | None:
        """When ``state`` begins (possibly in the future); ``None`` if the timeline never reaches it."""
        moment = self.start
        for phase, seconds in self.phases:
            if phase == state:
                return moment
            moment += seconds
        return moment if state == self.final else None

    def ends_at(self) -> float:
        """When ``final`` is reached (``inf`` when a phase lasts for ever)."""
        return self.start + sum(seconds for _, seconds in self.phases)

    def changed_at(self, now: float) -> float:
        """When the state of ``now`` was entered: the start, or the end of the last phase already over."""
        moment = self.start
        for _, seconds in self.phases:
            if now - moment < seconds:
                return moment
            moment += seconds
        return moment
