"""CDAP runtime arguments as CDAP reads them: strings as given, other values as JSON text, None refused."""

from __future__ import annotations

import json

import pytest

from airflow_provider_pipelines.emulators.cdap import CdapEmulatorHandle
from airflow_provider_pipelines.hooks.cdap import runtime_arg_text
from tests.dag_runner import run_dag

IMPORTS = """
from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator
"""

EVERY_KIND = """{
    "code": "007",
    "count": 3,
    "ratio": 2.5,
    "full": True,
    "dry_run": False,
    "options": {"mode": "fast", "limits": [1, 2], "skip": None},
    "tables": ["sales", 7, True],
}"""
EXPECTED = {
    "code": "007",
    "count": "3",
    "ratio": "2.5",
    "full": "true",
    "dry_run": "false",
    "options": '{"mode":"fast","limits":[1,2],"skip":null}',
    "tables": '["sales",7,true]',
}


def start_task(pipeline: str, runtime_args: str, deferrable: bool = False) -> str:
    return (
        f'CdapStartPipelineOperator(task_id="start", pipeline_name="{pipeline}", '
        f"runtime_args={runtime_args}, deferrable={deferrable}, poll_interval=0.1)"
    )


def recorded_args(cdap: CdapEmulatorHandle, pipeline: str) -> dict[str, str]:
    runs = cdap.runs("default", pipeline)
    assert len(runs) == 1
    args = json.loads(runs[0]["properties"]["runtimeArgs"])
    assert isinstance(args, dict)
    return args


def test_values_of_every_kind_reach_cdap_as_text(cdap: CdapEmulatorHandle) -> None:
    result = run_dag(start_task("typed-args", EVERY_KIND), imports=IMPORTS)

    assert result.states == {"start": "success"}
    args = recorded_args(cdap, "typed-args")
    # Besides ours: the task marker, and what CDAP adds itself (logical.start.time).
    assert {key: args[key] for key in EXPECTED if key in args} == EXPECTED
    assert set(args) - set(EXPECTED) <= {"airflow.pipelines.task", "logical.start.time"}


def test_templates_inside_runtime_args_render_as_text_under_native_rendering(
    cdap: CdapEmulatorHandle,
) -> None:
    """A string inside ``runtime_args`` stays a string, its template rendered as text
    (docs/concepts/templating.md), whatever the DAG's native setting."""
    templated = '{"count": "{{ 40 + 2 }}", "window": "{{ {\'days\': 7} }}", "name": "{{ \'007\' }}"}'
    result = run_dag(
        start_task("native-args", templated, deferrable=True),
        imports=IMPORTS,
        dag_kwargs="render_template_as_native_obj=True",
    )

    assert result.states == {"start": "success"}
    args = recorded_args(cdap, "native-args")
    assert args["count"] == "42"
    assert args["window"] == "{'days': 7}"
    assert args["name"] == "007"


def test_none_is_refused_when_the_dag_is_parsed(cdap: CdapEmulatorHandle) -> None:
    with pytest.raises(ValueError, match="CDAP runtime argument 'day' is None") as refused:
        run_dag(start_task("none-arg", '{"region": "eu", "day": None}'), imports=IMPORTS)

    assert "leave the key out" in str(refused.value)
    assert cdap.runs("default", "none-arg") == []


def test_a_whole_template_rendering_a_none_fails_the_task_before_any_start(
    cdap: CdapEmulatorHandle, capfd: pytest.CaptureFixture[str]
) -> None:
    """``runtime_args`` that is one whole template may render natively, to a dict holding None."""
    result = run_dag(
        start_task("rendered-none", "\"{{ {'region': 'eu', 'day': None} }}\""),
        imports=IMPORTS,
        dag_kwargs="render_template_as_native_obj=True",
    )

    assert result.states == {"start": "failed"}
    assert "CDAP runtime argument 'day' is None" in "".join(capfd.readouterr())
    assert cdap.runs("default", "rendered-none") == []
    assert not [p for p in cdap.paths() if p.method == "POST"], "a start request was sent"


def test_runtime_arg_text() -> None:
    assert runtime_arg_text("a", "007") == "007"
    assert runtime_arg_text("a", "") == ""
    assert runtime_arg_text("a", 0) == "0"
    assert runtime_arg_text("a", -1.5) == "-1.5"
    assert runtime_arg_text("a", True) == "true"
    assert runtime_arg_text("a", {"x": {"y": None}}) == '{"x":{"y":null}}'
    assert runtime_arg_text("a", [1, "b"]) == '[1,"b"]'
    with pytest.raises(ValueError, match="'a' is None"):
        runtime_arg_text("a", None)
