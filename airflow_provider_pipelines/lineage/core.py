"""
OpenLineage for every task of this provider, from a neutral description of the platform run.

A platform says what it knows as :class:`LineageFacts` (its module ``lineage/<platform>.py`` holds a
:class:`PlatformLineage`); :func:`operator_lineage` turns the facts into the openlineage provider's
``OperatorLineage``. Tasks reach this module only through :mod:`.task` (``OpenLineageMixin``), and only
once lineage is wanted: openlineage itself is imported only inside :func:`operator_lineage` (through
``.facets``), and nothing happens when the openlineage provider is not installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from airflow_provider_pipelines.core.hook import PipelineHook

log = logging.getLogger(__name__)

# Keys of the custom facets (OpenLineage asks custom facets for a prefix of their own).
RUN_FACET_KEY = "pipelines_platformRun"
JOB_FACET_KEY = "pipelines_platformJob"


@dataclass(frozen=True)
class DatasetRef:
    """A dataset named by OpenLineage's naming rules: ``bigquery`` / ``project.dataset.table``,
    ``gs://bucket`` / ``path``, ``postgres://host:port`` / ``database.schema.table``..."""

    namespace: str
    name: str


@dataclass(frozen=True)
class LineageFacts:
    """
    What a task knows about its platform run, in no library's terms.

    :param platform: the platform's name (``CDAP``, ``Tailer``...).
    :param pipeline: what runs there: pipeline name or id, flow id, configuration id.
    :param run_id: the platform's run id, once there is one.
    :param namespace: the CDAP namespace, the Tailer environment.
    :param account: the Tailer account, the EnOS organization.
    :param instance: where the platform's API is (``host:port``), which makes run ids unique.
    :param url: the page of the run (or of its pipeline) in the platform's UI.
    :param kind: the kind of run: pipeline type, configuration type, job id, ``flow``.
    :param inputs: datasets the run reads.
    :param outputs: datasets the run writes.
    """

    platform: str
    pipeline: str | None = None
    run_id: str | None = None
    namespace: str | None = None
    account: str | None = None
    instance: str | None = None
    url: str | None = None
    kind: str | None = None
    inputs: tuple[DatasetRef, ...] = ()
    outputs: tuple[DatasetRef, ...] = ()

    def updated(self, found: Mapping[str, Any] | None) -> LineageFacts:
        """These facts with what the platform said during the run (the non-empty values of ``found``)."""
        if not found:
            return self
        return replace(self, **{k: v for k, v in found.items() if v not in (None, "", ())})


# -- dataset naming (OpenLineage's rules) -----------------------------------------------------------

JDBC_SCHEMES = {"postgresql": "postgres", "sqlserver": "mssql", "mariadb": "mysql"}
DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306, "mssql": 1433, "oracle": 1521, "redshift": 5439}


def bigquery_table(project: str, dataset: str, table: str) -> DatasetRef:
    return DatasetRef("bigquery", f"{project}.{dataset}.{table}")


def uri_dataset(uri: str) -> DatasetRef | None:
    """``gs://bucket/path`` (or ``s3://``...) as namespace ``gs://bucket`` and name ``path``."""
    parts = urlsplit(uri.strip())
    if not parts.scheme or not parts.netloc:
        return None
    name = parts.path.strip("/") or "/"
    return DatasetRef(f"{parts.scheme}://{parts.netloc}", name)


def named_dataset(text: str) -> DatasetRef | None:
    """What an author writes: a URI (``gs://bucket/path``) or a BigQuery table (``project.dataset.table``)."""
    text = str(text).strip()
    if "://" in text:
        return uri_dataset(text)
    text = text.removeprefix("bigquery:").replace(":", ".")
    if len(text.split(".")) == 3 and all(text.split(".")):
        return DatasetRef("bigquery", text)
    return None


