"""FlowEngine (4Paradigm) offline pipelines: the engine-kernel API, declared."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pipelines.connection_types import FLOWENGINE_CONNECTION
from airflow_provider_pipelines.core.auth import Auth, StaticHeadersAuth, headers_extra
from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError, redact, summarize
from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.plans import OPTIONS, ApiCall, Plan, endpoint
from airflow_provider_pipelines.core.replies import reply_envelope, reply_id, reply_objects, unexpected_reply
from airflow_provider_pipelines.core.start import Attempt, CannotTell
from airflow_provider_pipelines.core.states import RunState, RunStatus, StateMap
from airflow_provider_pipelines.core.task import PipelineTask
from airflow_provider_pipelines.core.urls import url_path

try:
    from airflow.exceptions import AirflowProviderDeprecationWarning as ProviderDeprecationWarning
except ImportError:  # pragma: no cover - every Airflow this provider supports has it
    ProviderDeprecationWarning = DeprecationWarning  # type: ignore[misc,assignment]

if TYPE_CHECKING:
    from airflow.sdk import Connection

USER_ID_HEADER = "X-FlowEngine-UserId"
# Run statuses are not published: these defaults (matched ignoring case) come from what deployments
# were seen to answer; operators and sensors take ``success_states`` / ``failure_states`` to adapt.
FLOWENGINE_STATES = StateMap(
    {
        "init": RunState.PENDING,
        "pending": RunState.PENDING,
        "waiting": RunState.PENDING,
        "running": RunState.RUNNING,
        "stopping": RunState.RUNNING,
        "success": RunState.SUCCESS,
        "succeeded": RunState.SUCCESS,
        "finished": RunState.SUCCESS,
        "completed": RunState.SUCCESS,
        "failed": RunState.FAILED,
        "error": RunState.FAILED,
        "killed": RunState.FAILED,
        "stopped": RunState.FAILED,
    }
)
RECENT_RUNS = 20  # runs read to find the one a start whose reply was lost created
HISTORY_PAGE_SIZE = 50  # runs per historyList page when a run's record is read from the history
HISTORY_PAGES = 20  # pages read at most (1,000 runs) before a run counts as not in the history
FAILED_NODE_WORDS = ("fail", "error", "kill")
ENGINE_ID = object()
"""A placeholder in a kernel path or query for the engine id, filled in once it is known."""
BY_ENGINE = {"engineId": ENGINE_ID}


@dataclass(frozen=True)
class Engine:
    """Where an engine lives (its path below ``fl_url``) and its id, found once per hook."""

    path: str
    engine_id: str


def records_of(data: Any) -> list[dict[str, Any]]:
    """A page of records, whether the envelope's data is a list or an object holding one."""
    if isinstance(data, Mapping):
        for key in ("list", "records", "content", "rows", "data"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    return [dict(item) for item in reply_objects(data)]


def multipart(path: str | Path, field: str = "file") -> tuple[bytes, str]:
    from urllib3 import encode_multipart_formdata

    file = Path(path)
    return encode_multipart_formdata({field: (file.name, file.read_bytes(), "application/octet-stream")})


class FlowEngineHook(PipelineHook, connection=FLOWENGINE_CONNECTION):
    """
    Talks to a FlowEngine deployment's engine-manager and engine-kernel.

    Connection (type ``flowengine``): **host** is ``fl_url``. Extras: ``engine_key`` (required),
    ``user_id`` (sent as ``X-FlowEngine-UserId``, default ``1``), ``headers`` (a JSON object of any
    further headers the deployment's gateway needs — a session cookie, an access key; values are
    secrets), plus ``verify``, ``ca_bundle``, ``timeout`` and the retry settings. The engine's path
    and id are looked up once per hook (steps 01 and 02), not on every poll.

    :param flowengine_conn_id: the connection id (default ``flowengine_default``).
    """

    platform = "FlowEngine"
    state_map = FLOWENGINE_STATES
    can_resume = True
    stopping_states = frozenset({"STOPPING"})
    start_check = "the pipeline's run history in FlowEngine (historyList)"
    credential_fields = "the user_id extra (sent as X-FlowEngine-UserId) and the headers extra"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._engine: Engine | None = None

    def options_from_connection(self, conn: Connection) -> dict[str, Any]:
        engine_key = conn.extra_dejson.get("engine_key")
        if not engine_key:
            raise ValueError("the engine_key extra is required")
        return {"engine_key": str(engine_key)}

    def auth_from_connection(self, conn: Connection) -> Auth:
        extras = conn.extra_dejson
        headers = headers_extra(extras.get("headers"))
        headers[USER_ID_HEADER] = str(extras.get("user_id") or "1")
        return StaticHeadersAuth(headers)

    # -- envelope and engine --------------------------------------------------------------------------

    def _data(self, name: str, reply: Any) -> Any:
        """The envelope's ``data``; a ``status`` other than 0 is an error showing ``msg``."""
        status, reply = reply_envelope(self.platform, name, reply, "status")
        if status != "0":
            message = reply.get("msg") or reply.get("message") or "no message"
            raise PipelineApiError(self.platform, name, 200, f"status {status}: {message}")
        return reply.get("data")

    def _call(
        self, name: str, method: str, path: str, *, params: Mapping[str, Any] | None = None, **kw: Any
    ) -> Plan[ApiCall]:
        """A call carrying the engine key: an option of the client running the plan (the connection's)."""
        options = yield OPTIONS
        return ApiCall(
            name, method, path, params={**(params or {}), "engineKey": options["engine_key"]}, **kw
        )

    def engine_plan(self, checking: bool = False) -> Plan[Engine]:
        """
        The engine's path and id (steps 01-02), looked up once per hook. ``checking`` (the connection
        test) looks them up again, and a refusal or a reply naming no engine says to check the engine key.
        """
        if self._engine is not None and not checking:
            return self._engine
        info = yield from self._discovery_plan("get engine info", "/engine-manager/v1/k8s/info/", checking)
        url = info.get("url") if isinstance(info, Mapping) else None
        path = "/" + url.strip("/") if isinstance(url, str) else "/"
        if path == "/" and checking:
            raise PipelineError(
                "FlowEngine engine discovery found no engine for the engine key (no url in its reply): "
                "check the engine_key extra"
            )
        if path == "/":
            raise PipelineApiError(self.platform, "get engine info", 200, f"no engine url in {info!r:.200}")
        param = yield from self._discovery_plan(
            "get engine id", path + "/kernel/v1/system/getParam", checking
        )
        engine_id = reply_id(param.get("engineId")) if isinstance(param, Mapping) else None
        if engine_id is None:
            raise PipelineApiError(self.platform, "get engine id", 200, f"no engineId in {param!r:.200}")
        self._engine = Engine(path, engine_id)
        return self._engine

    def _kernel(self, name: str, method: str, *segments: object, **kw: Any) -> Plan[Any]:
        """A kernel call's ``data``; :data:`ENGINE_ID` in its path or its ``params`` is the engine's id."""
        engine = yield from self.engine_plan()

        def fill(value: Any) -> Any:
            return engine.engine_id if value is ENGINE_ID else value

        path = engine.path + "/kernel/v1" + url_path(*map(fill, segments))
        if kw.get("params"):
            kw["params"] = {key: fill(value) for key, value in kw["params"].items()}
        call = yield from self._call(name, method, path, **kw)
        return self._data(name, (yield call))

    # -- the twelve endpoints, and one run record ------------------------------------------------------

    def create_pipeline_plan(self, template: Mapping[str, Any]) -> Plan[dict[str, Any]]:
        data = yield from self._kernel(
            "create pipeline",
            "POST",
            "pipeline",
            "template",
            ENGINE_ID,
            "create",
            json=dict(template),
            idempotent=False,
        )
        return self._detail("create pipeline", data)

    def upload_file_plan(self, path: str | Path) -> Plan[Any]:
        body, content_type = multipart(path)
        return (
            yield from self._kernel(
                "upload job file",
                "POST",
                "template",
                "uploadJobFileParam",
                "1",
                data=body,
                headers={"Content-Type": content_type},
                idempotent=False,
            )
        )

    def list_pipelines_plan(self) -> Plan[list[dict[str, Any]]]:
        return records_of((yield from self._kernel("list pipelines", "GET", "pipeline", ENGINE_ID, "list")))

    def get_pipeline_plan(self, pipeline_id: int | str) -> Plan[dict[str, Any]]:
        data = yield from self._kernel(
            "get pipeline", "GET", "pipeline", "template", ENGINE_ID, pipeline_id, "get"
        )
        if not isinstance(data, Mapping):
            raise PipelineApiError(
                self.platform, "get pipeline", 200, f"no detail for pipeline {pipeline_id}"
            )
        return dict(data)

    def update_pipeline_plan(self, detail: Mapping[str, Any]) -> Plan[dict[str, Any]]:
        data = yield from self._kernel(
            "update pipeline", "PUT", "pipeline", "template", ENGINE_ID, "update", json=dict(detail)
        )
        return self._detail("update pipeline", data)

    def _detail(self, name: str, data: Any) -> dict[str, Any]:
        """A pipeline detail from a reply's ``data`` (none: {})."""
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            raise unexpected_reply(self.platform, name, data, "data")
        return dict(data)

    def set_schedule_plan(self, pipeline_id: int | str, enabled: bool) -> Plan[Any]:
        """Turn the pipeline's schedule on (``start`` with ``once=false``) or off (``stop``)."""
        name, action, params = (
            ("schedule on", "start", {"once": "false"}) if enabled else ("schedule off", "stop", None)
        )
        return (
            yield from self._kernel(
                name, "POST", "pipeline", ENGINE_ID, pipeline_id, action, params=params, json={"data": " "}
            )
        )

    def start_plan(
        self, pipeline_id: int | str, node_params: Mapping[str, Mapping[str, Any]] | None = None
    ) -> Plan[dict[str, Any] | None]:
        """Run a pipeline now; the new run's record, or None when the reply carries none."""
        data = yield from self._kernel(
            "start pipeline",
            "POST",
            "pipeline",
            ENGINE_ID,
            pipeline_id,
            "start",
            json=dict(node_params or {}),
            idempotent=False,
        )
        return dict(data) if isinstance(data, Mapping) and reply_id(data.get("id")) is not None else None

    def history_plan(
        self, pipeline_id: int | str, page: int = 1, size: int = 10
    ) -> Plan[list[dict[str, Any]]]:
        params = {"page": page, "size": size, "engineId": ENGINE_ID}
        data = yield from self._kernel(
            "list run history", "GET", "pipeline", pipeline_id, "historyList", params=params
        )
        return records_of(data)

    def stop_run_plan(self, run_id: int | str) -> Plan[Any]:
        return (
            yield from self._kernel("stop run", "DELETE", "pipeline", run_id, "stopHistory", params=BY_ENGINE)
        )

    def resume_run_plan(self, run_id: int | str) -> Plan[Any]:
        segments = ("pipeline", run_id, "resumeHistory")
        return (yield from self._kernel("resume run", "POST", *segments, params=BY_ENGINE, idempotent=False))

    def get_run_plan(self, run_id: int | str) -> Plan[dict[str, Any]]:
        """``GET …/pipeline/{historyId}/get`` (the vendor's SDK; not on the vendor's API page)."""
        data = yield from self._kernel("get run", "GET", "pipeline", run_id, "get")
        return self._run_record(run_id, data)

    def _run_record(self, run_id: int | str, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise PipelineApiError(self.platform, "get run", 404, f"no record of run {run_id}")
        return dict(data)

    # Set on a hook once its engine has answered HTTP 404 to ``…/{historyId}/get`` for a run that its
    # pipeline's history shows: from then on the hook reads runs from the history only.
    _lacks_run_get: bool = False

    def history_record_plan(self, pipeline_id: int | str, run_id: int | str) -> Plan[dict[str, Any] | None]:
        """
        The run's record in its pipeline's history (10, ``historyList``, on the vendor's page), or None.
        Pages of :data:`HISTORY_PAGE_SIZE`, newest first, up to :data:`HISTORY_PAGES` of them; stops at a
        short page, or at a page that repeats the one before (an engine that ignores ``page``).
        """
        wanted = str(run_id)
        previous: list[str | None] = []
        for page in range(1, HISTORY_PAGES + 1):
            records = yield from self.history_plan(pipeline_id, page, HISTORY_PAGE_SIZE)
            ids = [reply_id(record.get("id")) for record in records]
            for record, record_id in zip(records, ids, strict=True):
                if record_id == wanted:
                    return record
            if len(records) < HISTORY_PAGE_SIZE or ids == previous:
                return None
            previous = ids
        return None

    def run_record_plan(self, run: Mapping[str, Any]) -> Plan[dict[str, Any]]:
        """
        The run's record: ``GET …/{historyId}/get`` (:meth:`get_run_plan`), or, on an engine that answers
        that call HTTP 404, the run's entry in its pipeline's history (:meth:`history_record_plan`;
        the run ref's ``pipeline_id``). A 404 for a run the history does not show either is the
        run's 404 (not visible yet, or gone) and proves nothing about the engine. Once the history has
        shown a run that ``get`` did not, the hook remembers that its engine lacks ``get`` and reads
        the history only: one call per poll, not two.
        """
        run_id, pipeline_id = run["run_id"], run.get("pipeline_id")
        if not self._lacks_run_get or pipeline_id is None:
            try:
                data = yield from self._kernel("get run", "GET", "pipeline", run_id, "get")
            except PipelineApiError as exc:
                if exc.status != 404 or pipeline_id is None:
                    raise
                record = yield from self.history_record_plan(pipeline_id, run_id)
                if record is None:
                    raise
                self._lacks_run_get = True
                self.log.info(
                    "FlowEngine answers HTTP 404 to GET …/pipeline/%s/get: reading runs from the "
                    "history of their pipeline (historyList) from now on",
                    run_id,
                )
                return record
            return self._run_record(run_id, data)
        record = yield from self.history_record_plan(pipeline_id, run_id)
        if record is None:
            raise PipelineApiError(
                self.platform,
                "list run history",
                404,
                f"run {run_id} is not in the history of pipeline {pipeline_id}",
            )
        return record

    # -- the public sync API: each runs its plan -----------------------------------------------------

    engine = endpoint(engine_plan)
    create_pipeline = endpoint(create_pipeline_plan)
    upload_file = endpoint(upload_file_plan)
    list_pipelines = endpoint(list_pipelines_plan)
    get_pipeline = endpoint(get_pipeline_plan)
    update_pipeline = endpoint(update_pipeline_plan)
    set_schedule = endpoint(set_schedule_plan)
    start_pipeline = endpoint(start_plan)
    run_history = endpoint(history_plan)
    stop_run = endpoint(stop_run_plan)
    resume_run = endpoint(resume_run_plan)
    get_run = endpoint(get_run_plan)

    def _discovery_plan(self, name: str, path: str, checking: bool) -> Plan[Any]:
        """One call of engine discovery: its ``data``; when ``checking``, a refusal (``status`` not 0)
        names the engine key."""
        call = yield from self._call(name, "GET", path)
        reply = yield call
        if checking and isinstance(reply, Mapping) and "status" in reply and str(reply["status"]) != "0":
            said = f"status {reply['status']}: {reply.get('msg') or 'no message'}"
            said = summarize(redact(said, self.client.secrets()), 200)
            raise PipelineError(
                f"FlowEngine refused the engine key ({name}: {said}): check the engine_key extra"
            )
        return self._data(name, reply)

    def check_connection(self) -> str:
        """
        Engine discovery with the engine key (steps 01 and 02, which every later call starts from),
        sending the user id and headers: a refused engine key, user id or header is named as such.
        """
        try:
            engine = self.run(self.engine_plan(checking=True))
        except PipelineApiError as exc:
            if exc.status not in (401, 403):
                raise
            raise PipelineError(
                f"FlowEngine refused the user id or the gateway headers (HTTP {exc.status}, {exc.call}: "
                f"{exc.message}): check the user_id extra (sent as {USER_ID_HEADER}) and the headers extra"
            ) from None
        return f"the engine key found engine {engine.engine_id} at {engine.path}"

    # -- node parameters -----------------------------------------------------------------------------

    @staticmethod
    def node_ids_by_name(detail: Mapping[str, Any]) -> dict[str, str]:
        """Each node's id, under its id, its name and its title."""
        inner = detail.get("data")
        nodes = reply_objects(inner.get("nodes") if isinstance(inner, Mapping) else None) or reply_objects(
            detail.get("nodes")
        )
        names: dict[str, str] = {}
        for node in nodes:
            node_id = reply_id(node.get("nodeId"))
            if node_id is not None:
                for key in ("name", "title", "nodeId"):
                    if node.get(key):
                        names[str(node[key])] = node_id
        return names

    def resolve_node_params(self, pipeline_id: int | str, node_params: Mapping[str, Any]) -> dict[str, Any]:
        """``node_params`` keyed by node id, name or title → keyed by node id (names looked up once)."""
        ids = self.node_ids_by_name(self.get_pipeline(pipeline_id))
        unknown = [key for key in node_params if key not in ids]
        if unknown:
            known = ", ".join(sorted(set(ids.values())))
            raise PipelineApiError(
                self.platform, "start pipeline", None, f"unknown node(s) {unknown}; nodes: {known}"
            )
        return {ids[key]: value for key, value in node_params.items()}

    # -- the run protocol ----------------------------------------------------------------------------

    @staticmethod
    def run_ref(pipeline_id: int | str, run_id: int | str) -> RunRef:
        return {"run_id": run_id, "pipeline_id": pipeline_id}

    def run_status_plan(self, run: Mapping[str, Any]) -> Plan[RunStatus]:
        """The record's ``status`` and node counts, from :meth:`run_record_plan` (``get`` or the history)."""
        record = yield from self.run_record_plan(run)
        raw = str(record.get("status") or "")
        counts: dict[str, int] = {}
        for node in reply_objects(record.get("nodes")):
            counts[str(node.get("status"))] = counts.get(str(node.get("status")), 0) + 1
        progress = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) if counts else None
        return RunStatus(raw, self.state_map.classify(raw), {"nodes": counts}, progress)

    def cancel_plan(self, run: Mapping[str, Any]) -> Plan[None]:
        yield from self.stop_run_plan(run["run_id"])

    def resume_failed_plan(self, run: Mapping[str, Any]) -> Plan[None]:
        """Resume a failed run (``resumeHistory``): FlowEngine continues it from its failed nodes."""
        yield from self.resume_run_plan(run["run_id"])

    def describe_run(self, run: Mapping[str, Any]) -> str:
        return f"FlowEngine run {run['run_id']} of pipeline {run.get('pipeline_id')}"

    def start_facts_plan(self, run_spec: Mapping[str, Any]) -> Plan[dict[str, Any]]:
        """The pipeline's latest runs before a start: a run that is not among them is newer."""
        if "resume_run_id" in run_spec:
            return {}
        runs = yield from self.history_plan(run_spec["pipeline_id"], 1, RECENT_RUNS)
        return {"known_runs": [run_id for r in runs if (run_id := reply_id(r.get("id"))) is not None]}

    def find_started_run_plan(self, run_spec: Mapping[str, Any], attempt: Attempt) -> Plan[RunRef | None]:
        """
        A start's run: the one new run (:meth:`new_runs_plan`) that, where the history shows
        parameters, was started with this start's (a start of the same pipeline by another task is
        told apart only by them); several such runs cannot be told apart. A resume's: the run itself,
        once it no longer shows a failed state.
        """
        pipeline_id = run_spec["pipeline_id"]
        if "resume_run_id" in run_spec:
            ref = self.run_ref(pipeline_id, run_spec["resume_run_id"])
            status = yield from self.run_status_plan(ref)
            return None if status.state is RunState.FAILED else ref
        new = yield from self.new_runs_plan(pipeline_id, attempt.get("known_runs") or ())
        if "params" in attempt:  # a run another task started meanwhile, with other parameters, is not ours
            new = [r for r in new if "params" not in r or r.get("params") == attempt["params"]]
        if len(new) > 1:
            raise CannotTell(
                f"FlowEngine shows {len(new)} new runs of pipeline {pipeline_id}, none told apart",
                self.start_check,
            )
        return self.run_ref(pipeline_id, new[0]["id"]) if new else None

    def failure_plan(self, run: Mapping[str, Any], status: Mapping[str, Any]) -> Plan[list[str]]:
        """The failed nodes of the run's record (:meth:`run_record_plan`: ``get`` or the history)."""
        record = yield from self.run_record_plan(run)
        lines = []
        for node in reply_objects(record.get("nodes")):
            if any(w in str(node.get("status", "")).lower() for w in FAILED_NODE_WORDS):
                lines.append(
                    f"node {node.get('nodeId')}: {node.get('status')}: {node.get('msg') or ''}".rstrip(": ")
                )
        return lines or [f"run {run['run_id']} ended {record.get('status')}"]

    def new_runs_plan(self, pipeline_id: int | str, before: Iterable[Any]) -> Plan[list[dict[str, Any]]]:
        """The runs a start may have created: the pipeline's latest runs (``historyList``) that are not
        among ``before`` (the run ids seen before the start)."""
        known = {str(run_id) for run_id in before}
        runs = yield from self.history_plan(pipeline_id, 1, RECENT_RUNS)
        return [r for r in runs if (run_id := reply_id(r.get("id"))) is not None and run_id not in known]

    def find_new_run_plan(
        self, pipeline_id: int | str, before: Iterable[Any], node_params: Mapping[str, Any]
    ) -> Plan[dict[str, Any]]:
        """
        The record of the run a start created when its reply named none: the one new run
        (:meth:`new_runs_plan`; the start's reply came, so one is its). Several (a concurrent start)
        are told apart by their recorded parameters; when that is not possible, this fails rather
        than guess.
        """
        new = yield from self.new_runs_plan(pipeline_id, before)
        if len(new) > 1:
            mine = [r for r in new if r.get("params") == dict(node_params)]
            new = mine if len(mine) == 1 else new
        if len(new) != 1:
            found = "no new run" if not new else f"{len(new)} new runs, none told apart by its parameters"
            raise PipelineApiError(
                self.platform,
                "start pipeline",
                None,
                f"the start reply named no run and the history shows {found}",
            )
        return new[0]


# -- what FlowEngine tasks act on: declared once for the operators and the sensor -----------------------

# The earlier names of success_states and failure_states, still taken (with a deprecation warning).
STATUS_ALIASES = {"success_statuses": "success_states", "failure_statuses": "failure_states"}


class FlowEngineTask(PipelineTask):
    """A task on FlowEngine: ``flowengine_conn_id``."""

    hook_class: ClassVar[type[PipelineHook]] = FlowEngineHook

    def __init__(self, *, flowengine_conn_id: str = FlowEngineHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=flowengine_conn_id, **kwargs)
        self.flowengine_conn_id = flowengine_conn_id


class FlowEngineWaitingTask(FlowEngineTask):
    """A FlowEngine task that waits on a run. ``success_statuses`` and ``failure_statuses`` are
    deprecated names of ``success_states`` and ``failure_states``: they still work, with a warning
    (``success_states`` wins when both are given)."""

    def __init__(
        self,
        *,
        success_statuses: list[str] | None = None,
        failure_statuses: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        for alias, value in (("success_statuses", success_statuses), ("failure_statuses", failure_statuses)):
            if value is not None:
                warnings.warn(
                    f"FlowEngine: {alias} is deprecated, use {STATUS_ALIASES[alias]}",
                    ProviderDeprecationWarning,
                    stacklevel=2,
                )
            kwargs.setdefault(STATUS_ALIASES[alias], value)
        super().__init__(**kwargs)


class FlowEngineRunTask(FlowEngineWaitingTask):
    """A task on one run of a pipeline (``pipeline_id``, ``run_id``): the resume operator's and the
    sensor's."""

    def __init__(self, *, pipeline_id: int | str, run_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline_id = pipeline_id
        self.run_id = run_id

    def run_ref(self) -> RunRef:
        return FlowEngineHook.run_ref(self.pipeline_id, self.run_id)
