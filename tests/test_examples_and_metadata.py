"""Example DAGs parse cleanly, and Airflow's own CLI lists what the provider declares."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_pipelines.get_provider_info import get_provider_info

ROOT = Path(__file__).resolve().parent.parent


def test_example_dags_import_without_errors() -> None:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    bag = DagBag(dag_folder=str(ROOT / "example_dags"))
    assert bag.import_errors == {}
    assert len(bag.dags["example_cdap"].tasks) == 6
    assert len(bag.dags["example_daggy"].tasks) == 4
    assert len(bag.dags["example_daggy_resume"].tasks) == 3
    assert len(bag.dags["example_tailer"].tasks) == 6
    assert len(bag.dags["example_tailer_dependency"].tasks) == 2
    assert len(bag.dags["example_flowengine"].tasks) == 6
    assert len(bag.dags["example_flowengine_resume"].tasks) == 3
    assert len(bag.dags["example_enos"].tasks) == 8


def airflow_cli(*args: str) -> str:
    airflow = Path(sys.executable).parent / "airflow"
    done = subprocess.run(
        [str(airflow), *args], capture_output=True, text=True, env=os.environ.copy(), timeout=120, check=True
    )
    return done.stdout


def test_airflow_lists_the_providers_hooks_links_and_triggers() -> None:
    hooks = airflow_cli("providers", "hooks", "--output", "plain")
    assert "airflow_provider_pipelines.hooks.cdap.CdapHook" in hooks
    assert "airflow_provider_pipelines.hooks.daggy.DaggyHook" in hooks
    assert "airflow_provider_pipelines.hooks.tailer.TailerHook" in hooks
    assert "airflow_provider_pipelines.hooks.flowengine.FlowEngineHook" in hooks
    assert "airflow_provider_pipelines.hooks.enos.EnosHook" in hooks
    links = airflow_cli("providers", "links", "--output", "plain")
    assert "airflow_provider_pipelines.links.cdap.CdapPipelineLink" in links
    triggers = airflow_cli("providers", "triggers", "--output", "plain")
    assert "airflow_provider_pipelines.triggers.cdap" in triggers
    assert "airflow_provider_pipelines.triggers.daggy" in triggers
    assert "airflow_provider_pipelines.triggers.tailer" in triggers
    assert "airflow_provider_pipelines.triggers.flowengine" in triggers
    assert "airflow_provider_pipelines.triggers.enos" in triggers


def test_provider_info_declares_connection_forms() -> None:
    info = get_provider_info()
    by_type = {c["connection-type"]: c for c in info["connection-types"]}
    assert set(by_type) == {"cdap", "daggy", "tailer", "flowengine", "enos"}
    cdap = by_type["cdap"]
    assert cdap["connection-type"] == "cdap"
    assert cdap["hook-class-name"] == "airflow_provider_pipelines.hooks.cdap.CdapHook"
    assert cdap["ui-field-behaviour"]["relabeling"]["host"].startswith("CDAP router URL")
    assert cdap["conn-fields"]["keyfile_dict"]["schema"]["format"] == "password"
    assert {"auth_type", "ui_url", "verify", "ca_bundle", "timeout"} <= set(cdap["conn-fields"])


def test_airflow_2_form_classmethods_match_the_provider_info() -> None:
    from airflow_provider_pipelines.hooks.cdap import CdapHook

    behaviour = CdapHook.get_ui_field_behaviour()
    assert "login" in behaviour["hidden_fields"]
    assert behaviour["relabeling"]["password"] == "Bearer token"
    widgets = CdapHook.get_connection_form_widgets()
    try:
        import flask_appbuilder  # noqa: F401
    except ImportError:  # Airflow 3 without FAB reads the provider info's conn-fields instead
        assert widgets == {}
    else:
        by_type = {c["connection-type"]: c for c in get_provider_info()["connection-types"]}
        assert set(widgets) == set(by_type["cdap"]["conn-fields"])
