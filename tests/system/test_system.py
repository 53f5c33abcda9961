"""Every example DAG, triggered through the REST API of a real Airflow 3 deployment, ends in success:
with the LocalExecutor and one triggerer, and with Celery workers (Redis) and two triggerers."""

from __future__ import annotations

import ast
import re
from collections import Counter

import pytest

from tests.system.deployment import EXAMPLE_DAGS, Deployment

pytestmark = pytest.mark.live


def example_dag_ids() -> list[str]:
    """The dag_id of every DAG the example files declare (read from their source, not imported)."""
    dag_ids = []
    for path in sorted(EXAMPLE_DAGS.glob("example_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DAG":
                for keyword in node.keywords:
                    if keyword.arg == "dag_id" and isinstance(keyword.value, ast.Constant):
                        dag_ids.append(str(keyword.value.value))
    return dag_ids


@pytest.mark.parametrize("logical_date", [True, False], ids=["logical-date", "no-logical-date"])
def test_every_example_dag_succeeds_in_a_real_deployment(deployment: Deployment, logical_date: bool) -> None:
    """Triggered with a logical date, as a scheduled run is, and without one (``"logical_date": null``,
    ``airflow dags trigger``): the examples template the run's day either way."""
    stack = deployment.stack
    dag_ids = example_dag_ids()
    assert len(dag_ids) == 9
    stack.wait_for_dags(dag_ids)
    runs = {dag_id: stack.trigger(dag_id, logical_date=logical_date) for dag_id in dag_ids}
    results = {dag_id: stack.wait_for_run(dag_id, run_id, timeout=600) for dag_id, run_id in runs.items()}
    instances = {dag_id: stack.task_instances(dag_id, run_id) for dag_id, run_id in runs.items()}
    # Healthy emulators: every task succeeds on its first try (a retry would hide a bug or a race).
    not_clean = {
        (dag_id, ti["task_id"]): f"{ti['state']} (try {ti['try_number']})"
        for dag_id, tis in instances.items()
        for ti in tis
        if ti["state"] != "success" or ti["try_number"] != 1
    }
    explained = "\n\n".join(stack.explain_task(dag_id, runs[dag_id], task) for dag_id, task in not_clean)
    assert not not_clean, f"{not_clean}\n{explained}"
    assert all(instances.values())
    assert results == dict.fromkeys(dag_ids, "success")
    stack.assert_alive()


def test_deferred_tasks_ran_in_the_triggerer_process(deployment: Deployment) -> None:
    """Each platform's deferrable example tasks were resumed by events of the real triggerer."""
    fired = {
        path.relative_to(deployment.stack.logs).parts[0].removeprefix("dag_id=")
        for path in deployment.stack.logs.rglob("*.log.trigger.*.log")
        if "Trigger fired event" in path.read_text(errors="replace")
    }
    platforms = {
        "example_cdap",
        "example_datafusion",
        "example_daggy",
        "example_tailer",
        "example_flowengine",
        "example_enos",
    }
    assert platforms <= fired, fired
    deployment.stack.assert_alive("triggerer")


@pytest.mark.parametrize("deployment", ["celery"], indirect=True)
def test_celery_workers_and_triggerers_shared_the_work(deployment: Deployment) -> None:
    """The examples' tasks ran in both Celery workers, and their triggers in the two triggerers: any
    process may run any try, resumption or trigger, and every task still succeeded on its first try.
    Airflow hands unassigned triggers to whichever triggerer asks first (up to its capacity), so in a
    run this short one triggerer may take them all; reliability scenario 3 measures the sharing with
    200 triggers. Here both triggerers must be registered, alive and the only ones running triggers."""
    stack = deployment.stack
    assert stack.executor == "CeleryExecutor"
    received = {
        name: stack.components[name].log.read_text(errors="replace").count("Task execute_workload[")
        for name in stack.workers
    }
    assert len(received) == 2 and all(received.values()), received
    # A trigger's log is named after the triggerer job that ran it: attempt=1.log.trigger.<job id>.log
    by_job = Counter(
        match.group(1)
        for path in stack.logs.rglob("*.log.trigger.*.log")
        if (match := re.search(r"\.log\.trigger\.(\d+)\.log$", path.name))
    )
    triggerer_jobs = {
        str(job_id) for (job_id,) in stack.query("SELECT id FROM job WHERE job_type = 'TriggererJob'")
    }
    assert len(triggerer_jobs) == 2, triggerer_jobs
    assert by_job and set(by_job) <= triggerer_jobs, (by_job, triggerer_jobs)
    assert stack.running_triggerers() == 2
    stack.assert_alive(*stack.workers, *stack.triggerers)
