"""
DAGs of the reliability scenarios (``make reliability``): ``reliability_<platform>`` starts ``n`` runs
on one platform as one mapped task, sized and shaped by the DAG run's conf:

- ``n``: how many runs (mapped task instances);
- ``fail_every``: every k-th run is one the platform fails (0: none);
- ``deferrable``: ``"yes"``, ``"no"`` or ``"mixed"`` (even map indexes defer);
- ``timeout``: seconds each task waits for its run (``null``: no limit);
- ``no_retry``: every run goes to ``run_once``;
- ``tag``: makes names unique across DAG runs;
- ``first``: the number of the first run (default 0): run ``k`` of the DAG run is run ``first + k``,
  which names it and picks its EnOS flow, so that DAG runs of one scenario start different targets;
- ``long``: the runs last minutes (the emulators' "long" names, EnOS flows 9xx), e.g. for ``timeout``;
- ``stop_n``: after the ``n`` runs, task ``start_only`` starts this many long runs without waiting for
  them, and task ``stop`` then stops (kills, cancels) each of them, on every platform but Tailer, whose
  API cannot stop a run;
- ``not_found_grace``: the operators' ``not_found_grace`` (default 30 s);
- ``pipeline_ids``: the FlowEngine pipeline of each run number (``{"3": 7}``); by default pipeline 1,
  or 2 (which always fails) for a failing run.

Runs that should succeed are task ``run`` (2 Airflow retries); runs the platform fails, and every run
when ``no_retry``, are task ``run_once`` (no retry), since a retry of a failed run starts a new one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow_provider_pipelines.hooks.enos import EnosHook
from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator, CdapStopPipelineOperator
from airflow_provider_pipelines.operators.daggy import DaggyKillRunOperator, DaggySubmitDagOperator
from airflow_provider_pipelines.operators.enos import EnosTriggerFlowOperator
from airflow_provider_pipelines.operators.flowengine import (
    FlowEngineStartPipelineOperator,
    FlowEngineStopRunOperator,
)
from airflow_provider_pipelines.operators.tailer import TailerLaunchJobOperator

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef]
    from airflow.decorators import task  # type: ignore[no-redef]

OPERATORS: dict[str, Any] = {
    "cdap": CdapStartPipelineOperator,
    "daggy": DaggySubmitDagOperator,
    "tailer": TailerLaunchJobOperator,
    "flowengine": FlowEngineStartPipelineOperator,
    "enos": EnosTriggerFlowOperator,
}
# The operators that stop one run (EnOS has none for a flow instance: task ``stop`` uses its hook).
STOPPERS: dict[str, Any] = {
    "cdap": CdapStopPipelineOperator,
    "daggy": DaggyKillRunOperator,
    "flowengine": FlowEngineStopRunOperator,
}
STOPPABLE = ("cdap", "daggy", "flowengine", "enos")
LANES = ("run", "run_once", "start_only")
RETRIES = {"run": 2, "run_once": 0, "start_only": 2}


def should_fail(index: int, fail_every: int) -> bool:
    return bool(fail_every) and index % fail_every == fail_every - 1


def numbered(conf: dict[str, Any]) -> list[tuple[str, int, bool, bool]]:
    """``(lane, run number, fails, long)`` of every run the DAG run starts, in map index order by lane."""
    n, fail_every, first = int(conf.get("n", 1)), int(conf.get("fail_every", 0)), int(conf.get("first", 0))
    runs = []
    for index in range(n):
        fail = should_fail(index, fail_every)
        lane = "run_once" if fail or conf.get("no_retry") else "run"
        runs.append((lane, first + index, fail, bool(conf.get("long"))))
    runs += [("start_only", first + n + k, False, True) for k in range(int(conf.get("stop_n", 0)))]
    return runs


def run_name(tag: str, number: int, fail: bool, long: bool) -> str:
    return f"rel-{tag}-{number}" + ("-fail" if fail else "") + ("-long" if long else "")


def target(
    platform: str,
    number: int,
    fail: bool,
    tag: str,
    long: bool = False,
    pipeline_ids: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What run ``number`` starts: a pipeline, DAG, job or flow the emulator fails when ``fail`` and
    keeps running for minutes when ``long``."""
    name = run_name(tag, number, fail, long)
    if platform == "cdap":
        return {"pipeline_name": name}
    if platform == "daggy":
        command = ["run.sh", "--fail"] if fail else ["run.sh", "--long"] if long else ["run.sh"]
        return {"dag_spec": {"tag": name, "tasks": {"work": {"job": {"command": command}}}}}
    if platform == "tailer":
        return {
            "account": "000099",
            "environment": "DEV",
            "configuration_type": "table-to-table",
            "configuration_id": f"000099_{name.replace('-', '_')}_DEV",
        }
    if platform == "flowengine":
        # The emulator's "always_fail" (2) and "daily_features" (1), unless the conf names a pipeline.
        # Each task starts with its own parameters, as mapped tasks do: a lost start reply's look-up
        # tells its run from the runs other tasks start on the same pipeline by them.
        return {
            "pipeline_id": (pipeline_ids or {}).get(str(number), 2 if fail else 1),
            "node_params": {"start_node": {"task": name}},
        }
    if platform == "enos":
        # Hundreds digit 3: the flow fails; 9: it runs long, then succeeds.
        return {"flow_id": (300 if fail else 900 if long else 100) + number % 100}
    raise ValueError(platform)