def database_table(url: str, table: str) -> DatasetRef | None:
    """A table of the database a JDBC URL (or ``scheme://host:port/db``) names."""
    text = url.strip().removeprefix("jdbc:")
    if text.startswith("oracle:"):  # jdbc:oracle:thin:@//host:1521/service or @host:1521:SID
        host, _, rest = text.split("@", 1)[-1].lstrip("/").partition(":")
        port, _, service = rest.replace("/", ":", 1).partition(":")
        return DatasetRef(f"oracle://{host}:{port or 1521}", f"{service}.{table}") if host else None
    scheme, _, rest = text.partition("://")
    if not rest:
        return None
    scheme = JDBC_SCHEMES.get(scheme.lower(), scheme.lower())
    address, _, path = rest.partition("/")
    address, *params = address.split(";")  # jdbc:sqlserver://host:1433;databaseName=db
    options = dict(p.split("=", 1) for p in params if "=" in p)
    database = path.split("?")[0].split(";")[0] or options.get("databaseName") or options.get("database", "")
    host, _, port = address.partition(":")
    port = port or str(DEFAULT_PORTS.get(scheme, ""))
    namespace = f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"
    parts = [p for p in table.split(".") if p]
    if scheme in ("postgres", "mssql", "redshift") and len(parts) == 1:
        parts.insert(0, "public" if scheme != "mssql" else "dbo")
    if database and len(parts) < 3:
        parts.insert(0, database)
    return DatasetRef(namespace, ".".join(parts)) if host and parts else None


# -- the OperatorLineage --------------------------------------------------------------------------


