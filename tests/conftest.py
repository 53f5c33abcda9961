"""
Test set-up shared by the suite: a private AIRFLOW_HOME with a migrated metadata database (migrated
once per virtualenv, then copied), a dags folder for DAGs written by tests, and Airflow quiet.

This runs before any test module imports Airflow, which reads its configuration once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# The emulators' fixtures: the plugin is opt-in (no pytest11 entry point), as for any user's project.
pytest_plugins = ["airflow_provider_pipelines.emulators.pytest_plugin"]

ROOT = Path(__file__).resolve().parent.parent
HOME = Path(tempfile.mkdtemp(prefix="pipelines-airflow-home-"))
DAGS = HOME / "dags"
DAGS.mkdir()

os.environ.update(
    {
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES_REGEXP": "airflow_provider_pipelines.*",
        # dag.test() has no executor, so no resume race to guard against (test_resume_guard.py).
        "AIRFLOW__PIPELINES__RESUME_GUARD_SECONDS": "0",
    }
)
os.environ.pop("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", None)


def _template_db() -> Path:
    """A freshly migrated database, made once per virtualenv (``airflow db migrate`` takes seconds)."""
    template_home = Path(sys.prefix) / "airflow-test-home"
    database = template_home / "airflow.db"
    if not database.exists():
        template_home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "AIRFLOW_HOME": str(template_home)}
        airflow = Path(sys.executable).parent / "airflow"
        subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
    return database


shutil.copy(_template_db(), HOME / "airflow.db")


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    shutil.rmtree(HOME, ignore_errors=True)
