"""EnOS (Envision): stream processing pipelines and batch data flows (v2.1), through the API gateway."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pipelines.connection_types import ENOS_CONNECTION
from airflow_provider_pipelines.core.apim_auth import ApimAuth
from airflow_provider_pipelines.core.auth import Auth
from airflow_provider_pipelines.core.errors import PipelineApiError, PipelineError
from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.plans import OPTIONS, ApiCall, Plan, endpoint
from airflow_provider_pipelines.core.replies import (
    reply_envelope,
    reply_id,
    reply_int,
    reply_objects,
    unexpected_reply,
)
from airflow_provider_pipelines.core.start import Attempt
from airflow_provider_pipelines.core.states import RunState, RunStatus, StateMap
from airflow_provider_pipelines.core.task import PipelineTask
from airflow_provider_pipelines.core.urls import url_path, where

if TYPE_CHECKING:
    from airflow.sdk import Connection

STREAMING = "/streaming/v2.0/streaming"
FLOWS = "/batch-processing-service/v2.1"
EXECUTION_MODES = {"standalone": 0, "cluster": 1}
PAGE_SIZE = 100

# What each documented error code means; 61121 is worth another try later.
ERROR_CODES = {
    61100: "the stream configuration JSON is invalid",
    61108: "the stream processing pipeline does not exist",
    61165: "the pipeline's job is in a state from which it cannot be started",
    61121: "another user is starting a job in this organization; try again later",
    61128: "the organization has no resource for this execution mode",
    61126: "not enough allocated resource for the pipeline",
    61122: "the pipeline failed to stop",
    61152: "the pipeline cannot change to Stopped from its current state",
    62101: "userId or orgId is invalid",
    62102: "invalid sorter",
    62103: "no privilege for this operation",
    62104: "the flow has no task",
    62109: "internal error of the batch processing service",
}
RETRY_LATER = {61121}
BAD_USER_OR_ORG, NO_PRIVILEGE = "62101", "62103"
# A flow instance id no flow has: "Test connection" reads it to learn whether the user id is accepted.
PROBE_FLOW_INSTANCE = "airflow-connection-test"

# Batch flow instance statuses (integers) by name. SKIP counts as success, SUSPEND as still going.
FLOW_STATUS_NAMES = {
    -1: "FAIL",
    0: "INIT",
    1: "SUCCESS",
    2: "RUNNING",
    3: "SUSPEND",
    4: "INTERNAL_ERROR",
    5: "WAIT",
    6: "READY",
    7: "TIMEOUT",
    8: "CANCEL",
    9: "RERUN",
    10: "SKIP",
}
ENOS_STATES = StateMap(
    {
        "SUCCESS": RunState.SUCCESS,
        "SKIP": RunState.SUCCESS,
        "FAIL": RunState.FAILED,
        "INTERNAL_ERROR": RunState.FAILED,
        "TIMEOUT": RunState.FAILED,
        "CANCEL": RunState.FAILED,
        "INIT": RunState.PENDING,
        "WAIT": RunState.PENDING,
        "READY": RunState.PENDING,
        "RUNNING": RunState.RUNNING,
        "RERUN": RunState.RUNNING,
        "SUSPEND": RunState.RUNNING,
    }
)
FAILED_FLOW_STATUSES = {-1, 4, 7, 8}
# STARTING and STOPPING are inferred: error 61165 names a job "with status [STARTING]".
STREAMING_STATUSES = ("PUBLISHED", "RUNNING", "PAUSED", "STOPPED", "STARTING", "STOPPING")
# What the pipeline list shows once an action has taken effect (or is taking it).
ACTION_TOOK_EFFECT = {
    "start": frozenset({"STARTING", "RUNNING"}),
    "stop": frozenset({"STOPPING", "STOPPED", "PUBLISHED"}),
    "pause": frozenset({"PAUSED"}),
}
CANNOT_START = "61165"
MAX_PIPELINE_PAGES = 1000


def flow_instance_missing(error: PipelineApiError) -> bool:
    """EnOS's answer to reading a flow instance that does not exist (code 62109, "... not found",
    inferred from the emulator's documented-shape answer), or the plan's own "no flow instance"."""
    message = error.message.lower()
    return (error.code == "62109" and "not found" in message) or (
        error.status == 404 and message.startswith("no flow instance")
    )


def refused(error: PipelineApiError, kind: str, value: str, no_privilege: str) -> None:
    """Raise what "Test connection" says of the ``kind`` id (org, user) EnOS refused (62101), or that
    gave no privilege (62103)."""
    if error.code == BAD_USER_OR_ORG:
        message = f"EnOS refused the {kind} id {value!r} ({error.message}): check the {kind}_id extra"
        raise PipelineError(message) from None
    if error.code == NO_PRIVILEGE:
        raise PipelineError(f"EnOS: {no_privilege} ({error.message})") from None


def flow_instance_id(flow_id: int | str, trigger_time_ms: int) -> str:
    """The id EnOS gives the instance a trigger creates (inferred from the documented example)."""
    return f"{int(flow_id)}-{datetime.fromtimestamp(trigger_time_ms / 1000, tz=UTC):%Y%m%d%H%M%S}"


def streaming_target(run: Mapping[str, Any]) -> str:
    """The status a streaming run ref waits for (:meth:`EnosHook.streaming_ref`)."""
    return str(run.get("target") or "RUNNING").upper()


def settling(run: Mapping[str, Any]) -> bool:
    """Whether a streaming start is still within its ``start_grace`` (the list may show the old status)."""
    return run.get("settle_until") is not None and time.time() < float(run["settle_until"])


def flow_status_name(status: Any) -> str:
    """A flow status code's name (``1`` → ``SUCCESS``); what is not an integer code stays as it is."""
    number = reply_int(status)
    if number is None:
        return str(status)
    return FLOW_STATUS_NAMES.get(number, f"STATUS_{status}")


