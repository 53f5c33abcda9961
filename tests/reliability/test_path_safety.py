"""
Reliability scenario 8 (issue #7): path safety.

Run ids and pipeline names holding ``/``, ``..``, ``.``, ``?``, ``#``, ``%`` and non-ASCII must reach
only the resource they name. Each platform's real emulator is driven over real HTTP by the hooks:
sync (requests, as on a worker) and async (aiohttp through ``hook.async_client()``, as in a trigger).
The emulators' path guard (``emulators/base.py``) refuses any request whose raw path would not reach
exactly one resource, and records each request's route, its path parameters decoded once from the
raw path and its query; every call here is checked against exactly the identifiers it meant.

Decoys are what a mis-encoding would reach instead: pipeline ``x`` for ``x?y=1`` or ``x#frag``,
``a`` for ``a/b``, the program-level stop for a CDAP run id ``..`` (``.../runs/../stop``), the whole
Daggy run for a task named ``..`` (``DELETE .../task/..``), ``decoy`` (or the decoy run's id) for
``x/../decoy``. They must never be touched.
"""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

from airflow_provider_pipelines.core.errors import PipelineApiError
from airflow_provider_pipelines.core.urls import url_path, wire_url
from airflow_provider_pipelines.emulators.base import EmulatorHandle, PathRecord
from airflow_provider_pipelines.hooks.cdap import CdapHook
from airflow_provider_pipelines.hooks.daggy import DaggyHook
from airflow_provider_pipelines.hooks.enos import PAGE_SIZE, EnosHook
from airflow_provider_pipelines.hooks.flowengine import FlowEngineHook
from airflow_provider_pipelines.hooks.tailer import TailerHook, default_job_id
from tests.integration.conftest import enos_connection, flowengine_connection, tailer_connection
from tests.reliability import report

T = TypeVar("T")

HOSTILE = ("a/b", "..", ".", "x?y=1", "x#frag", "100%", "%2F", "ünïcode-管道", "sp ace", "x/../decoy")
"""Names and ids. ``decoy`` in ``x/../decoy`` is replaced by the decoy's id where the server assigns ids."""

QUERY_HOSTILE = "k&orgId=x#y %2F+ü=;?"
"""A value for what travels in query strings: EnOS org and user ids, FlowEngine engine key, Firebase key."""

FAST_RETRIES = {"retry_initial_wait": 0.01, "retry_max_wait": 0.05}
TALLY: dict[str, dict[str, int]] = {}


# -- checking each call against what the emulator's path guard recorded ----------------------------------


@dataclass(frozen=True)
class Hit:
    """A request a call is meant to make: its route, and exactly its path parameters and its query."""

    route: str
    params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)

    def matches(self, record: PathRecord) -> bool:
        return (
            record.route == self.route
            and record.params == dict(self.params)
            and record.query == dict(self.query)
        )


