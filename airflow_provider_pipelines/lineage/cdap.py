"""
CDAP / Cloud Data Fusion lineage: the run, its pipeline and namespace, the pipeline's page, and the
datasets of the deployed pipeline's config (``GET /v3/namespaces/{ns}/apps/{pipeline}``, whose
``configuration`` is a JSON string): BigQuery, GCS and database plugins, their macros resolved from
the run's runtime arguments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_pipelines.lineage.core import (
    DatasetRef,
    PlatformLineage,
    api_instance,
    bigquery_table,
    database_table,
    uri_dataset,
)

if TYPE_CHECKING:
    from airflow_provider_pipelines.core.hook import PipelineHook

SOURCE_TYPES = frozenset({"batchsource", "streamingsource", "realtimesource"})
SINK_TYPES = frozenset({"batchsink", "sparksink", "streamingsink", "realtimesink"})
# Action plugins that move data from a path or table to another (GCS copy/move, GCS to BigQuery...).
SOURCE_KEYS = ("sourcePath", "sourceUri", "source")
DESTINATION_KEYS = ("destPath", "destinationPath", "destinationUri", "destination")
MACRO = re.compile(r"\$\{([^}]+)\}")
# Database plugins that name their server by fields rather than a JDBC URL: plugin -> URL scheme.
DATABASE_PLUGINS = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "mysql": "mysql",
    "sqlserver": "mssql",
    "oracle": "oracle",
}


def resolve(value: Any, args: Mapping[str, Any]) -> str | None:
    """A property with its ``${macro}`` references filled from runtime arguments; None if one is unknown."""
    text = str(value) if value is not None else ""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        if match.group(1) not in args:
            missing = True
            return match.group(0)
        return str(args[match.group(1)])

    text = MACRO.sub(fill, text)
    return None if missing or not text.strip() else text.strip()


def stage_datasets(
    plugin: Mapping[str, Any], args: Mapping[str, Any]
) -> tuple[list[DatasetRef], list[DatasetRef]]:
    """What one stage reads and writes, named by OpenLineage's rules."""
    kind = str(plugin.get("type") or "").lower()
    name = str(plugin.get("name") or "")
    raw = plugin.get("properties")
    props = {k: resolve(v, args) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
    inputs: list[DatasetRef] = []
    outputs: list[DatasetRef] = []
    found = _stage_dataset(name, props)
    if kind in SOURCE_TYPES:
        inputs += [found] if found else []
    elif kind in SINK_TYPES:
        outputs += [found] if found else []
    else:  # an action: a source path or table to a destination
        inputs += _paths(props, SOURCE_KEYS)
        outputs += _paths(props, DESTINATION_KEYS)
        if found is not None and found.namespace == "bigquery" and inputs:
            outputs.append(found)  # GCS to BigQuery: the table is where the files go
    return inputs, outputs


def _paths(props: Mapping[str, str | None], keys: Iterable[str]) -> list[DatasetRef]:
    refs = (uri_dataset(props[k] or "") for k in keys if props.get(k))
    return [ref for ref in refs if ref is not None]


def _stage_dataset(plugin: str, props: Mapping[str, str | None]) -> DatasetRef | None:
    table = props.get("table") or props.get("tableName")
    if props.get("dataset") and props.get("table"):
        project = props.get("datasetProject") or props.get("project")
        if project and project != "auto-detect":
            return bigquery_table(project, str(props["dataset"]), str(props["table"]))
        return None
    path = props.get("path")
    if path and "://" in path:
        return uri_dataset(path)
    if props.get("connectionString") and table:
        return database_table(str(props["connectionString"]), table)
    scheme = DATABASE_PLUGINS.get(plugin.lower().removeprefix("cloudsql"))  # CloudSQLMySQL, Postgres...
    if scheme and props.get("host") and table:
        port = f":{props['port']}" if props.get("port") else ""
        url = f"{scheme}://{props['host']}{port}/{props.get('database') or ''}"
        return database_table(url, table)
    return None


def pipeline_datasets(
    detail: Mapping[str, Any], args: Mapping[str, Any]
) -> tuple[tuple[DatasetRef, ...], tuple[DatasetRef, ...]]:
    """The inputs and outputs of a deployed pipeline, from its application detail."""
    config = detail.get("configuration")
    if isinstance(config, str):
        config = json.loads(config)
    stages = config.get("stages") if isinstance(config, Mapping) else None
    if not isinstance(stages, list):
        raise ValueError("the pipeline's configuration has no stages")
    inputs: dict[DatasetRef, None] = {}
    outputs: dict[DatasetRef, None] = {}
    for stage in stages:
        plugin = stage.get("plugin") if isinstance(stage, Mapping) else None
        if isinstance(plugin, Mapping):
            read, written = stage_datasets(plugin, args)
            inputs.update(dict.fromkeys(read))
            outputs.update(dict.fromkeys(written))
    return tuple(inputs), tuple(outputs)


class CdapLineage(PlatformLineage):
    platform = "CDAP"

    def gather(self, task: Any, hook: PipelineHook, run: Mapping[str, Any] | None) -> dict[str, Any]:
        from airflow_provider_pipelines.hooks.cdap import CdapHook, runtime_args_of

        assert isinstance(hook, CdapHook)
        name, namespace = str(task.pipeline_name), str(task.namespace)
        found: dict[str, Any] = {"instance": api_instance(hook), "url": hook.pipeline_ui_url(name, namespace)}
        args = getattr(task, "runtime_args", None)
        if not isinstance(args, Mapping) and run and run.get("run_id"):
            # A sensor or a stop: the run's own arguments.
            args = runtime_args_of(
                hook.get_run(name, str(run["run_id"]), namespace, run.get("pipeline_type", "batch"))
            )
        found["inputs"], found["outputs"] = pipeline_datasets(
            hook.get_pipeline(name, namespace), dict(args or {})
        )
        return found


LINEAGE = CdapLineage()
