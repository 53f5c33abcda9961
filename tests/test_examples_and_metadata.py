"""Example DAGs parse cleanly, and Airflow's own CLI lists what the provider declares."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pipelines.connection_types import CONNECTION_TYPES
from airflow_provider_pipelines.get_provider_info import get_provider_info
from airflow_provider_pipelines.platforms import PLATFORMS, Platform, registry

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
    for link in get_provider_info()["extra-links"]:
        assert link in links
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


# -- the platforms' declarations (airflow_provider_pipelines/platforms.py) --------------------------


def declaration_problems(platform: Platform) -> list[str]:
    """Where a platform's declaration and its code disagree (empty: they agree). Imports the code."""
    from airflow_provider_pipelines.core.hook import PipelineHook
    from airflow_provider_pipelines.core.operator import PipelineRunOperator
    from airflow_provider_pipelines.core.sensor import PipelineRunSensor
    from airflow_provider_pipelines.core.trigger import PipelineRunTrigger
    from airflow_provider_pipelines.links.base import StoredUrlLink

    problems: list[str] = []
    hook = import_string(platform.hook)
    if not (isinstance(hook, type) and issubclass(hook, PipelineHook)):
        return [f"{platform.hook} is not a PipelineHook"]
    conn = platform.connection
    if (hook.conn_type, hook.hook_name, hook.connection_form) != (conn.conn_type, conn.hook_name, conn.form):
        problems.append(f"{platform.hook}: conn_type, hook_name or connection_form is not the declaration's")
    from airflow_provider_pipelines.core.compat import BaseOperator, BaseTrigger

    extra_hooks = tuple(import_string(path) for path in platform.extra_hooks)
    triggers = {import_string(path) for path in platform.triggers}
    for trigger in triggers:
        if issubclass(trigger, PipelineRunTrigger) and issubclass(trigger.hook_class, hook):
            continue
        if (
            extra_hooks
            and issubclass(trigger, BaseTrigger)
            and trigger.__module__.endswith(
                tuple(
                    f".triggers.{path.rpartition('.')[0].rpartition('.')[2]}" for path in platform.extra_hooks
                )
            )
        ):
            continue  # the trigger of an extra hook (Data Fusion's operations), named after its module
        problems.append(f"{trigger.__qualname__} is not a PipelineRunTrigger of {hook.__qualname__}")
    links = {import_string(path) for path in platform.links}
    for link in links:
        if not (issubclass(link, StoredUrlLink) and link.name and link.url_key):
            problems.append(f"{link.__qualname__} is not a StoredUrlLink with a name and a url_key")
    for module_name, base in [
        (platform.operators[0], PipelineRunOperator),
        *((name, BaseOperator) for name in platform.operators[1:]),
        *((name, PipelineRunSensor) for name in platform.sensors),
    ]:
        module = importlib.import_module(module_name)
        classes = [c for c in vars(module).values() if isinstance(c, type) and c.__module__ == module_name]
        if not any(issubclass(c, base) for c in classes):
            problems.append(f"{module_name} defines no {base.__name__}")
        for cls in classes:
            if (
                base is not BaseOperator
                and issubclass(cls, base)
                and not (issubclass(cls.hook_class, hook) and getattr(cls, "trigger_class", None) in triggers)
            ):
                problems.append(f"{cls.__qualname__} uses a hook or trigger its platform does not declare")
            for link in getattr(cls, "operator_extra_links", ()):
                if type(link) not in links:
                    problems.append(f"{cls.__qualname__} shows {type(link).__qualname__}, not declared")
    return problems


def import_string(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda platform: platform.name)
def test_each_declaration_matches_its_code_and_the_layout(platform: Platform) -> None:
    assert declaration_problems(platform) == []
    package, name = "airflow_provider_pipelines", platform.name
    # The platform's own modules come first; CDAP adds Cloud Data Fusion's instances (extra_hooks).
    assert platform.hook_modules[0] == f"{package}.hooks.{name}"
    assert platform.hook_modules[1:] == tuple(path.rpartition(".")[0] for path in platform.extra_hooks)
    assert platform.trigger_modules[0] == f"{package}.triggers.{name}"
    assert platform.operators[0] == f"{package}.operators.{name}"
    assert all(module.startswith(f"{package}.operators.{name}") for module in platform.operators)
    assert platform.sensors == (f"{package}.sensors.{name}",)
    assert {link.rpartition(".")[0] for link in platform.links} <= {f"{package}.links.{name}"}
    assert platform.connection.conn_type == name


def test_every_platform_module_and_link_class_is_registered() -> None:
    from airflow_provider_pipelines.links.base import StoredUrlLink

    package = ROOT / "airflow_provider_pipelines"
    declared_modules = {
        "hooks": {m for p in PLATFORMS for m in p.hook_modules},
        "operators": {m for p in PLATFORMS for m in p.operators},
        "sensors": {m for p in PLATFORMS for m in p.sensors},
        "triggers": {m for p in PLATFORMS for m in p.trigger_modules},
        "links": {path.rpartition(".")[0] for p in PLATFORMS for path in p.links},
    }
    for kind, declared_here in declared_modules.items():
        modules = {p.stem for p in (package / kind).glob("*.py")} - {"__init__", "base"}
        stems = {module.rpartition(".")[2] for module in declared_here}
        assert modules <= stems, f"{kind}/ has modules of no registered platform"
    declared = {link for platform in PLATFORMS for link in platform.links}
    for path in set((package / "links").glob("*.py")) - {package / "links" / "base.py"}:
        module = importlib.import_module(f"airflow_provider_pipelines.links.{path.stem}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, StoredUrlLink)
                and value.__module__ == module.__name__
            ):
                assert f"{module.__name__}.{value.__qualname__}" in declared
    assert get_provider_info()["extra-links"] == [link for p in PLATFORMS for link in p.links]
    assert [c.conn_type for c in CONNECTION_TYPES] == [p.name for p in PLATFORMS]