def flow_tasks(instance: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The tasks of a flow instance's ``graph``."""
    graph = instance.get("graph")
    return reply_objects(graph.get("tasks") if isinstance(graph, Mapping) else None)


class EnosHook(PipelineHook, connection=ENOS_CONNECTION):
    """
    Talks to EnOS through its API gateway, signing every request.

    Connection (type ``enos``): **host** is the API gateway (``https://apim-<region>.envisioniot.com``),
    **login** the application's app key, **password** its app secret. Extras: ``org_id`` (required),
    ``user_id`` (batch data flows), and ``verify``, ``ca_bundle``, ``timeout``, the retry settings.
    The access token is fetched once, cached until 2 minutes before it expires, and fetched again
    after a token error; the app secret never leaves the worker.

    :param enos_conn_id: the connection id (default ``enos_default``).
    """

    platform = "EnOS"
    state_map = ENOS_STATES
    stopping_states = frozenset({"STOPPING", "STOPPED", "PUBLISHED"})
    start_check = "the pipeline list or the flow's instances in the EnOS console"
    credential_fields = "the login (the app key) and the password (the app secret)"

    def options_from_connection(self, conn: Connection) -> dict[str, Any]:
        extras = conn.extra_dejson
        if not extras.get("org_id"):
            raise ValueError("the org_id extra is required")
        return {
            "org_id": str(extras["org_id"]),
            "user_id": str(extras["user_id"]) if extras.get("user_id") else None,
        }

    def auth_from_connection(self, conn: Connection) -> Auth:
        if not conn.login or not conn.password:
            raise ValueError("put the app key in the login and the app secret in the password")
        settings = self.settings_from_connection(conn)
        return ApimAuth(
            settings.base_url,
            conn.login,
            conn.password,
            timeout=settings.read_timeout,
            verify=settings.verify,
        )

    # -- envelope ------------------------------------------------------------------------------------

    def _data(self, name: str, reply: Any) -> Any:
        """The envelope's ``data``; a non-zero ``code`` is an error named by its documented meaning."""
        code, reply = reply_envelope(self.platform, name, reply, "code")
        if code != "0":
            number = reply_int(code)
            meaning = ERROR_CODES.get(number or 0)
            message = f"code {code}: {meaning + ' — ' if meaning else ''}{reply.get('msg') or ''}".rstrip(
                " —"
            )
            later = number in RETRY_LATER
            raise PipelineApiError(
                self.platform, name, 200, message, retryable=later, sent=not later, code=code
            )
        return reply.get("data")

    def _call(
        self,
        name: str,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        flow: str | None = None,
        **kw: Any,
    ) -> Plan[Any]:
        """
        A call carrying the connection's org id, and for a batch data ``flow`` action that action and
        the connection's user id (the options of the client running the plan); its envelope's ``data``.
        """
        options = yield OPTIONS
        flow_params = {}
        if flow is not None:
            if not options.get("user_id"):
                raise PipelineApiError(
                    self.platform, f"{flow} flow", None, "batch data flows need the user_id extra"
                )
            flow_params = {"action": flow, "userId": options["user_id"]}
        query = {**flow_params, **(params or {}), "orgId": options["org_id"]}
        return self._data(name, (yield ApiCall(name, method, path, params=query, **kw)))

    # -- streaming -----------------------------------------------------------------------------------

    def pipeline_action_plan(
        self, pipeline_id: str, action: str, body: Mapping[str, Any] | None = None
    ) -> Plan[Any]:
        path = f"{STREAMING}/pipeline{url_path(pipeline_id)}"
        options: dict[str, Any] = {"json": dict(body or {}), "idempotent": action != "start"}
        return (yield from self._call(f"{action} pipeline", "POST", path, {"action": action}, **options))

    def list_pipelines_plan(
        self, page_no: int = 1, page_size: int = PAGE_SIZE
    ) -> Plan[tuple[int, list[dict[str, Any]]]]:
        params = {"pageSize": page_size, "pageNo": page_no}
        data = yield from self._call("list pipelines", "GET", f"{STREAMING}/pipelines", params)
        if data is not None and not isinstance(data, Mapping):
            raise unexpected_reply(self.platform, "list pipelines", data, "data")
        data = data or {}
        pipelines = [dict(p) for p in reply_objects(data.get("pipelines"))]
        return max(0, reply_int(data.get("count")) or 0), pipelines

    def find_pipeline_plan(self, pipeline_id: str) -> Plan[dict[str, Any]]:
        """A pipeline's entry in the paged pipeline list (there is no per-pipeline status call)."""
        page, seen = 1, set[str]()
        while True:
            count, pipelines = yield from self.list_pipelines_plan(page)
            for entry in pipelines:
                if str(entry.get("pipelineId")) == str(pipeline_id):
                    return entry
            listed = {str(entry.get("pipelineId")) for entry in pipelines}
            # A page with nothing new (a server that ignores pageNo) ends the search like the last page.
            if not listed - seen or len(seen | listed) >= count or page >= MAX_PIPELINE_PAGES:
                raise PipelineApiError(
                    self.platform, "find pipeline", 404, f"pipeline {pipeline_id} is not in the list"
                )
            seen |= listed
            page += 1

    def offset_lag_plan(self, pipeline_id: str) -> Plan[Any]:
        path = f"{STREAMING}/pipeline{url_path(pipeline_id, 'offset-lag')}"
        return (yield from self._call("get offset lag", "GET", path))

    # -- batch data flows ------------------------------------------------------------------------------

    def trigger_flow_plan(
        self,
        flow_id: int | str,
        parameters: Mapping[str, Any] | None = None,
        trigger_time: int | None = None,
    ) -> Plan[str]:
        """Trigger a flow; ``trigger_time`` (epoch ms, default now) decides the instance id."""
        action = "updateAndTrigger" if parameters else "trigger"
        when = int(time.time() * 1000) if trigger_time is None else int(trigger_time)
        body: dict[str, Any] = {"flowId": int(flow_id), "triggerTime": when}
        if parameters:
            body["parameters"] = [{"key": str(k), "value": str(v)} for k, v in parameters.items()]
        data = yield from self._call(
            "trigger flow", "POST", f"{FLOWS}/flows", flow=action, json=body, idempotent=False
        )
        instance = reply_id(data.get("flowInstanceId")) if isinstance(data, Mapping) else None
        if instance is None:
            raise PipelineApiError(
                self.platform, "trigger flow", 200, f"the reply carries no flowInstanceId: {data!r:.200}"
            )
        return instance

    def get_flow_instance_plan(self, instance_id: str) -> Plan[dict[str, Any]]:
        params = {"flowInstId": instance_id}
        data = yield from self._call("get flow instance", "GET", f"{FLOWS}/flowInstances", params, flow="get")
        if not isinstance(data, Mapping):
            raise PipelineApiError(self.platform, "get flow instance", 404, f"no flow instance {instance_id}")
        return dict(data)

    def cancel_flow_instance_plan(self, instance_id: str) -> Plan[Any]:
        body = {"flowInstId": instance_id}
        return (
            yield from self._call(
                "cancel flow instance", "POST", f"{FLOWS}/flowInstances", flow="cancel", json=body
            )
        )

    def start_pipeline_plan(
        self,
        pipeline_id: str,
        execution_mode: str = "standalone",
        kafka_rate: int = 1000,
        resource_config: Mapping[str, Any] | None = None,
    ) -> Plan[None]:
        """Start a released streaming pipeline (``action=start``)."""
        if execution_mode not in EXECUTION_MODES:
            raise ValueError(f"execution_mode must be 'standalone' or 'cluster', not {execution_mode!r}")
        body: dict[str, Any] = {
            "executionMode": EXECUTION_MODES[execution_mode],
            "kafkaRate": int(kafka_rate),
        }
        if resource_config:
            body["resourceConfig"] = dict(resource_config)
        return self._action_plan(pipeline_id, "start", body)

    def stop_pipeline_plan(self, pipeline_id: str) -> Plan[None]:
        return self._action_plan(pipeline_id, "stop")

    def pause_pipeline_plan(self, pipeline_id: str) -> Plan[None]:
        return self._action_plan(pipeline_id, "pause")

    def _action_plan(
        self, pipeline_id: str, action: str, body: Mapping[str, Any] | None = None
    ) -> Plan[None]:
        """:meth:`pipeline_action_plan`, its reply's ``data`` left out."""
        yield from self.pipeline_action_plan(pipeline_id, action, body)

    # -- the public sync API: each runs its plan -----------------------------------------------------

    start_pipeline = endpoint(start_pipeline_plan)
    stop_pipeline = endpoint(stop_pipeline_plan)
    pause_pipeline = endpoint(pause_pipeline_plan)
    get_pipeline = endpoint(
        find_pipeline_plan,
        "The pipeline's entry in the list: ``pipelineId``, ``pipelineName``, ``status``, ``version``...",
    )
    list_pipelines = endpoint(list_pipelines_plan)
    get_offset_lag = endpoint(offset_lag_plan)
    trigger_flow = endpoint(
        trigger_flow_plan,
        "Trigger a batch data flow (with ``parameters``: ``updateAndTrigger``); the flow instance id.",
    )
    get_flow_instance = endpoint(get_flow_instance_plan)
    cancel_flow_instance = endpoint(cancel_flow_instance_plan)

    def check_connection(self) -> str:
        """
        An access token from the token service (the app key and secret), then a signed list of the
        organization's stream processing pipelines (the org id). With a ``user_id``, also a read of
        a flow instance that does not exist: the batch data flow service answers 62101 when the user
        id is wrong, and "no such instance" when it is right. Each refusal is named as such.
        """
        client = self.client  # an unusable connection fails here, not as a refused app key
        org_id, user_id = client.options["org_id"], client.options.get("user_id")
        try:
            count, _ = self.list_pipelines(1, 1)
        except PipelineApiError as exc:
            if exc.call == "get access token" and exc.status is None:
                place = where(client.settings.base_url)
                raise PipelineError(
                    f"EnOS's token service at {place} cannot be reached ({exc.message}): check the "
                    "connection's host (the API gateway URL)"
                ) from None
            refused(exc, "org", org_id, f"the application has no privilege in org {org_id!r}")
            raise
        except PipelineError as exc:  # the token service refused the app key or secret
            text = str(exc)
            if "(status None): " in text:  # a JSON reply with no token service status: another server
                said = text.split("(status None): ", 1)[1]
                raise PipelineError(
                    f"{where(client.settings.base_url)} did not answer as EnOS's token service does "
                    f"({said}): check the connection's host (the API gateway URL)"
                ) from None
            raise PipelineError(f"{text}: check the credentials, {self.credential_fields}") from None
        checked = f"the token service accepted the app key, and org {org_id} lists {count} stream pipelines"
        if not user_id:
            return checked
        try:
            self.run(self.get_flow_instance_plan(PROBE_FLOW_INSTANCE))
        except PipelineApiError as exc:
            refused(exc, "user", user_id, f"user {user_id!r} has no privilege for batch data flows")
            if exc.code is None and (exc.status is None or exc.status in (401, 403) or exc.status >= 500):
                raise
        return f"{checked}; the batch data flow service accepted user {user_id}"

    # -- the run protocol ----------------------------------------------------------------------------

    @staticmethod
    def streaming_ref(pipeline_id: str, target: str = "RUNNING", settle_until: float | None = None) -> RunRef:
        """A streaming pipeline watched until it reaches ``target``. Until ``settle_until`` (epoch s),
        a status that would mean failure is read as "not there yet" (a start takes a while to show)."""
        return {
            "run_id": str(pipeline_id),
            "kind": "streaming",
            "target": target,
            "settle_until": settle_until,
        }

    @staticmethod
    def flow_ref(instance_id: str) -> RunRef:
        return {"run_id": str(instance_id), "kind": "flow"}

    def streaming_state(self, raw: str, run: Mapping[str, Any]) -> RunState:
        target = streaming_target(run)
        if raw == target or (target == "STOPPED" and raw == "PUBLISHED"):
            return RunState.SUCCESS
        if raw not in STREAMING_STATUSES:
            return RunState.UNKNOWN
        if target == "RUNNING" and raw in ("STOPPED", "PUBLISHED") and run.get("settle_until") is not None:
            return RunState.PENDING if settling(run) else RunState.FAILED
        return RunState.RUNNING

    def success_states(self, run: Mapping[str, Any]) -> list[str] | None:
        """A streaming pipeline's target status (STOPPED or PUBLISHED for a stop); a flow's, the map's."""
        if run.get("kind") != "streaming":
            return None
        target = streaming_target(run)
        return [target, "PUBLISHED"] if target == "STOPPED" else [target]

    def run_state(
        self,
        status: RunStatus,
        run: Mapping[str, Any],
        success_states: list[str] | None,
        failure_states: list[str] | None,
    ) -> RunState:
        """
        A flow instance's status as on every platform. A streaming pipeline's statuses are not ends:
        ``success_states`` replace the target status (which is then one more status to wait through),
        and ``failure_states`` end the wait as a failure, except while a start settles (``start_grace``),
        when, like STOPPED and PUBLISHED, they mean that the start has not shown yet.
        """
        if run.get("kind") != "streaming":
            return super().run_state(status, run, success_states, failure_states)
        raw = status.raw_state.upper()
        if success_states is not None and raw in {state.upper() for state in success_states}:
            return RunState.SUCCESS
        if failure_states is not None and raw in {state.upper() for state in failure_states}:
            return RunState.PENDING if settling(run) else RunState.FAILED
        if success_states is not None and status.state is RunState.SUCCESS:
            return RunState.RUNNING
        return status.state

    def run_status_plan(self, run: Mapping[str, Any]) -> Plan[RunStatus]:
        if run.get("kind") == "streaming":
            entry = yield from self.find_pipeline_plan(run["run_id"])
            raw = str(entry.get("status") or "").upper()
            return RunStatus(raw, self.streaming_state(raw, run), {"pipelineName": entry.get("pipelineName")})
        instance = yield from self.get_flow_instance_plan(run["run_id"])
        raw = flow_status_name(instance.get("status"))
        counts: dict[str, int] = {}
        for task in flow_tasks(instance):
            name = flow_status_name(task.get("status"))
            counts[name] = counts.get(name, 0) + 1
        progress = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or None
        return RunStatus(
            raw, self.state_map.classify(raw), {"statusDesc": instance.get("statusDesc")}, progress
        )

    def cancel_plan(self, run: Mapping[str, Any]) -> Plan[None]:
        if run.get("kind") == "streaming":
            yield from self.pipeline_action_plan(run["run_id"], "stop")
        else:
            yield from self.cancel_flow_instance_plan(run["run_id"])

    def is_stopped(self, run: Mapping[str, Any], status: RunStatus) -> bool:
        # A streaming start's success (RUNNING) is a running pipeline, not a stopped one.
        if run.get("kind") == "streaming":
            return status.raw_state.upper() in self.stopping_states
        return super().is_stopped(run, status)

    def describe_run(self, run: Mapping[str, Any]) -> str:
        if run.get("kind") == "streaming":
            return f"EnOS pipeline {run['run_id']}"
        return f"EnOS flow instance {run['run_id']}"

    def start_facts_plan(self, run_spec: Mapping[str, Any]) -> Plan[dict[str, Any]]:
        """A flow's trigger time, fixed for every send of this try: it decides the instance's id."""
        return {"trigger_time": int(time.time()) * 1000} if "flow_id" in run_spec else {}
        yield  # pragma: no cover

    def find_started_run_plan(self, run_spec: Mapping[str, Any], attempt: Attempt) -> Plan[RunRef | None]:
        """
        Streaming: start, stop and pause change the pipeline's state, so the list shows whether one
        took effect. Flows: the instance id is the flow id and the trigger time (``2791-19700101000000``
        for ``triggerTime`` 0, inferred from the documented example), so the instance is read by that id.
        """
        if "flow_id" in run_spec:
            instance_id = flow_instance_id(run_spec["flow_id"], int(attempt["trigger_time"]))
            try:
                yield from self.get_flow_instance_plan(instance_id)
            except PipelineApiError as exc:
                if not flow_instance_missing(exc):
                    raise  # only EnOS's "not found" answer means no instance (any other: cannot tell)
                return None
            return self.flow_ref(instance_id)
        entry = yield from self.find_pipeline_plan(run_spec["pipeline_id"])
        status = str(entry.get("status") or "").upper()
        if status not in ACTION_TOOK_EFFECT[run_spec["action"]]:
            return None
        return self.action_ref(run_spec)

    def action_ref(self, run_spec: Mapping[str, Any]) -> RunRef:
        """What the operator of ``run_spec``'s action waits on."""
        if run_spec["action"] == "stop":
            return self.streaming_ref(run_spec["pipeline_id"], "STOPPED")
        return self.streaming_ref(run_spec["pipeline_id"], "RUNNING", time.time() + run_spec["start_grace"])

    def failure_plan(self, run: Mapping[str, Any], status: Mapping[str, Any]) -> Plan[list[str]]:
        if run.get("kind") == "streaming":
            return [f"pipeline {run['run_id']} did not reach {run.get('target', 'RUNNING')}"]
        instance = yield from self.get_flow_instance_plan(run["run_id"])
        lines = []
        for task in flow_tasks(instance):
            if reply_int(task.get("status")) in FAILED_FLOW_STATUSES:
                lines.append(
                    f"task {task.get('name') or task.get('taskId')}: {flow_status_name(task.get('status'))}"
                )
                lines.extend(
                    f"task {task.get('name')} log: {line}"
                    for line in str(task.get("log") or "").splitlines()[-10:]
                    if line.strip()
                )
        return lines or [f"flow instance {run['run_id']} ended {flow_status_name(instance.get('status'))}"]


# -- what EnOS tasks act on: declared once for the operators and the sensors ----------------------------


class EnosTask(PipelineTask):
    """A task on EnOS: ``enos_conn_id``."""

    hook_class: ClassVar[type[PipelineHook]] = EnosHook

    def __init__(self, *, enos_conn_id: str = EnosHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=enos_conn_id, **kwargs)
        self.enos_conn_id = enos_conn_id


class EnosPipelineTask(EnosTask):
    """A task on one stream processing pipeline (``pipeline_id``): the start, stop and pause operators'
    and the streaming sensor's."""

    def __init__(self, *, pipeline_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline_id = pipeline_id