class Watch:
    """Checks that the requests of each call reached exactly the hits it meant, and nothing else.

    ``side`` are requests a call may also make (token service, engine discovery), checked the same way.
    """

    def __init__(self, platform: str, emulator: EmulatorHandle, side: tuple[Hit, ...] = ()) -> None:
        self.platform = platform
        self.emulator = emulator
        self.side = side
        self.seen = len(emulator.paths())
        self.calls = 0
        self.requests = 0

    def check(self, hits: tuple[Hit, ...]) -> None:
        records = self.emulator.paths()
        new, self.seen = records[self.seen :], len(records)
        refused = [f"{r.method} {r.raw_path}: {r.problems}" for r in new if r.problems]
        assert not refused, f"the path guard refused: {refused}"
        elsewhere = [r for r in new if not any(h.matches(r) for h in (*hits, *self.side))]
        assert not elsewhere, f"requests reached another path: {elsewhere}; meant {hits}"
        missed = [h for h in hits if not any(h.matches(r) for r in new)]
        assert not missed, f"never reached {missed}; the requests were {new}"
        self.calls += 1
        self.requests += len(new)

    def call(self, hit: Hit, action: Callable[..., T], *args: Any) -> T:
        result = action(*args)
        self.check((hit,))
        return result

    def call_all(self, hits: tuple[Hit, ...], action: Callable[..., T], *args: Any) -> T:
        """A call that reads more than one resource of the same run, each exactly."""
        result = action(*args)
        self.check(hits)
        return result

    async def acall_all(self, hits: tuple[Hit, ...], action: Awaitable[T]) -> T:
        """A call that reads more than one resource of the same run, each exactly."""
        result = await action
        self.check(hits)
        return result

    def fails(self, hit: Hit, action: Callable[..., Any], *args: Any) -> PipelineApiError:
        """A call on an id that names no resource: the platform's error, from exactly that resource."""
        with pytest.raises(PipelineApiError) as info:
            action(*args)
        self.check((hit,))
        return info.value

    async def acall(self, hit: Hit, action: Awaitable[T]) -> T:
        result = await action
        self.check((hit,))
        return result

    async def afails(self, hit: Hit, action: Awaitable[Any], *also: Hit) -> PipelineApiError:
        """``also``: what the call reads besides (a refused stop is checked against the run's state)."""
        with pytest.raises(PipelineApiError) as info:
            await action
        self.check((hit, *also))
        return info.value

    def done(self, names: int) -> None:
        self.emulator.assert_paths_safe()
        assert self.emulator.stats()["path_rejections"] == 0
        TALLY[self.platform] = {"names": names, "calls": self.calls, "requests": self.requests}


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: Mapping[str, Any]) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


# -- the URL itself --------------------------------------------------------------------------------------


def test_wire_url_keeps_each_identifier_in_its_segment_and_the_query_whole() -> None:
    path = url_path("runs", "..", ".", "a/b", "x?y=1", "x#f", "100%", "%2F", "ü 管")
    url = wire_url("http://h:1/base path/ü", path, {"orgId": QUERY_HOSTILE, "n": 1})
    assert url == (
        "http://h:1/base%20path/%C3%BC/runs/%2E%2E/%2E/a%2Fb/x%3Fy%3D1/x%23f/100%25/%252F/%C3%BC%20%E7%AE%A1"
        "?orgId=k%26orgId%3Dx%23y%20%252F%2B%C3%BC%3D%3B%3F&n=1"
    )
    # A path from elsewhere (a server's engine path) is requoted; its existing escapes are kept.
    assert wire_url("http://h", "/e/ü ns?x#y%z/%2F") == "http://h/e/%C3%BC%20ns%3Fx%23y%25z/%2F"
    assert wire_url("http://bücher.example:8080/api/", "/v") == "http://xn--bcher-kva.example:8080/api/v"


# -- the guard itself, with raw request targets no HTTP library would send -------------------------------


