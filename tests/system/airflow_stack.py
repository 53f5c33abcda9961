"""
A real Airflow 3 deployment for the system tests, started and torn down by the test run.

PostgreSQL (Debian's server, temporary directory, loopback), then ``airflow db migrate``, then the
api-server, scheduler, dag-processor and triggerer(s) as separate processes, each in its own process
group so a test can ``kill -9`` one of them and start it again. The scheduler runs the tasks itself
(LocalExecutor) or queues them in Redis (Debian's ``redis-server`` on loopback) for Celery workers
(``airflow celery worker``), as a distributed deployment does. DAGs are triggered and read through
Airflow's REST API (the simple auth manager with every user an admin, on loopback).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from tests.system.ports import free_port
from tests.system.postgres import PostgresServer
from tests.system.redis import RedisServer

AIRFLOW = str(Path(sys.executable).parent / "airflow")
# The checkout under test: its provider is what every Airflow process imports, whichever checkout the
# environment's editable install points at.
CHECKOUT = Path(__file__).resolve().parents[2]
TERMINAL_RUN_STATES = {"success", "failed"}


@dataclass
class Component:
    """One Airflow process (``airflow <command>``), its log file and its own settings (log server port)."""

    name: str
    command: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class AirflowStack:
    """
    Airflow on PostgreSQL with every component a real process.

    :param dags_folder: the folder the dag-processor parses.
    :param env: extra environment for every component (connections ``AIRFLOW_CONN_*``, settings).
    :param parallelism: task processes: the LocalExecutor's, or all Celery workers' together.
    :param executor: ``LocalExecutor`` or ``CeleryExecutor`` (Redis broker, ``workers`` Celery workers).
    :param workers: Celery workers (``airflow celery worker``), with ``CeleryExecutor``.
    :param triggerers: triggerer processes; the first is named ``triggerer``, the others ``triggerer-<n>``.
    """

    def __init__(
        self,
        dags_folder: Path,
        env: Mapping[str, str] | None = None,
        parallelism: int = 8,
        executor: str = "LocalExecutor",
        workers: int = 2,
        triggerers: int = 1,
    ) -> None:
        if executor not in ("LocalExecutor", "CeleryExecutor"):
            raise ValueError(f"executor {executor!r}: LocalExecutor or CeleryExecutor")
        self.dags_folder = dags_folder
        self.home = Path(tempfile.mkdtemp(prefix="pipelines-system-airflow-"))
        self.postgres = PostgresServer()
        self.executor = executor
        self.redis = RedisServer() if executor == "CeleryExecutor" else None
        self.worker_count = workers if self.redis else 0
        self.triggerer_count = triggerers
        self.api_port = free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.components: dict[str, Component] = {}
        self.extra_env = dict(env or {})
        self.parallelism = parallelism
        self.session = requests.Session()
        self._secrets: dict[str, str] = {}

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def workers(self) -> list[str]:
        """The Celery workers' component names (none with LocalExecutor)."""
        return [f"worker-{n}" for n in range(1, self.worker_count + 1)]

    @property
    def triggerers(self) -> list[str]:
        return ["triggerer", *(f"triggerer-{n}" for n in range(2, self.triggerer_count + 1))]

    def celery_environment(self) -> dict[str, str]:
        if self.redis is None:
            return {}
        return {
            "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
            # Celery's database result backend is the metadata DB, as in Airflow's official compose file.
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.postgres.url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(max(2, self.parallelism // max(1, self.worker_count))),
        }

    def environment(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
        return {
            **keep,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(CHECKOUT), keep.get("PYTHONPATH")])),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": self.executor,
            **self.celery_environment(),
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "1000",
            "AIRFLOW__CORE__DEFAULT_POOL_TASK_SLOT_COUNT": "1000",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            # The connection form's "Test" button (off by default), for the browser test.
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api}/execution/",
            "AIRFLOW__CORE__FERNET_KEY": self._secret("fernet_key"),
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt_secret"),
            "AIRFLOW__API__SECRET_KEY": self._secret("api_secret"),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": self.api,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url,
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            **self.extra_env,
        }

    def _secret(self, name: str) -> str:
        if name not in self._secrets:
            if name == "fernet_key":
                from cryptography.fernet import Fernet

                self._secrets[name] = Fernet.generate_key().decode()
            else:
                self._secrets[name] = secrets.token_urlsafe(32)
        return self._secrets[name]

    # -- life cycle --------------------------------------------------------------------------------

    def start(self, timeout: float = 180.0) -> None:
        self.postgres.start()
        if self.redis is not None:
            self.redis.start()
        subprocess.run(
            [AIRFLOW, "db", "migrate"],
            env=self.environment(),
            check=True,
            stdout=(self.home / "db-migrate.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.add("api-server", ["api-server", "--port", str(self.api_port), "--host", "127.0.0.1"])
        # Every process that serves its logs gets its own free port: several workers or triggerers on
        # one machine (and other test runs on it) would otherwise all bind Airflow's default ports.
        self.add("scheduler", ["scheduler"], {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())})
        self.add("dag-processor", ["dag-processor"])
        for name in self.triggerers:
            self.add(name, ["triggerer"], {"AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port())})
        for name in self.workers:
            self.add(
                name,
                [
                    "celery",
                    "worker",
                    "--celery-hostname",
                    f"{name}@%h",
                    "--pid",
                    str(self.home / f"{name}.pid"),
                ],
                {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())},
            )
        self.wait_healthy(timeout)

    def add(self, name: str, command: list[str], env: Mapping[str, str] | None = None) -> Component:
        component = Component(name, command, self.home / f"{name}.log", env=dict(env or {}))
        self.components[name] = component
        self.launch(component)
        return component

    def launch(self, component: Component) -> None:
        with component.log.open("ab") as log:
            component.process = subprocess.Popen(
                [AIRFLOW, *component.command],
                env={**self.environment(), **component.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the component's whole process group (``kill -9`` by default) and reap it."""
        component = self.components[name]
        if component.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(component.process.pid, sig)
        try:
            component.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(component.process.pid, signal.SIGKILL)
            component.process.wait(timeout=30)

    def restart(self, name: str) -> None:
        self.launch(self.components[name])

    def stop(self) -> None:
        for name in reversed(list(self.components)):
            self.kill(name, signal.SIGTERM)
        if self.redis is not None:
            self.redis.stop()
        self.postgres.stop()

    def cleanup(self, keep_logs_in: Path | None = None) -> None:
        if keep_logs_in is not None:
            shutil.rmtree(keep_logs_in, ignore_errors=True)
            shutil.copytree(self.home, keep_logs_in, ignore=shutil.ignore_patterns("*.sock"))
        shutil.rmtree(self.home, ignore_errors=True)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            self.assert_alive()
            try:
                reply = self.session.get(f"{self.api}/api/v2/monitor/health", timeout=5)
                last = reply.json() if reply.ok else reply.text
                if (
                    reply.ok
                    and all(
                        (last.get(part) or {}).get("status") == "healthy"
                        for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
                    )
                    and self.running_triggerers() >= self.triggerer_count
                    and all(self.worker_ready(name) for name in self.workers)
                ):
                    return
            except requests.RequestException as exc:
                last = exc
            time.sleep(1)
        raise RuntimeError(f"Airflow did not become healthy in {timeout}s: {last}")

    def running_triggerers(self) -> int:
        """Triggerer jobs that heartbeat (the health endpoint reports only the latest one)."""
        rows = self.query(
            "SELECT count(*) FROM job WHERE job_type = 'TriggererJob' AND state = 'running' "
            "AND latest_heartbeat > now() - interval '20 seconds'"
        )
        return int(rows[0][0])

    def worker_ready(self, name: str) -> bool:
        """Celery prints ``<hostname> ready.`` once the worker consumes from the broker."""
        log = self.components[name].log
        return (
            log.exists()
            and re.search(rf"{re.escape(name)}@\S+ ready\.", log.read_text(errors="replace")) is not None
        )

    def assert_alive(self, *names: str) -> None:
        for component in self.components.values():
            if (not names or component.name in names) and not component.alive:
                tail = component.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"airflow {component.name} exited:\n{tail}")

    def explain_task(self, dag_id: str, run_id: str, task_id: str, lines: int = 12) -> str:
        """Why a task ended as it did, for a failure message: its log tails and the scheduler's verdict."""
        parts = []
        task_dir = self.logs / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        for path in sorted(task_dir.glob("attempt=*.log*")):
            events = [_log_event(line) for line in path.read_text(errors="replace").splitlines()]
            parts.append(f"--- {path.name}\n" + "\n".join(events[-lines:]))
        scheduler = self.components.get("scheduler")
        if scheduler is not None and scheduler.log.exists():
            names = (f"{dag_id}.{task_id} ", f"dag_id={dag_id}, task_id={task_id},")
            verdicts = [
                line[:400]
                for line in scheduler.log.read_text(errors="replace").splitlines()
                if any(name in line for name in names) and ("reported that" in line or "Marking task" in line)
            ]
            parts += ["--- scheduler", *verdicts[-lines:]]
        return f"{dag_id}.{task_id}:\n" + "\n".join(parts)

    # -- REST API ----------------------------------------------------------------------------------

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        reply = self.session.request(method, f"{self.api}/api/v2{path}", timeout=30, **kwargs)
        if not reply.ok:
            raise RuntimeError(f"{method} {path}: HTTP {reply.status_code}: {reply.text[:500]}")
        return reply.json() if reply.content else None

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        missing = list(dag_ids)
        while time.monotonic() < deadline:
            self.assert_alive()
            missing = [dag_id for dag_id in missing if not self._dag_known(dag_id)]
            if not missing:
                return
            time.sleep(1)
        errors = self.call("GET", "/importErrors")
        raise RuntimeError(f"DAGs not parsed in {timeout}s: {missing}; import errors: {errors}")

    def _dag_known(self, dag_id: str) -> bool:
        reply = self.session.get(f"{self.api}/api/v2/dags/{dag_id}", timeout=30)
        return reply.ok

    def trigger(
        self,
        dag_id: str,
        conf: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        logical_date: bool = True,
    ) -> str:
        """A run with a logical date, as a scheduled run has, or (``logical_date=False``) without one,
        as ``airflow dags trigger`` and the REST API's ``"logical_date": null`` make."""
        when = datetime.now(UTC).isoformat() if logical_date else None
        body: dict[str, Any] = {"logical_date": when, "conf": dict(conf or {})}
        if run_id:
            body["dag_run_id"] = run_id
        return str(self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"])

    def dag_run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_alive()
            state = self.dag_run_state(dag_id, run_id)
            if state in TERMINAL_RUN_STATES:
                return state
            time.sleep(1)
        raise TimeoutError(f"{dag_id}/{run_id} did not end in {timeout}s: {self.task_states(dag_id, run_id)}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = self.call(
                "GET",
                f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                params={"limit": 100, "offset": len(items)},
            )
            items += page["task_instances"]
            if len(items) >= page["total_entries"] or not page["task_instances"]:
                return items

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {ti_key(ti): ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def wait_for_task_states(
        self,
        dag_id: str,
        run_id: str,
        states: set[str],
        count: int,
        timeout: float = 300.0,
        task_ids: tuple[str, ...] | None = None,
    ) -> list[dict[str, Any]]:
        """Wait until at least ``count`` task instances (of ``task_ids``, or any) are in one of ``states``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_alive()
            matching = [
                ti
                for ti in self.task_instances(dag_id, run_id)
                if ti["state"] in states and (task_ids is None or ti["task_id"] in task_ids)
            ]
            if len(matching) >= count:
                return matching
            time.sleep(1)
        raise TimeoutError(f"fewer than {count} tasks {states}: {self.task_states(dag_id, run_id)}")

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str, map_index: int = -1) -> None:
        suffix = f"/{map_index}" if map_index >= 0 else ""
        self.call(
            "PATCH",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}{suffix}",
            json={"new_state": state},
        )

    # -- the metadata database, read directly ------------------------------------------------------

    @contextmanager
    def database(self) -> Iterator[Any]:
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1", port=self.postgres.port, user=self.postgres.user, dbname=self.postgres.database
        )
        try:
            yield connection
        finally:
            connection.close()

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.database() as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())


def ti_key(ti: Mapping[str, Any]) -> str:
    index = ti.get("map_index", -1)
    return ti["task_id"] if index is None or index < 0 else f"{ti['task_id']}[{index}]"


def _log_event(line: str) -> str:
    """One task log line (JSON in Airflow 3) as ``time level event``."""
    try:
        record = json.loads(line)
    except ValueError:
        return line[:400]
    if not isinstance(record, dict):
        return line[:400]
    text = f"{str(record.get('timestamp', ''))[11:23]} {record.get('level', '')} {record.get('event', '')}"
    return text[:400]
