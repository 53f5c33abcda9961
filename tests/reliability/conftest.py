"""Prints the reliability table once the scenarios have run (``make reliability``)."""

from __future__ import annotations

from typing import Any

from tests.reliability import report


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    if not report.RESULTS:
        return
    terminalreporter.section("reliability figures")
    terminalreporter.write_line(report.table())
    path = report.output_path()
    report.save(path)
    terminalreporter.write_line(f"(saved to {path} and {path.with_suffix('.md')})")
