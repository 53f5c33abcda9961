"""Run a DAG for real with ``dag.test()``: the DAG is written to a file in the dags folder first,
because Airflow 3 runs only DAGs it parsed from there (and serialises triggers on the way)."""

from __future__ import annotations

import importlib.util
import json
import os
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEADER = """\
from datetime import datetime, timedelta

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

"""


@dataclass
class DagResult:
    dag_id: str
    run_id: str
    state: str
    states: dict[str, str]
    tries: dict[str, int]
    ended: dict[str, float | None]  # epoch seconds

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        return read_xcom(self.dag_id, self.run_id, task_id, key)


def run_dag(body: str, *, imports: str = "", dag_kwargs: str = "", dag_id: str | None = None) -> DagResult:
    """Write a DAG whose tasks are ``body`` (code inside ``with DAG(...) as dag:``), run it, report states."""
    dag_id = dag_id or f"t_{uuid.uuid4().hex[:10]}"
    source = (
        HEADER
        + textwrap.dedent(imports)
        + f"\nwith DAG(dag_id={dag_id!r}, schedule=None, start_date=datetime(2024, 1, 1), catchup=False"
        + (f", {dag_kwargs}" if dag_kwargs else "")
        + ") as dag:\n"
        + textwrap.indent(textwrap.dedent(body).strip() + "\n", "    ")
    )
    path = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / f"{dag_id}.py"
    path.write_text(source)
    try:
        spec = importlib.util.spec_from_file_location(f"testdag_{dag_id}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dag_run = module.dag.test()
        instances = dag_run.get_task_instances()
        states = {_key(ti): str(_value(ti.state)) for ti in instances}
        tries = {_key(ti): int(ti.try_number) for ti in instances}
        ended = {_key(ti): ti.end_date.timestamp() if ti.end_date else None for ti in instances}
        return DagResult(dag_id, dag_run.run_id, str(_value(dag_run.state)), states, tries, ended)
    finally:
        path.unlink(missing_ok=True)


def _key(ti: Any) -> str:
    """``task_id``, or ``task_id[i]`` for instance ``i`` of a mapped task."""
    index = getattr(ti, "map_index", -1)
    return ti.task_id if index is None or index < 0 else f"{ti.task_id}[{index}]"


def _value(state: Any) -> Any:
    return getattr(state, "value", state)


def read_xcom(dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
    """An XCom value straight from the metadata database (the same way on Airflow 2 and 3)."""
    from airflow.utils.session import create_session
    from sqlalchemy import text

    with create_session() as session:
        row = session.execute(
            text(
                "SELECT value FROM xcom WHERE dag_id=:d AND run_id=:r AND task_id=:t AND key=:k "
                "ORDER BY map_index LIMIT 1"
            ),
            {"d": dag_id, "r": run_id, "t": task_id, "k": key},
        ).first()
    if row is None:
        return None
    value = row[0]
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode()
    return json.loads(value) if isinstance(value, str) else value
