"""The example platform's API, declared: start a job's run (carrying a marker), read it, cancel it,
read its log, find it by marker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_pipelines.core.auth import Auth, BearerTokenAuth
from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.hook import PipelineHook, RunRef
from airflow_provider_pipelines.core.plans import ApiCall, Plan, endpoint, get_call
from airflow_provider_pipelines.core.replies import reply_id, reply_mapping
from airflow_provider_pipelines.core.states import RunState, RunStatus, StateMap
from airflow_provider_pipelines.core.urls import url_path
from tests.example_platform.platform import EXAMPLE

if TYPE_CHECKING:
    from airflow.sdk import Connection

EXAMPLE_STATES = StateMap(
    {
        "QUEUED": RunState.PENDING,
        "RUNNING": RunState.RUNNING,
        "SUCCEEDED": RunState.SUCCESS,
        "FAILED": RunState.FAILED,
        "CANCELLED": RunState.FAILED,
    }
)


class ExampleHook(PipelineHook):
    """Connection (type ``example``): **host** is the API URL, **password** a bearer token."""

    platform = "Example"
    conn_name_attr = "example_conn_id"
    default_conn_name = "example_default"
    conn_type = EXAMPLE.connection.conn_type
    hook_name = EXAMPLE.connection.hook_name
    connection_form = EXAMPLE.connection.form
    state_map = EXAMPLE_STATES
    start_check = "the platform's runs (GET /api/runs)"

    def __init__(self, example_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(conn_id=example_conn_id or kwargs.pop("conn_id", None), **kwargs)

    def auth_from_connection(self, conn: Connection) -> Auth:
        return BearerTokenAuth(conn.password) if conn.password else Auth()

    def start_plan(self, job: str, marker: str) -> Plan[RunRef]:
        path = url_path("api", "jobs", job, "runs")
        reply = yield ApiCall("start run", "POST", path, json={"marker": marker}, idempotent=False)
        run_id = reply_id(reply_mapping(self.platform, "start run", reply).get("id"))
        if run_id is None:
            raise PipelineApiError(self.platform, "start run", 200, "the reply carries no run id")
        return self.run_ref(run_id)

    start = endpoint(start_plan)  # the sync caller, from the plan

    def list_runs_plan(self, marker: str | None = None) -> Plan[list[Mapping[str, Any]]]:
        reply = yield ApiCall("list runs", "GET", url_path("api", "runs"), params={"marker": marker})
        return [run for run in reply if isinstance(run, Mapping)] if isinstance(reply, list) else []

    def job_url(self, job: str) -> str:
        return self.client.settings.base_url.rstrip("/") + url_path("ui", "jobs", job)

    def check_connection(self) -> str:
        return f"listed {len(self.run(self.list_runs_plan()))} runs"

    # -- the run protocol ----------------------------------------------------------------------------

    @staticmethod
    def run_ref(run_id: str) -> RunRef:
        return {"run_id": str(run_id)}

    def run_status_plan(self, run: Mapping[str, Any]) -> Plan[RunStatus]:
        reply = yield get_call("get run", url_path("api", "runs", run["run_id"]))
        record = reply_mapping(self.platform, "get run", reply)
        raw = str(record.get("state") or "")
        return RunStatus(raw, self.state_map.classify(raw))

    def cancel_plan(self, run: Mapping[str, Any]) -> Plan[None]:
        yield ApiCall("cancel run", "POST", url_path("api", "runs", run["run_id"], "cancel"), expect="none")

    def failure_plan(self, run: Mapping[str, Any], status: Mapping[str, Any]) -> Plan[list[str]]:
        reply = yield get_call("get log", url_path("api", "runs", run["run_id"], "log"))
        lines = reply_mapping(self.platform, "get log", reply).get("lines")
        return [str(line) for line in lines] if isinstance(lines, list) else []

    def find_run_plan(self, run_spec: Mapping[str, Any], marker: str) -> Plan[RunRef | None]:
        for run in (yield from self.list_runs_plan(marker)):
            run_id = reply_id(run.get("id"))
            if run_id is not None and run.get("marker") == marker and run.get("job") == run_spec.get("job"):
                return self.run_ref(run_id)
        return None
