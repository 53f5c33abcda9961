"""
DAGs of the reliability scenarios (``make reliability``): ``reliability_<platform>`` starts ``n`` runs
on one platform as one mapped task, sized and shaped by the DAG run's conf:

- ``n``: how many runs (mapped task instances);
- ``fail_every``: every k-th run is one the platform fails (0: none);
- ``deferrable``: ``"yes"``, ``"no"`` or ``"mixed"`` (even map indexes defer);
- ``timeout``: seconds each task waits for its run (``null``: no limit);
- ``no_retry``: every run goes to ``run_once``;
- ``tag``: makes names unique across DAG runs.

Runs that should succeed are task ``run`` (2 Airflow retries); runs the platform fails, and every run
when ``no_retry``, are task ``run_once`` (no retry), since a retry of a failed run starts a new one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow_provider_pipelines.operators.cdap import CdapStartPipelineOperator
from airflow_provider_pipelines.operators.daggy import DaggySubmitDagOperator
from airflow_provider_pipelines.operators.enos import EnosTriggerFlowOperator
from airflow_provider_pipelines.operators.flowengine import FlowEngineStartPipelineOperator
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


def should_fail(index: int, fail_every: int) -> bool:
    return bool(fail_every) and index % fail_every == fail_every - 1


def target(platform: str, index: int, fail: bool, tag: str) -> dict[str, Any]:
    """What run ``index`` starts: a pipeline, DAG, job or flow the emulator fails when ``fail``."""
    name = f"rel-{tag}-{index}" + ("-fail" if fail else "")
    if platform == "cdap":
        return {"pipeline_name": name}
    if platform == "daggy":
        command = ["run.sh", "--fail"] if fail else ["run.sh"]
        return {"dag_spec": {"tag": name, "tasks": {"work": {"job": {"command": command}}}}}
    if platform == "tailer":
        return {
            "account": "000099",
            "environment": "DEV",
            "configuration_type": "table-to-table",
            "configuration_id": f"000099_{name.replace('-', '_')}_DEV",
        }
    if platform == "flowengine":
        return {"pipeline_id": 2 if fail else 1}  # the emulator's "always_fail" and "daily_features"
    if platform == "enos":
        return {"flow_id": (300 if fail else 100) + index % 100}  # hundreds digit 3: the flow fails
    raise ValueError(platform)


def plan(platform: str, conf: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The keyword arguments of each mapped task instance of ``run`` and of ``run_once``."""
    n, fail_every = int(conf.get("n", 1)), int(conf.get("fail_every", 0))
    mode, tag = str(conf.get("deferrable", "yes")), str(conf.get("tag", "x"))
    lanes: dict[str, list[dict[str, Any]]] = {"run": [], "run_once": []}
    for index in range(n):
        fail = should_fail(index, fail_every)
        lane = "run_once" if fail or conf.get("no_retry") else "run"
        deferrable = mode == "yes" or (mode == "mixed" and len(lanes[lane]) % 2 == 0)
        lanes[lane].append(
            {**target(platform, index, fail, tag), "deferrable": deferrable, "timeout": conf.get("timeout")}
        )
    return lanes


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
        for task_id, retries in (("run", 2), ("run_once", 0)):

            @task(task_id=f"plan_{task_id}")
            def lane(lane_name: str = task_id, **context: Any) -> list[dict[str, Any]]:
                return plan(platform, dict(context["dag_run"].conf or {}))[lane_name]

            OPERATORS[platform].partial(
                task_id=task_id,
                retries=retries,
                retry_delay=timedelta(seconds=2),
                poll_interval=1,
                not_found_grace=30,
            ).expand_kwargs(lane())
    return dag


reliability_cdap = reliability_dag("cdap")
reliability_daggy = reliability_dag("daggy")
reliability_tailer = reliability_dag("tailer")
reliability_flowengine = reliability_dag("flowengine")
reliability_enos = reliability_dag("enos")
