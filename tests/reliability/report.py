"""The figures each reliability scenario measured, printed as one table at the end of the run."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ScenarioResult:
    """One row of the table: the scenario, what was measured, and whether it held."""

    number: int
    scenario: str
    figures: str
    verdict: str  # "pass" or "FAIL: <why>"


RESULTS: list[ScenarioResult] = []


def record(number: int, scenario: str, figures: str, verdict: str = "pass") -> None:
    """Add (or replace) the row of scenario ``number``/``scenario``; figures are one short line."""
    RESULTS[:] = [r for r in RESULTS if (r.number, r.scenario) != (number, scenario)]
    RESULTS.append(ScenarioResult(number, scenario, figures, verdict))


def verdict(held: bool) -> str:
    return "pass" if held else "FAIL"


def table() -> str:
    rows = sorted(RESULTS, key=lambda r: (r.number, r.scenario))
    lines = ["| # | Scenario | Figures | Result |", "|---|---|---|---|"]
    lines += [f"| {r.number} | {r.scenario} | {r.figures} | {r.verdict} |" for r in rows]
    return "\n".join(lines)


def save(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in RESULTS], indent=2) + "\n")
    path.with_suffix(".md").write_text(table() + "\n")


def output_path() -> Path:
    return Path(os.environ.get("RELIABILITY_REPORT", ".reliability/results.json"))
