"""Every wait ends (issue #14 item 5): a finite default timeout, max_unreachable, execution_timeout."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator
from tests.dag_runner import run_dag

IMPORTS = "from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator"
MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])
RUN_READS = ("GET", r"/runs/[^/]+$")


def start(deferrable: bool, extra: str) -> str:
    return (
        f'CdapStartPipelineOperator(task_id="start", pipeline_name="long-load", deferrable={deferrable}, '
        f"poll_interval=0.1, {extra})"
    )


def test_the_default_timeout_is_seven_days_and_none_can_be_written_out() -> None:
    assert CdapStartPipelineOperator(task_id="a", pipeline_name="p").timeout == timedelta(days=7)
    assert CdapStartPipelineOperator(task_id="b", pipeline_name="p", timeout=None).timeout is None


@MODES
def test_a_wait_that_sees_only_transient_errors_ends_after_max_unreachable(
    cdap: Any, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    cdap.add_fault(*RUN_READS, 502, times=10_000)
    result = run_dag(start(deferrable, "max_unreachable=0.5"), imports=IMPORTS)
    assert result.states == {"start": "failed"}
    out = "".join(capfd.readouterr())
    assert "CDAP run" in out and "could not be read for" in out and "HTTP 502" in out


def test_max_unreachable_from_the_connection(
    cdap: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    conn = {
        "conn_type": "cdap",
        "host": cdap.url,
        "extra": {"retry_initial_wait": 0.01, "max_unreachable": 0.5},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CDAP_DEFAULT", json.dumps(conn))
    cdap.add_fault(*RUN_READS, 503, times=10_000)
    result = run_dag(start(False, "timeout=60"), imports=IMPORTS)
    assert result.states == {"start": "failed"}
    assert "max_unreachable 0.5s" in "".join(capfd.readouterr())


@MODES
def test_execution_timeout_ends_the_wait_and_stops_the_run(cdap: Any, deferrable: bool) -> None:
    cdap.config.long_factor = 1000
    result = run_dag(start(deferrable, "execution_timeout=timedelta(seconds=2)"), imports=IMPORTS)
    assert result.states == {"start": "failed"}
    (run,) = cdap.runs("default", "long-load")
    assert run["status"] in ("STOPPING", "KILLED")
    assert sum(cdap.stats()["run_stops"].values()) == 1