def plan(platform: str, conf: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The keyword arguments of each mapped task instance of ``run``, ``run_once`` and ``start_only``."""
    mode, tag = str(conf.get("deferrable", "yes")), str(conf.get("tag", "x"))
    grace = float(conf.get("not_found_grace", 30))
    lanes: dict[str, list[dict[str, Any]]] = {lane: [] for lane in LANES}
    for lane, number, fail, long in numbered(conf):
        kwargs = {
            **target(platform, number, fail, tag, long, conf.get("pipeline_ids")),
            "not_found_grace": grace,
        }
        if lane != "start_only":
            deferrable = mode == "yes" or (mode == "mixed" and len(lanes[lane]) % 2 == 0)
            kwargs.update(deferrable=deferrable, timeout=conf.get("timeout"))
        lanes[lane].append(kwargs)
    return lanes


def stop_kwargs(platform: str, started: dict[str, Any], run_id: Any) -> dict[str, Any]:
    """What task ``stop`` needs to stop ``run_id``, which ``start_only`` started with ``started``."""
    if platform == "cdap":
        return {"pipeline_name": started["pipeline_name"], "run_id": str(run_id)}
    return {"run_id": run_id}


def lane_plan(platform: str, lane: str) -> Any:
    @task(task_id=f"plan_{lane}")
    def planned(**context: Any) -> list[dict[str, Any]]:
        return plan(platform, dict(context["dag_run"].conf or {}))[lane]

    return planned()


def stop_tasks(platform: str, started: Any) -> None:
    """Task ``stop``: stops each run ``start_only`` started (map index k stops the run of index k)."""

    @task(task_id="plan_stop")
    def plan_stop(run_ids: Any, **context: Any) -> list[dict[str, Any]]:
        targets = plan(platform, dict(context["dag_run"].conf or {}))["start_only"]
        return [stop_kwargs(platform, t, r) for t, r in zip(targets, list(run_ids), strict=True)]

    stops = plan_stop(started)
    if platform in STOPPERS:
        STOPPERS[platform].partial(task_id="stop", retries=2, retry_delay=timedelta(seconds=2)).expand_kwargs(
            stops
        )
        return

    @task(task_id="stop", retries=2, retry_delay=timedelta(seconds=2))
    def cancel_flow_instance(run_id: str) -> str:
        hook = EnosHook()
        already = hook.cancel_run(hook.flow_ref(run_id))
        print(f"EnOS flow instance {run_id}: " + (f"already {already}" if already else "cancelled"))
        return run_id

    cancel_flow_instance.expand_kwargs(stops)


def reliability_dag(platform: str) -> DAG:
    with DAG(
        dag_id=f"reliability_{platform}",
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        max_active_tasks=1000,
        max_active_runs=10,
        tags=["reliability", platform],
    ) as dag:
        for lane in ("run", "run_once"):
            OPERATORS[platform].partial(
                task_id=lane, retries=RETRIES[lane], retry_delay=timedelta(seconds=2), poll_interval=1
            ).expand_kwargs(lane_plan(platform, lane))
        if platform in STOPPABLE:
            started = (
                OPERATORS[platform]
                .partial(
                    task_id="start_only",
                    retries=RETRIES["start_only"],
                    retry_delay=timedelta(seconds=2),
                    wait_for_completion=False,
                )
                .expand_kwargs(lane_plan(platform, "start_only"))
            )
            stop_tasks(platform, started.output)
    return dag


reliability_cdap = reliability_dag("cdap")
reliability_daggy = reliability_dag("daggy")
reliability_tailer = reliability_dag("tailer")
reliability_flowengine = reliability_dag("flowengine")
reliability_enos = reliability_dag("enos")
