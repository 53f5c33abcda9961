"""The example platform through real Airflow task runs (dag.test), deferrable and classic: what every
platform gets from the core (start once, wait, fail with the cause, cancel on timeout, adopt a run
whose start reply was lost), shown on the smallest platform there is."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pipelines.emulators.base import add_common_arguments
from airflow_provider_pipelines.get_provider_info import provider_info
from tests.dag_runner import run_dag
from tests.example_platform.emulator import CLI, ExampleEmulatorHandle
from tests.example_platform.platform import EXAMPLE, REGISTRY
from tests.test_examples_and_metadata import declaration_problems

IMPORTS = """
from tests.example_platform.operator import ExampleRunOperator
from tests.example_platform.sensor import ExampleRunSensor
"""
MODES = pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "classic"])


def operator(job: str, deferrable: bool, extra: str = "") -> str:
    return (
        f"ExampleRunOperator(task_id='run', job={job!r}, deferrable={deferrable}, poll_interval=0.1, "
        f"not_found_grace=5{', ' + extra if extra else ''})"
    )


@MODES
def test_a_run_that_succeeds(example: ExampleEmulatorHandle, deferrable: bool) -> None:
    result = run_dag(operator("daily", deferrable), imports=IMPORTS)

    assert result.states == {"run": "success"}
    (run,) = example.runs()
    assert run["state"] == "SUCCEEDED"
    assert result.xcom("run") == result.xcom("run", "run_id") == run["id"]
    assert run["marker"] == f"{result.dag_id}/{result.run_id}/run/-1"
    assert result.xcom("run", "example_job_url") == f"{example.url}/ui/jobs/daily"
    assert ("aiohttp" in example.stats()["reads_by_client"]) == deferrable  # the trigger read it


@MODES
def test_a_run_that_fails_fails_the_task_with_its_log(
    example: ExampleEmulatorHandle, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag(operator("nightly-fail", deferrable), imports=IMPORTS)

    assert result.states == {"run": "failed"}
    assert [run["state"] for run in example.runs()] == ["FAILED"]
    assert "job nightly-fail: step 2: simulated failure" in "".join(capfd.readouterr())


@MODES
def test_a_timeout_cancels_the_run(example: ExampleEmulatorHandle, deferrable: bool) -> None:
    result = run_dag(operator("long", deferrable, "timeout=0.5"), imports=IMPORTS)

    assert result.states == {"run": "failed"}
    assert [run["state"] for run in example.runs()] == ["CANCELLED"]
    assert example.stats()["cancels"] == 1


@pytest.mark.parametrize(
    ("deferrable", "kind"), [(True, "lost-502"), (False, "lost-drop")], ids=["deferrable", "classic"]
)
def test_a_lost_start_reply_is_resolved_by_the_marker_look_up(
    example: ExampleEmulatorHandle, deferrable: bool, kind: str
) -> None:
    example.add_fault("POST", r"^/api/jobs/[^/]+/runs$", kind)
    result = run_dag(operator("daily", deferrable), imports=IMPORTS)

    assert result.states == {"run": "success"}
    (run,) = example.runs()  # started once, and adopted
    assert result.xcom("run", "run_id") == run["id"]
    assert example.stats()["starts"] == 1
    assert example.stats()["lost_replies"] == {"start": 1}


@MODES
def test_the_sensor_waits_for_a_run_started_elsewhere(
    example: ExampleEmulatorHandle, deferrable: bool
) -> None:
    result = run_dag(
        f"""
        start = ExampleRunOperator(task_id="start", job="daily", wait_for_completion=False)
        wait = ExampleRunSensor(
            task_id="wait", run_id="{{{{ ti.xcom_pull(task_ids='start', key='run_id') }}}}",
            poke_interval=0.1, deferrable={deferrable},
        )
        start >> wait
        """,
        imports=IMPORTS,
    )
    assert result.states == {"start": "success", "wait": "success"}
    assert [run["state"] for run in example.runs()] == ["SUCCEEDED"]


def test_the_declaration_matches_the_code_and_gives_valid_provider_info() -> None:
    import airflow
    import jsonschema

    assert declaration_problems(EXAMPLE) == []
    info = provider_info(REGISTRY)
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(info, schema)
    (conn,) = [c for c in info["connection-types"] if c["connection-type"] == "example"]
    assert conn["hook-class-name"] == "tests.example_platform.hook.ExampleHook"
    assert conn["ui-field-behaviour"]["relabeling"]["password"] == "API token"
    assert "tests.example_platform.link.ExampleJobLink" in info["extra-links"]
    assert {"integration-name": "Example platform", "python-modules": ["tests.example_platform.trigger"]} in (
        info["triggers"]
    )


def test_the_example_dag_parses() -> None:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    bag = DagBag(dag_folder=str(Path(__file__).with_name("example_dag.py")))
    assert bag.import_errors == {}
    assert set(bag.dags["example_example"].task_ids) == {"run_daily", "start_nightly", "wait_nightly"}


def test_the_emulator_cli_builds_an_app() -> None:
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    CLI.add_arguments(parser)
    app: Any = CLI.create_app(parser.parse_args(["--running-seconds", "1"]))
    assert CLI.name == EXAMPLE.emulator
    assert any(route.resource.canonical == "/api/jobs/{job}/runs" for route in app.router.routes())