def test_every_declared_emulator_is_served_by_the_emulators_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "airflow_provider_pipelines.emulators", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    commands = re.search(r"\{([a-z0-9_,-]+)\}", done.stdout)
    assert commands is not None, done.stdout
    assert {p.emulator for p in PLATFORMS} <= set(commands.group(1).split(","))


def test_provider_info_is_valid_for_this_airflow() -> None:
    import airflow
    import jsonschema

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_a_platform_declared_twice_is_refused() -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="declared twice"):
        registry(*PLATFORMS, replace(PLATFORMS[0], name="other"))


# -- the project's URLs and the [pipelines] options (get_provider_info.py, pyproject.toml) -----------


def test_project_urls_are_full_and_the_same_in_pyproject_and_the_provider_info() -> None:
    import tomllib
    from urllib.parse import urlsplit

    from airflow_provider_pipelines.get_provider_info import PROJECT_URLS

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["urls"] == dict(PROJECT_URLS)
    assert set(PROJECT_URLS) == {"Documentation", "Source", "Changelog", "Issues"}
    for label, url in PROJECT_URLS.items():
        parts = urlsplit(url)
        assert parts.scheme == "https" and "." in parts.netloc and parts.path.strip("/"), (label, url)
    source = PROJECT_URLS["Source"]
    assert PROJECT_URLS["Changelog"] == f"{source}/blob/main/CHANGELOG.md"
    assert (ROOT / "CHANGELOG.md").is_file()
    assert PROJECT_URLS["Issues"] == f"{source}/issues"
    docs = PROJECT_URLS["Documentation"]
    assert docs.startswith("https://airflow-provider-pipelines.readthedocs.io/") and docs.endswith("/")

    info = get_provider_info()
    assert info["project-urls"] == dict(PROJECT_URLS)
    assert info["documentation-url"] == docs
    assert {i["integration-name"] for i in info["integrations"]} == {p.display_name for p in PLATFORMS}
    for integration in info["integrations"]:
        assert integration["external-doc-url"].startswith(docs)


CONF_GETTERS = {"get", "getint", "getfloat", "getboolean", "getjson", "getlist", "getenum", "has_option"}


def pipelines_options_read(package: Path) -> dict[str, list[str]]:
    """``conf.<getter>("pipelines", "<name>", ...)`` in the package's code: option -> where."""
    import ast

    found: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in CONF_GETTERS
                and isinstance(node.func.value, ast.Name | ast.Attribute)
                and (getattr(node.func.value, "id", None) or getattr(node.func.value, "attr", None)) == "conf"
                and node.args
            ):
                continue
            section = node.args[0]
            if not (isinstance(section, ast.Constant) and section.value == "pipelines"):
                # A section given by a name would hide its options from this scan.
                assert isinstance(section, ast.Constant), f"{path}:{node.lineno}: write the section literally"
                continue
            option = node.args[1] if len(node.args) > 1 else None
            assert isinstance(option, ast.Constant) and isinstance(option.value, str), (
                f"{path}:{node.lineno}: write the [pipelines] option's name literally"
            )
            found.setdefault(option.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_pipelines_option_read_is_declared_in_the_provider_info() -> None:
    from airflow_provider_pipelines.get_provider_info import CONFIG_OPTIONS

    read = pipelines_options_read(ROOT / "airflow_provider_pipelines")
    assert "resume_guard_seconds" in read  # the scan finds what it is meant to find
    declared = get_provider_info()["config"]["pipelines"]["options"]
    undeclared = {name: where for name, where in read.items() if name not in declared}
    assert undeclared == {}, "declare them in CONFIG_OPTIONS (get_provider_info.py)"
    assert set(declared) == set(read), "declared options nothing reads"
    assert [option.name for option in CONFIG_OPTIONS] == list(declared)
    for name, option in declared.items():
        assert option["description"] and option["version_added"], name
        assert option["type"] in {"string", "boolean", "integer", "float"}, name
        assert option["example"] is not None, name
        assert option["default"] is None or isinstance(option["default"], str), name
    # What the docs name is declared too: [pipelines] x or AIRFLOW__PIPELINES__X.
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = doc.read_text()
        named = set(re.findall(r"\[pipelines\] (\w+)", text))
        named |= {name.lower() for name in re.findall(r"AIRFLOW__PIPELINES__(\w+)", text)}
        assert named <= set(declared), f"{doc.relative_to(ROOT)} names undeclared options"


def test_airflow_reads_the_declared_pipelines_section() -> None:
    from airflow.providers_manager import ProvidersManager

    configs = dict(ProvidersManager().provider_configs)
    assert configs["airflow-provider-pipelines"] == get_provider_info()["config"]


def test_an_option_declared_twice_is_refused() -> None:
    from airflow_provider_pipelines.get_provider_info import CONFIG_OPTIONS, config_section

    with pytest.raises(ValueError, match="declared twice"):
        config_section([*CONFIG_OPTIONS, CONFIG_OPTIONS[0]])