def raw_request(url: str, method: str, target: str) -> int:
    """Send ``target`` exactly as written (http.client neither quotes nor normalises it)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(method, target)
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_path_guard_refuses_what_would_climb_or_split(cdap_emulator: Any) -> None:
    emulator = cdap_emulator
    runs = "/v3/namespaces/default/apps/{}/workflows/DataPipelineWorkflow/runs/{}"
    refused = {
        runs.format("x/..", "r"): "a raw dot segment",
        runs.format("x", "r/./stop"): "a raw dot segment",
        runs.format("x", "a{b"): "characters that must be percent-encoded",
        runs.format("x", "100%"): "characters that must be percent-encoded",
        "/v3/namespaces//apps": "an empty segment",
        runs.format("x", "r") + "#frag": "a fragment",
    }
    for target, problem in refused.items():
        assert raw_request(emulator.url, "GET", target) == 400, target
        (record,) = emulator.paths()[-1:]
        assert problem in "; ".join(record.problems), (target, record)
    assert emulator.stats()["path_rejections"] == len(refused)

    # Encoded, each segment is one identifier, decoded exactly once: "%2F" splits nothing, "%252F" is "%2F".
    accepted = {
        runs.format("a%2Fb", "%2E%2E"): {"app": "a/b", "runid": ".."},
        runs.format("x%3Fy%3D1", "%252F"): {"app": "x?y=1", "runid": "%2F"},
        runs.format("%C3%BC%20%E7%AE%A1", "x%23f"): {"app": "ü 管", "runid": "x#f"},
    }
    for target, params in accepted.items():
        assert raw_request(emulator.url, "GET", target) == 404, target  # no such run: its own 404
        (record,) = emulator.paths()[-1:]
        assert record.problems == () and record.route == "get_run"
        assert {k: record.params[k] for k in params} == params
    with pytest.raises(AssertionError, match="path safety: refused requests"):
        emulator.assert_paths_safe()


# -- CDAP: namespace, pipeline and run id in the path ----------------------------------------------------


def test_cdap_hostile_pipeline_names_and_run_ids(cdap_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # CDAP itself allows only letters, digits, "_" and "-" in application names: the emulator holds any
    # name, so this checks the provider's encoding beyond what a real instance accepts. Run ids come
    # from the server, yet a run id read back from anywhere must reach only its own run.
    emulator = cdap_emulator
    conn = {"conn_type": "cdap", "host": emulator.url, "extra": FAST_RETRIES}
    set_connection(monkeypatch, "cdap_default", conn)
    hook = CdapHook()
    program = {"ptype": "workflows", "program": "DataPipelineWorkflow"}
    start = Hit("start", {"ns": "default"})

    def run_hit(name: str, run_id: str, stop: bool = False) -> Hit:
        params = {"ns": "default", "app": name, **program, "runid": run_id}
        return Hit("stop_run" if stop else "get_run", params)

    decoys = {}
    for name in ("decoy", "a", "x", "100"):
        emulator.configure_pipeline(name, running_seconds=600)
        decoys[name] = hook.start_pipeline(name)
    watch = Watch("CDAP", emulator)

    async def trigger_side(name: str, run_id: str, ident: str) -> None:
        async with hook.async_client() as client:
            ref, hostile = hook.run_ref(name, run_id), hook.run_ref("decoy", ident)
            status = await watch.acall(run_hit(name, run_id), hook.aget_run_status(ref, client))
            assert status.raw_state in ("PENDING", "STARTING", "RUNNING")
            await watch.acall(run_hit(name, run_id, stop=True), hook.acancel_run(ref, client))
            error = await watch.afails(run_hit("decoy", ident), hook.aget_run_status(hostile, client))
            assert error.status == 404
            error = await watch.afails(run_hit("decoy", ident, stop=True), hook.acancel_run(hostile, client))
            assert error.status == 404

    for name in HOSTILE:
        emulator.configure_pipeline(name, running_seconds=600)
        first = watch.call(start, hook.start_pipeline, name)
        second = watch.call(start, hook.start_pipeline, name)
        assert {run["runid"] for run in emulator.runs("default", name)} == {first, second}

        ref = hook.run_ref(name, first)
        status = watch.call(run_hit(name, first), hook.get_run_status, ref)
        assert status.raw_state in ("PENDING", "STARTING", "RUNNING")
        # Sent raw, a run id ".." would make this ".../runs/../stop": the program-level stop.
        watch.call(run_hit(name, first, stop=True), hook.cancel_run, ref)

        # A run id that is no run of the decoy pipeline: the 404 of exactly that run, never the decoy's run.
        ident = name.replace("decoy", decoys["decoy"])
        hostile = hook.run_ref("decoy", ident)
        error = watch.fails(run_hit("decoy", ident), hook.get_run_status, hostile)
        assert error.status == 404 and f"'runid' '{ident}' not found." in str(error)
        error = watch.fails(run_hit("decoy", ident, stop=True), hook.cancel_run, hostile)
        assert error.status == 404

        asyncio.run(trigger_side(name, second, ident))
        assert {run["status"] for run in emulator.runs("default", name)} <= {"STOPPING", "KILLED"}

    for name, run_id in decoys.items():
        (run,) = emulator.runs("default", name)
        # Not stopped (STOPPING, KILLED): still on its way, however far it got while the test ran.
        assert run["runid"] == run_id, f"decoy {name} was touched"
        assert run["status"] in ("PENDING", "STARTING", "RUNNING"), f"decoy {name} was touched"
    stats = emulator.stats()
    assert stats["program_level_stops"] == 0
    expected_starts = {f"default/{n}": 2 for n in HOSTILE} | {f"default/{n}": 1 for n in decoys}
    assert stats["starts_by_pipeline"] == expected_starts
    watch.done(len(HOSTILE))


# -- Daggy: integer run ids and task names in the path; the tag in the body ------------------------------


def test_daggy_hostile_task_names_tags_and_run_ids(
    daggy_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # daggyd's run ids are integers it assigns: the run protocol (run_ref) only carries those. Hostile
    # names go where Daggy takes names: the DAG's tag (JSON body) and task names (in task paths); the
    # hook's direct run calls, which take any string, get hostile run ids too.
    emulator = daggy_emulator
    conn = {"conn_type": "daggy", "host": emulator.url, "extra": FAST_RETRIES}
    set_connection(monkeypatch, "daggy_default", conn)
    emulator.config.queued_seconds = 0.0  # tasks run at once (the fixture restores the config)
    hook = DaggyHook()
    sleep = {"job": {"command": ["sleep", "600"]}}

    def run_hit(route: str, run_id: int | str, task: str | None = None) -> Hit:
        return Hit(route, {"runid": str(run_id)} | ({"taskName": task} if task is not None else {}))

    decoy_run = hook.submit_dag({"tag": "decoy", "tasks": {"decoy": sleep}})
    watch = Watch("Daggy", emulator)

    async def trigger_side(name: str, run_id: int, ident: str) -> None:
        async with hook.async_client() as client:
            ref = hook.run_ref(run_id)
            # The light state call; the run document too, since the state is new to this hook.
            reads = (run_hit("get_run_state", run_id), run_hit("get_run", run_id))
            status = await watch.acall_all(reads, hook.aget_run_status(ref, client))
            assert status.raw_state == "RUNNING"
            hit = run_hit("get_task_state", run_id, name)
            assert (
                await watch.acall(hit, hook.arun(hook.get_task_state_plan(run_id, name), client)) == "RUNNING"
            )
            await watch.acall(
                run_hit("kill_task", run_id, name), hook.arun(hook.kill_task_plan(run_id, name), client)
            )
            assert emulator.run(run_id)["taskStates"] == {name: "KILLED", "decoy": "RUNNING"}
            await watch.acall(run_hit("kill_run", run_id), hook.acancel_run(ref, client))
            error = await watch.afails(run_hit("get_run", ident), hook.arun(hook.get_run_plan(ident), client))
            assert error.status == 400
            error = await watch.afails(
                run_hit("kill_run", ident), hook.arun(hook.kill_run_plan(ident), client)
            )
            assert error.status == 400

    for name in HOSTILE:
        spec = {"tag": name, "tasks": {name: sleep, "decoy": sleep}}
        first = watch.call(Hit("submit"), hook.submit_dag, spec)
        second = watch.call(Hit("submit"), hook.submit_dag, spec)
        for run_id in (first, second):
            assert emulator.run(run_id)["tag"] == name
            assert set(emulator.run(run_id)["tasks"]) == {name, "decoy"}

        reads = (run_hit("get_run_state", first), run_hit("get_run", first))  # state, and document once
        status = watch.call_all(reads, hook.get_run_status, hook.run_ref(first))
        assert status.raw_state == "RUNNING"
        task = watch.call(run_hit("get_task", first, name), hook.get_task, first, name)
        assert task["job"]["command"] == ["sleep", "600"]
        assert (
            watch.call(run_hit("get_task_state", first, name), hook.get_task_state, first, name) == "RUNNING"
        )
        # Sent raw, "DELETE .../task/.." would be "DELETE /v1/dagrun/<id>": the whole run, decoy included.
        watch.call(run_hit("kill_task", first, name), hook.kill_task, first, name)
        assert emulator.run(first)["taskStates"] == {name: "KILLED", "decoy": "RUNNING"}
        watch.call(run_hit("kill_run", first), hook.cancel_run, hook.run_ref(first))
        assert emulator.run(first)["state"] == "KILLED"

        ident = name.replace("decoy", str(decoy_run))
        error = watch.fails(run_hit("get_run", ident), hook.get_run, ident)
        assert error.status == 400 and f"Invalid run ID: {ident}" in str(error)
        error = watch.fails(run_hit("kill_run", ident), hook.kill_run, ident)
        assert error.status == 400

        asyncio.run(trigger_side(name, second, ident))
        assert emulator.run(second)["state"] == "KILLED"

    decoy = emulator.run(decoy_run)
    assert (decoy["state"], decoy["taskStates"]) == ("RUNNING", {"decoy": "RUNNING"}), "the decoy was touched"
    assert emulator.stats()["run_kills"] == 2 * len(HOSTILE)
    assert emulator.stats()["task_kills"] == 2 * len(HOSTILE)
    watch.done(len(HOSTILE))


# -- Tailer: every identifier in a JSON body; the Firebase API key in the query --------------------------


def test_tailer_hostile_configuration_ids_and_api_key(
    tailer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every Tailer call is a POST to a fixed path whose identifiers travel in the JSON body; the only
    # identifier in a URL is the Firebase API key (``?key=``). The Tailer API cannot stop a run, so there
    # is no cancel to check (TailerHook.can_cancel is False).
    emulator = tailer_emulator_factory(pending_seconds=0.0, running_seconds=600.0, api_key=QUERY_HOSTILE)
    set_connection(monkeypatch, "tailer_default", tailer_connection(emulator, firebase_api_key=QUERY_HOSTILE))
    hook = TailerHook()
    storage = "table-to-storage"

    def job(name: str) -> dict[str, str]:
        return {
            "account": "000099",
            "environment": "DEV",
            "configuration_type": storage,
            "configuration_id": name,
        }

    status = Hit("dag_status")
    token = Hit("firebase_token", query={"key": QUERY_HOSTILE})
    hook.launch_job(job("decoy"), job_id=default_job_id(storage, "decoy"))
    watch = Watch("Tailer", emulator, side=(token,))

    async def trigger_side(ref: Mapping[str, Any], last: Mapping[str, Any], run_id: str) -> None:
        async with hook.async_client() as client:
            state = await watch.acall(status, hook.aget_run_status(ref, client))
            assert (state.raw_state, state.details["run_id"]) == ("RUNNING", run_id)
            state = await watch.acall(status, hook.aget_run_status(last, client))
            assert (state.raw_state, state.details["run_id"]) == ("RUNNING", run_id)

    for name in HOSTILE:
        job_id = default_job_id(storage, name)
        run_id = watch.call(Hit("dag_launch"), hook.launch_job, job(name), None, job_id)
        record = emulator.run(run_id)
        assert (record["configuration_id"], record["job_id"]) == (name, job_id)

        assert job_id is not None
        ref = hook.run_ref(job(name), job_id, run_id)
        state = watch.call(status, hook.get_run_status, ref)
        assert (state.raw_state, state.details["run_id"]) == ("RUNNING", run_id)
        last = hook.last_status_ref(job(name))
        assert watch.call(status, hook.get_run_status, last).details["run_id"] == run_id
        asyncio.run(trigger_side(ref, last, run_id))

    assert emulator.stats()["launches_by_configuration"] == dict.fromkeys((*HOSTILE, "decoy"), 1)
    assert any(token.matches(r) for r in emulator.paths()), "no token request carried the hostile key"
    watch.done(len(HOSTILE))


# -- FlowEngine: integer ids and the engine id in the path; engine key and id in the query ---------------


ENGINE_PATH = "/engine/15/ü ns?x#y%z"
"""A discovered engine path holding what must be encoded: the hook puts it in every path as sent."""


def test_flowengine_hostile_ids_engine_path_and_key(
    flowengine_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FlowEngine assigns integer pipeline and run ids, and takes names (data.name, pipelineKey) in JSON
    # bodies. Hostile strings go to names, to the hook's id parameters (which take any string), to the
    # engine key (query) and to the engine path the server gives at discovery.
    emulator = flowengine_emulator_factory(
        engine_key=QUERY_HOSTILE, engine_path=ENGINE_PATH, init_seconds=0.0, running_seconds=600.0
    )
    conn = flowengine_connection(emulator, engine_key=QUERY_HOSTILE)
    set_connection(monkeypatch, "flowengine_default", conn)
    hook = FlowEngineHook()
    prefix = {"engine_prefix": ENGINE_PATH.strip("/")}
    key = {"engineKey": QUERY_HOSTILE}
    engine_id = str(emulator.config.engine_id)
    discovery = (Hit("engine_info", query=key), Hit("engine_param", prefix, key))

    def run_hit(route: str, run_id: int | str) -> Hit:
        query = key if route == "get_run" else key | {"engineId": engine_id}
        return Hit(route, prefix | {"run_id": str(run_id)}, query)

    template = {k: v for k, v in emulator.pipeline(1).items() if k not in ("id", "cronEnabled")}

    def create(name: str) -> int:
        body = json.loads(json.dumps(template))
        body["pipelineKey"] = body["data"]["name"] = name
        return int(hook.create_pipeline(body)["id"])

    decoy_run = int((hook.start_pipeline(create("decoy")) or {})["id"])
    assert hook.engine().path == ENGINE_PATH
    watch = Watch("FlowEngine", emulator, side=discovery)

    async def trigger_side(run_id: int, ident: str) -> None:
        async with hook.async_client() as client:
            ref = hook.run_ref(0, run_id)
            status = await watch.acall(run_hit("get_run", run_id), hook.aget_run_status(ref, client))
            assert status.raw_state == "running"
            await watch.acall(run_hit("stop_run", run_id), hook.acancel_run(ref, client))
            error = await watch.afails(run_hit("get_run", ident), hook.arun(hook.get_run_plan(ident), client))
            assert "not an integer" in str(error)
            error = await watch.afails(
                run_hit("stop_run", ident), hook.arun(hook.stop_run_plan(ident), client)
            )
            assert "not an integer" in str(error)

    for name in HOSTILE:
        pipeline_id = watch.call(Hit("create_pipeline", prefix | {"engine_id": engine_id}, key), create, name)
        assert emulator.pipeline(pipeline_id)["pipelineKey"] == name
        start = Hit("start_pipeline", prefix | {"engine_id": engine_id, "pipeline_id": str(pipeline_id)}, key)
        first = watch.call(start, hook.start_pipeline, pipeline_id)
        second = watch.call(start, hook.start_pipeline, pipeline_id)
        assert first and second
        first_id, second_id = int(first["id"]), int(second["id"])

        ref = hook.run_ref(pipeline_id, first_id)
        assert watch.call(run_hit("get_run", first_id), hook.get_run_status, ref).raw_state == "running"
        watch.call(run_hit("stop_run", first_id), hook.cancel_run, ref)
        assert emulator.run(first_id)["status"] in ("stopping", "stopped")

        ident = name.replace("decoy", str(decoy_run))
        error = watch.fails(run_hit("get_run", ident), hook.get_run, ident)
        assert f"pipelineRunId {ident.strip()} " in str(error)
        watch.fails(run_hit("stop_run", ident), hook.stop_run, ident)
        query = key | {"engineId": engine_id, "page": "1", "size": "10"}
        watch.fails(Hit("history_list", prefix | {"pipeline_id": ident}, query), hook.run_history, ident)

        asyncio.run(trigger_side(second_id, ident))
        assert emulator.run(second_id)["status"] in ("stopping", "stopped")

    assert emulator.run(decoy_run)["status"] == "running", "the decoy run was touched"
    assert emulator.stats()["run_stops"] == 2 * len(HOSTILE)
    watch.done(len(HOSTILE))


# -- EnOS: pipeline ids in the path; org, user and flow instance ids in the query ------------------------


def test_enos_hostile_pipeline_ids_and_query_ids(
    enos_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # EnOS pipeline ids are what users pass, so every hostile name is a pipeline id; flow instance ids,
    # org and user ids travel in query strings (a cancel's instance id in the JSON body).
    org, user = QUERY_HOSTILE, "u/../" + QUERY_HOSTILE
    emulator = enos_emulator_factory(org_id=org, user_id=user, one_start_at_a_time=False, pipelines=[])
    set_connection(monkeypatch, "enos_default", enos_connection(emulator))
    hook = EnosHook()
    listing = Hit("list_pipelines", query={"pageSize": str(PAGE_SIZE), "pageNo": "1", "orgId": org})

    def operate(pipeline_id: str, action: str) -> Hit:
        return Hit("operate_pipeline", {"pipelineId": pipeline_id}, {"action": action, "orgId": org})

    def flow(action: str, instance_id: str | None = None) -> Hit:
        query = {"action": action, "userId": user, "orgId": org}
        return Hit("flow_instances", query=query | ({"flowInstId": instance_id} if instance_id else {}))

    decoys = ("decoy", "a", "x", "100")
    for name in decoys:
        emulator.add_pipeline(name, status="RUNNING")
    decoy_flow = hook.trigger_flow(7)
    watch = Watch("EnOS", emulator, side=(Hit("token_get"), Hit("token_refresh")))

    async def trigger_side(name: str) -> None:
        async with hook.async_client() as client:
            ref, flow_ref = hook.streaming_ref(name), hook.flow_ref(name)
            assert (await watch.acall(listing, hook.aget_run_status(ref, client))).raw_state == "RUNNING"
            lag = Hit("offset_lag", {"pipelineId": name}, {"orgId": org})
            assert await watch.acall(lag, hook.arun(hook.offset_lag_plan(name), client)) == {"lag": 0}
            await watch.acall(operate(name, "stop"), hook.acancel_run(ref, client))
            error = await watch.afails(flow("get", name), hook.aget_run_status(flow_ref, client))
            assert f"flow instance not found: {name}" in str(error)
            error = await watch.afails(flow("cancel"), hook.acancel_run(flow_ref, client), flow("get", name))
            assert f"flow instance not found: {name}" in str(error)

    for name in HOSTILE:
        emulator.add_pipeline(name, status="PUBLISHED")
        watch.call(operate(name, "start"), hook.start_pipeline, name)
        assert emulator.stats()["starts_by_pipeline"].get(name) == 1
        state = watch.call(listing, hook.get_run_status, hook.streaming_ref(name))
        assert state.details["pipelineName"] == name

        emulator.add_pipeline(name, status="RUNNING")  # not busy starting: stoppable at once
        watch.call(operate(name, "stop"), hook.cancel_run, hook.streaming_ref(name))
        error = watch.fails(flow("get", name), hook.get_flow_instance, name)
        assert f"flow instance not found: {name}" in str(error)
        watch.fails(flow("cancel"), hook.cancel_flow_instance, name)

        emulator.add_pipeline(name, status="RUNNING")
        asyncio.run(trigger_side(name))

    for name in decoys:
        assert emulator.pipeline(name)["status"] == "RUNNING", f"decoy {name} was touched"
    stats = emulator.stats()
    assert stats["starts_by_pipeline"] == dict.fromkeys(HOSTILE, 1)
    assert stats["stops"] == 2 * len(HOSTILE)
    assert stats["flow_cancels"] == 0
    assert emulator.flow_instance(decoy_flow)["flowInstId"] == decoy_flow
    watch.done(len(HOSTILE))


# -- the figures -----------------------------------------------------------------------------------------


PLATFORMS = ("CDAP", "Daggy", "Tailer", "FlowEngine", "EnOS")


@pytest.fixture(autouse=True, scope="module")
def _fresh_tally() -> Iterator[None]:
    TALLY.clear()
    yield


def test_record_figures() -> None:
    """Last in the module: the figures of the platform tests above, for the reliability table."""
    missing = [p for p in PLATFORMS if p not in TALLY]
    measured = [p for p in PLATFORMS if p in TALLY]
    per_name = "/".join(f"{TALLY[p]['calls'] / TALLY[p]['names']:g}" for p in measured)
    calls = sum(t["calls"] for t in TALLY.values())
    requests = sum(t["requests"] for t in TALLY.values())
    figures = (
        f"{len(HOSTILE)} hostile names x {per_name} calls (sync+async; {'/'.join(measured)}) on "
        f"{len(measured)} platforms = {calls} calls, {requests} requests: 0 requests reached another path"
    )
    verdict = f"FAIL: not measured on {', '.join(missing)}" if missing else "pass"
    report.record(8, "Path safety", figures, verdict)
    assert not missing, f"not measured on {missing}"
