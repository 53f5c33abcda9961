"""
OpenLineage from every platform's example DAG: the DAG runs for real (``dag.test()``) against the
emulators, with the openlineage provider installed and its file transport configured, and the events
the provider wrote are read back.

Each DAG runs in a child process: the openlineage provider decides once, when Airflow loads its
plugin, whether it is enabled, so the transport must be configured before Airflow starts (and the rest
of the suite runs without it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pipelines.lineage.schemas import schema_path, schema_url
from airflow_provider_pipelines.lineage.task import OpenLineageMixin

pytest.importorskip("airflow.providers.openlineage")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "example_dags"
RUN_FACET = "pipelines_platformRun"
JOB_FACET = "pipelines_platformJob"

RUN_EXAMPLE = """
import importlib.util, sys
path = sys.argv[1]
spec = importlib.util.spec_from_file_location("lineage_example", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
states = {}
for dag in [v for v in vars(module).values() if type(v).__name__ == "DAG"]:
    if sys.argv[2:] and dag.dag_id not in sys.argv[2:]:
        continue
    run = dag.test()
    for ti in run.get_task_instances():
        states[f"{dag.dag_id}.{ti.task_id}"] = str(getattr(ti.state, "value", ti.state))
print("STATES=" + __import__("json").dumps(states))
"""


def run_with_lineage(
    source: Path | str, tmp_path: Path, *dag_ids: str, env: dict[str, str] | None = None, prelude: str = ""
) -> tuple[dict[str, str], list[dict[str, Any]], str]:
    """Run a DAG file's DAGs in a child process with OpenLineage on; task states, events, output."""
    dags = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    copy = dags / f"ol_{uuid.uuid4().hex[:8]}.py"
    if isinstance(source, Path):
        shutil.copy(source, copy)
    else:
        copy.write_text(textwrap.dedent(source))
    events_file = tmp_path / "events.jsonl"
    child_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "pipelines-tests",
        **(env or {}),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", prelude + RUN_EXAMPLE, str(copy), *dag_ids],
            env=child_env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        copy.unlink(missing_ok=True)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    # raw_decode: a forked OpenLineage emitter may write on the same line right after it.
    states, _ = json.JSONDecoder().raw_decode(output.split("STATES=", 1)[1])
    events = (
        [json.loads(line) for line in events_file.read_text().splitlines()] if events_file.exists() else []
    )
    return states, events, output


def task_events(events: list[dict[str, Any]], dag_id: str, task_id: str) -> dict[str, dict[str, Any]]:
    """The events of one task, by event type (the last of each)."""
    found = {}
    for event in events:
        if event["job"]["name"] == f"{dag_id}.{task_id}":
            found[event["eventType"]] = event
    return found


def datasets(event: dict[str, Any], side: str) -> set[tuple[str, str]]:
    return {(d["namespace"], d["name"]) for d in event.get(side, [])}


def assert_platform_run(
    event: dict[str, Any], platform: str, pipeline: str | None = None, with_run: bool = True
) -> dict[str, Any]:
    facet = event["run"]["facets"][RUN_FACET]
    assert facet["platform"] == platform
    assert facet["_schemaURL"] == schema_url("PipelinePlatformRunFacet")
    if pipeline is not None:
        assert facet["pipeline"] == pipeline
    job = event["job"]["facets"][JOB_FACET]
    assert job["platform"] == platform
    assert job["_schemaURL"] == schema_url("PipelinePlatformJobFacet")
    if with_run:
        assert facet["runId"]
        assert event["run"]["facets"]["externalQuery"]["externalQueryId"] == facet["runId"]
        # The parent of the task's run is still its DAG run: the platform run is a facet, not a parent.
        assert event["run"]["facets"]["parent"]["job"]["name"] == event["job"]["name"].split(".")[0]
    return facet


def test_the_facet_schemas_ship_with_the_package() -> None:
    for facet in ("PipelinePlatformRunFacet", "PipelinePlatformJobFacet"):
        schema = json.loads(schema_path(facet).read_text())
        assert facet in schema["$defs"]
        assert schema["$id"] == schema_url(facet).split("#")[0]


def test_cdap_example_emits_runs_and_the_pipelines_datasets(cdap: Any, tmp_path: Path) -> None:
    states, events, _ = run_with_lineage(EXAMPLES / "example_cdap.py", tmp_path)

    assert set(states.values()) == {"success"}, states
    daily = task_events(events, "example_cdap", "daily_sales")
    assert {"START", "COMPLETE"} <= set(daily)
    start, complete = daily["START"], daily["COMPLETE"]
    assert_platform_run(start, "CDAP", "daily-sales", with_run=False)
    facet = assert_platform_run(complete, "CDAP", "daily-sales")
    (run,) = cdap.runs(app="daily-sales")
    assert facet["runId"] == run["runid"]
    assert facet["namespace"] == "default" and facet["kind"] == "batch"
    assert facet["instance"] == cdap.url.split("://")[1]
    assert facet["url"] == "http://cdap-ui:11011/pipelines/ns/default/view/daily-sales"
    # The deployed config's macros are filled from the run's runtime arguments.
    day = run["properties"]["runtimeArgs"]
    args = json.loads(day) if isinstance(day, str) else day
    assert datasets(complete, "inputs") == {("gs://example-bucket", args["input.path"][19:].strip("/"))}
    assert datasets(complete, "outputs") == {("bigquery", f"example-project.sales.{args['output.table']}")}

    inventory = task_events(events, "example_cdap", "inventory_sync")["COMPLETE"]
    assert datasets(inventory, "inputs") == {("postgres://inventory-db:5432", "shop.public.inventory")}
    assert datasets(inventory, "outputs") == {("bigquery", "example-project.warehouse.inventory")}

    # The sensor reads the run it watches, and the run's own arguments.
    sensed = task_events(events, "example_cdap", "wait_for_orders_export")["COMPLETE"]
    started = task_events(events, "example_cdap", "start_orders_export")["COMPLETE"]
    assert sensed["run"]["facets"][RUN_FACET]["runId"] == started["run"]["facets"][RUN_FACET]["runId"]
    assert datasets(sensed, "inputs") == {("bigquery", "example-project.sales.orders")}
    assert datasets(sensed, "outputs") == {("gs://example-exports", "orders")}

    # The stop operator names the run it stopped (once it mixes in OpenLineageMixin: operators/cdap.py).
    from airflow_provider_pipelines.operators.cdap import CdapStopPipelineOperator

    if issubclass(CdapStopPipelineOperator, OpenLineageMixin):
        stopped = task_events(events, "example_cdap", "stop_clickstream")["COMPLETE"]
        clickstream = task_events(events, "example_cdap", "start_clickstream")["COMPLETE"]
        stopped_run = stopped["run"]["facets"][RUN_FACET]["runId"]
        assert stopped_run == clickstream["run"]["facets"][RUN_FACET]["runId"]


def test_tailer_example_emits_runs_and_the_authors_datasets(tailer: Any, tmp_path: Path) -> None:
    source = (EXAMPLES / "example_tailer.py").read_text()
    # The example with the tables Tailer's API cannot report, as an author would name them.
    source = source.replace(
        'configuration_id="000099_iowa_liquor_load_pda_DEV",',
        'configuration_id="000099_iowa_liquor_load_pda_DEV",\n'
        '        source_tables=["tailer-demo.pda.iowa_liquor_prepared"],\n'
        '        destinations=["tailer-demo.pda.{{ task.task_id }}"],',  # templated
    )
    source = source.replace(
        'configuration_id="000099_export_sales_DEV",\n        wait_for_completion=False,',
        'configuration_id="000099_export_sales_DEV",\n        wait_for_completion=False,\n'
        '        source_tables=["tailer-demo.sales.daily"],\n'
        '        destinations=["gs://tailer-exports/sales/daily.csv"],',
    )
    states, events, _ = run_with_lineage(source, tmp_path, "example_tailer")

    assert set(states.values()) == {"success"}, states
    load = task_events(events, "example_tailer", "load_pda")
    # Known before the run: the start event has them too.
    assert datasets(load["START"], "inputs") == {("bigquery", "tailer-demo.pda.iowa_liquor_prepared")}
    complete = load["COMPLETE"]
    facet = assert_platform_run(complete, "Tailer", "000099_iowa_liquor_load_pda_DEV")
    assert facet["account"] == "000099" and facet["namespace"] == "DEV"
    assert facet["kind"] == "gbq-to-gbq|000099_iowa_liquor_load_pda_DEV"
    assert facet["runId"] in {run["run_id"] for run in tailer.runs()}
    assert datasets(complete, "inputs") == {("bigquery", "tailer-demo.pda.iowa_liquor_prepared")}
    assert datasets(complete, "outputs") == {("bigquery", "tailer-demo.pda.load_pda")}

    export = task_events(events, "example_tailer", "launch_export")["COMPLETE"]
    assert datasets(export, "outputs") == {("gs://tailer-exports", "sales/daily.csv")}
    # The table-to-table id gets its environment, as the operator sends it.
    prepare = task_events(events, "example_tailer", "prepare_pda")["COMPLETE"]
    assert prepare["run"]["facets"][RUN_FACET]["pipeline"] == "000099_iowa_liquor_prepare_pda_DEV"
    sensor = task_events(events, "example_tailer", "wait_export")["COMPLETE"]
    assert sensor["run"]["facets"][RUN_FACET]["runId"] == export["run"]["facets"][RUN_FACET]["runId"]


@pytest.mark.parametrize(
    ("platform", "example", "task_id", "pipeline"),
    [
        ("Daggy", "example_daggy.py", None, None),
        ("FlowEngine", "example_flowengine.py", None, None),
        ("EnOS", "example_enos.py", None, None),
    ],
)
def test_every_platform_task_emits_its_run(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    platform: str,
    example: str,
    task_id: str | None,
    pipeline: str | None,
) -> None:
    request.getfixturevalue(platform.lower())
    states, events, _ = run_with_lineage(EXAMPLES / example, tmp_path)

    ours = [e for e in events if RUN_FACET in e["run"].get("facets", {})]
    assert ours, f"no {platform} event carried the platform run facet"
    ended = [e for e in ours if e["eventType"] in ("COMPLETE", "FAIL")]
    for event in ended:
        dag_id, task = event["job"]["name"].split(".", 1)
        assert states[f"{dag_id}.{task}"] in ("success", "failed")
        facet = assert_platform_run(event, platform, with_run=False)
        assert facet.get("runId") or facet.get("pipeline")
    # Every task that started a run (or watched one) names it when it completes.
    started = [e for e in ended if e["run"]["facets"][RUN_FACET].get("runId")]
    assert started and all(e["run"]["facets"]["externalQuery"]["externalQueryId"] for e in started)
    assert any(e["run"]["facets"][RUN_FACET].get("instance") for e in started)


def test_the_authors_inlets_and_outlets_are_kept(daggy: Any, tmp_path: Path) -> None:
    dag = """
    from datetime import datetime
    try:
        from airflow.sdk import DAG, Asset
    except ImportError:
        from airflow import DAG
        from airflow.datasets import Dataset as Asset
    from airflow_provider_pipelines.operators.daggy import DaggySubmitDagOperator

    with DAG(dag_id="ol_daggy_assets", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
        DaggySubmitDagOperator(
            task_id="submit",
            dag_spec={"tag": "nightly", "tasks": {"a": {"job": {"command": ["/bin/true"]}}}},
            poll_interval=0.1,
            deferrable=False,
            inlets=[Asset("gs://raw-bucket/in/data.csv")],
            outlets=["analytics-project.reports.nightly"],
        )
    """
    states, events, _ = run_with_lineage(dag, tmp_path, "ol_daggy_assets")

    assert states == {"ol_daggy_assets.submit": "success"}
    complete = task_events(events, "ol_daggy_assets", "submit")["COMPLETE"]
    assert_platform_run(complete, "Daggy", "nightly")
    assert datasets(complete, "inputs") == {("gs://raw-bucket", "in/data.csv")}
    assert datasets(complete, "outputs") == {("bigquery", "analytics-project.reports.nightly")}


def test_a_lineage_error_is_one_warning_and_the_task_succeeds(cdap: Any, tmp_path: Path) -> None:
    dag = """
    from datetime import datetime
    try:
        from airflow.sdk import DAG
    except ImportError:
        from airflow import DAG
    from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator

    with DAG(dag_id="ol_cdap_badconfig", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
        CdapStartPipelineOperator(
            task_id="start", pipeline_name="badconfig-sales", poll_interval=0.1, deferrable=False
        )
    """
    states, events, output = run_with_lineage(dag, tmp_path, "ol_cdap_badconfig")

    assert states == {"ol_cdap_badconfig.start": "success"}
    # Once: as often as the run's end, which is logged once (Airflow 2's dag.test prints each line twice).
    warnings = [line for line in output.splitlines() if "could not describe the CDAP run" in line]
    assert all("warn" in line.lower() for line in warnings), warnings
    assert len(warnings) == output.count("ended COMPLETED") >= 1, output[-3000:]
    # The events still go out, with the run, without the datasets that could not be read.
    complete = task_events(events, "ol_cdap_badconfig", "start")["COMPLETE"]
    assert_platform_run(complete, "CDAP", "badconfig-sales")
    assert not complete.get("inputs") and not complete.get("outputs")


def test_a_failed_run_is_a_fail_event_with_its_run_and_datasets(cdap: Any, tmp_path: Path) -> None:
    dag = """
    from datetime import datetime
    try:
        from airflow.sdk import DAG
    except ImportError:
        from airflow import DAG
    from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator

    with DAG(dag_id="ol_cdap_fail", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
        CdapStartPipelineOperator(
            task_id="start", pipeline_name="nightly-fail", poll_interval=0.1, deferrable=True
        )
    """
    states, events, _ = run_with_lineage(dag, tmp_path, "ol_cdap_fail")

    assert states == {"ol_cdap_fail.start": "failed"}
    failed = task_events(events, "ol_cdap_fail", "start")
    assert "COMPLETE" not in failed
    facet = assert_platform_run(failed["FAIL"], "CDAP", "nightly-fail")
    (run,) = cdap.runs(app="nightly-fail")
    assert facet["runId"] == run["runid"] and run["status"] == "FAILED"
    assert datasets(failed["FAIL"], "inputs") == {("gs://emulator-input", "nightly-fail")}
    assert datasets(failed["FAIL"], "outputs") == {("bigquery", "emulator-project.pipelines.nightly_fail")}


# As if apache-airflow-providers-openlineage (and the openlineage client) were not installed: their
# distributions are not listed (Airflow finds providers through them) and their modules do not import.
BLOCK_OPENLINEAGE = """
import importlib.abc, importlib.metadata, sys

def _hidden(dist):
    name = (dist.metadata["Name"] or "").lower().replace("_", "-")
    return name.startswith(("openlineage-", "apache-airflow-providers-openlineage"))

def _filtered(original):
    return lambda *a, **k: [d for d in original(*a, **k) if not _hidden(d)]

importlib.metadata.distributions = _filtered(importlib.metadata.distributions)
try:
    import importlib_metadata
    importlib_metadata.distributions = _filtered(importlib_metadata.distributions)
except ImportError:
    pass

class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "openlineage" or name.startswith(("openlineage.", "airflow.providers.openlineage")):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, _Block())
"""


def test_without_the_openlineage_provider_nothing_breaks(cdap: Any, tmp_path: Path) -> None:
    dag = """
    from datetime import datetime
    try:
        from airflow.sdk import DAG
    except ImportError:
        from airflow import DAG
    from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator
    from airflow_provider_pipelines.lineage.core import openlineage_installed

    assert not openlineage_installed()
    with DAG(dag_id="ol_cdap_absent", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
        start = CdapStartPipelineOperator(
            task_id="start", pipeline_name="daily-sales", poll_interval=0.1, deferrable=False
        )
    # Called as the provider would: nothing, and no error.
    assert start.get_openlineage_facets_on_start() is None
    assert start.get_openlineage_facets_on_complete(None) is None
    """
    states, events, output = run_with_lineage(dag, tmp_path, "ol_cdap_absent", prelude=BLOCK_OPENLINEAGE)

    assert states == {"ol_cdap_absent.start": "success"}
    assert events == []
    assert "could not describe" not in output
    assert [r["app"] for r in cdap.runs()] == ["daily-sales"]


def test_operator_modules_do_not_import_openlineage() -> None:
    code = (
        "import sys\n"
        "import airflow_provider_pipelines.operators.cdap, airflow_provider_pipelines.operators.tailer\n"
        "import airflow_provider_pipelines.operators.daggy, airflow_provider_pipelines.operators.enos\n"
        "import airflow_provider_pipelines.operators.flowengine, airflow_provider_pipelines.sensors.cdap\n"
        "ours = [m for m in sys.modules if m.startswith('airflow_provider_pipelines.lineage')]\n"
        "print(sorted(m for m in sys.modules if 'openlineage' in m) + ours)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    # Airflow itself reads every installed provider's get_provider_info; of ours, only the mixins.
    allowed = {
        "airflow.providers.openlineage",
        "airflow.providers.openlineage.get_provider_info",
        "airflow_provider_pipelines.lineage",
        "airflow_provider_pipelines.lineage.task",
    }
    assert set(json.loads(done.stdout.replace("'", '"'))) <= allowed


def test_the_hook_reads_the_deployed_pipeline(cdap: Any) -> None:
    from airflow_provider_pipelines.core.errors import PipelineApiError
    from airflow_provider_pipelines.hooks.cdap import CdapHook

    hook = CdapHook()
    detail = hook.get_pipeline("orders-export")
    config = json.loads(detail["configuration"])
    assert detail["name"] == "orders-export"
    assert [stage["plugin"]["name"] for stage in config["stages"]] == ["BigQueryTable", "GCS"]
    cdap.configure_pipeline("gone", exists=False)
    with pytest.raises(PipelineApiError) as raised:
        hook.get_pipeline("gone")
    assert raised.value.status == 404
    assert "get pipeline" in str(raised.value) and "Application 'gone' was not found" in str(raised.value)


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        (  # GCS to BigQuery (an action): the files are read, the table written
            {
                "name": "GCSToBigQuery",
                "type": "action",
                "properties": {
                    "sourcePath": "gs://landing/in/",
                    "project": "p",
                    "dataset": "d",
                    "table": "t",
                },
            },
            ([("gs://landing", "in")], [("bigquery", "p.d.t")]),
        ),
        (
            {
                "name": "GCSMove",
                "type": "action",
                "properties": {"sourcePath": "gs://a/x", "destPath": "gs://b/y"},
            },
            ([("gs://a", "x")], [("gs://b", "y")]),
        ),
        (
            {
                "name": "BigQueryTable",
                "type": "batchsource",
                "properties": {"project": "billing", "datasetProject": "data", "dataset": "d", "table": "t"},
            },
            ([("bigquery", "data.d.t")], []),
        ),
        (  # the project is auto-detected at run time: not named rather than misnamed
            {
                "name": "BigQueryTable",
                "type": "batchsink",
                "properties": {"project": "auto-detect", "dataset": "d", "table": "t"},
            },
            ([], []),
        ),
        (
            {
                "name": "MySQL",
                "type": "batchsource",
                "properties": {"host": "db", "port": "3307", "database": "shop", "tableName": "orders"},
            },
            ([("mysql://db:3307", "shop.orders")], []),
        ),
        (
            {
                "name": "Database",
                "type": "batchsink",
                "properties": {
                    "connectionString": "jdbc:sqlserver://sql:1433;databaseName=crm",
                    "tableName": "${table}",
                },
            },
            ([], [("mssql://sql:1433", "crm.dbo.customers")]),
        ),
    ],
)
def test_cdap_plugins_are_named_by_openlineage_rules(
    plugin: dict[str, Any], expected: tuple[list[tuple[str, str]], list[tuple[str, str]]]
) -> None:
    from airflow_provider_pipelines.lineage.cdap import stage_datasets

    inputs, outputs = stage_datasets(plugin, {"table": "customers"})
    assert [(d.namespace, d.name) for d in inputs] == expected[0]
    assert [(d.namespace, d.name) for d in outputs] == expected[1]