def openlineage_installed() -> bool:
    """Whether the openlineage provider can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("airflow.providers.openlineage") is not None
    except (ImportError, ValueError):
        return False


def lineage_enabled() -> bool:
    """The openlineage provider is installed and sends events: worth asking the platform for more."""
    if not openlineage_installed():
        return False
    try:
        from airflow.providers.openlineage import conf

        return not conf.is_disabled()
    except Exception:  # an older provider, a broken install: no lineage, never a failed task
        return False


def operator_lineage(facts: LineageFacts, inlets: Iterable[Any] = (), outlets: Iterable[Any] = ()) -> Any:
    """The openlineage provider's ``OperatorLineage`` for these facts, with the author's inlets/outlets."""
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.facet_v2 import external_query_run

    from airflow_provider_pipelines.lineage.facets import PipelinePlatformJobFacet, PipelinePlatformRunFacet

    def datasets(refs: Iterable[DatasetRef], declared: Iterable[Any]) -> list[Any]:
        out = {(ref.namespace, ref.name): Dataset(namespace=ref.namespace, name=ref.name) for ref in refs}
        for item in declared or ():
            dataset = author_dataset(item)
            if dataset is not None:
                out.setdefault((dataset.namespace, dataset.name), dataset)
        return list(out.values())

    run_facets: dict[str, Any] = {
        RUN_FACET_KEY: PipelinePlatformRunFacet(
            platform=facts.platform,
            runId=_text(facts.run_id),
            pipeline=_text(facts.pipeline),
            namespace=_text(facts.namespace),
            account=_text(facts.account),
            instance=facts.instance,
            url=facts.url,
            kind=_text(facts.kind),
        )
    }
    if facts.run_id is not None:
        source = facts.platform.lower() + (f"://{facts.instance}" if facts.instance else "")
        run_facets["externalQuery"] = external_query_run.ExternalQueryRunFacet(
            externalQueryId=str(facts.run_id), source=source
        )
    job_facets: dict[str, Any] = {
        JOB_FACET_KEY: PipelinePlatformJobFacet(
            platform=facts.platform,
            pipeline=_text(facts.pipeline),
            namespace=_text(facts.namespace),
            account=_text(facts.account),
            instance=facts.instance,
        )
    }
    return OperatorLineage(
        inputs=datasets(facts.inputs, inlets),
        outputs=datasets(facts.outputs, outlets),
        run_facets=run_facets,
        job_facets=job_facets,
    )


def author_dataset(item: Any) -> Any:
    """An inlet or outlet as an OpenLineage dataset: an Asset / Dataset / Table / File as the
    openlineage provider converts them, or a string naming a URI or a BigQuery table."""
    from openlineage.client.event_v2 import Dataset

    if isinstance(item, str):
        ref = named_dataset(item)
        return Dataset(namespace=ref.namespace, name=ref.name) if ref else None
    from airflow.providers.openlineage.extractors.manager import ExtractorManager

    converted = ExtractorManager.convert_to_ol_dataset(item)
    uri = getattr(item, "uri", None)
    if converted is None and isinstance(uri, str):
        # An asset whose scheme no installed provider converts (gs:// without the Google provider).
        ref = uri_dataset(uri)
        converted = Dataset(namespace=ref.namespace, name=ref.name) if ref else None
    return converted


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


# -- what each platform says -------------------------------------------------------------------------


class PlatformLineage:
    """
    A platform's lineage: :meth:`facts` from the task's own attributes and its run ref (no I/O: it runs
    where the openlineage provider calls the task, often in a forked process), and :meth:`gather`, what
    the platform's API adds while the task runs (its address, pages, the datasets of the pipeline).
    """

    platform: ClassVar[str] = ""
    # Attributes of the task (or keys of its run ref) naming what runs, in order of preference.
    pipeline_fields: ClassVar[tuple[str, ...]] = (
        "pipeline_name",
        "pipeline_id",
        "configuration_id",
        "flow_id",
    )
    namespace_fields: ClassVar[tuple[str, ...]] = ("namespace", "environment")
    account_fields: ClassVar[tuple[str, ...]] = ("account",)
    kind_fields: ClassVar[tuple[str, ...]] = ("pipeline_type", "configuration_type", "kind")

    def facts(self, task: Any, run: Mapping[str, Any] | None) -> LineageFacts:
        run = run or {}
        run_id = run.get("run_id", getattr(task, "run_id", None))
        return LineageFacts(
            platform=self.platform or str(getattr(task.hook_class, "platform", "")),
            pipeline=self.pick(task, run, self.pipeline_fields),
            run_id=None if run_id is None or "{{" in str(run_id) else str(run_id),
            namespace=self.pick(task, run, self.namespace_fields),
            account=self.pick(task, run, self.account_fields),
            kind=self.pick(task, run, self.kind_fields),
        )

    def gather(self, task: Any, hook: PipelineHook, run: Mapping[str, Any] | None) -> dict[str, Any]:
        """What the platform adds, as :class:`LineageFacts` fields; may call its API."""
        return {"instance": api_instance(hook)}

    @staticmethod
    def pick(task: Any, run: Mapping[str, Any], names: Iterable[str]) -> str | None:
        for name in names:
            value = run.get(name, getattr(task, name, None))
            if value not in (None, "") and "{{" not in str(value):
                return str(value)
        return None


def api_instance(hook: PipelineHook) -> str | None:
    """``host:port`` of the platform's API, from the hook's connection."""
    parts = urlsplit(hook.client.settings.base_url)
    return parts.netloc or None


_BY_PLATFORM: dict[str, PlatformLineage] = {}


def platform_lineage(platform: str) -> PlatformLineage:
    """The platform's :class:`PlatformLineage`: ``LINEAGE`` of ``lineage/<platform>.py``, else generic."""
    key = platform.lower()
    if key not in _BY_PLATFORM:
        try:
            module = importlib.import_module(f"airflow_provider_pipelines.lineage.{key}")
            found = getattr(module, "LINEAGE", None)
        except ImportError:
            found = None
        if not isinstance(found, PlatformLineage):
            found = type("GenericLineage", (PlatformLineage,), {"platform": platform})()
        _BY_PLATFORM[key] = found
    return _BY_PLATFORM[key]
