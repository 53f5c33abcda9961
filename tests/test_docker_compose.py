"""Static checks of docker-compose.yaml and the Dockerfile (no Docker daemon needed)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

AIRFLOW_COMMANDS = {
    "airflow-init": ["db", "migrate"],
    "airflow-apiserver": ["api-server"],
    "airflow-scheduler": ["scheduler"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer"],
    "airflow-worker": ["celery", "worker"],
}
REQUIRED_SERVICES = {"postgres", "redis", "emulators", *AIRFLOW_COMMANDS}
# Services that run more than once (a distributed deployment), and how many.
REPLICAS = {"airflow-worker": 2, "airflow-triggerer": 2}
# Only the Celery workers add to the common environment (the official file's warm-shutdown setting).
SERVICE_ENV = {"airflow-worker": {"DUMB_INIT_SETSID": "0"}}
VALID_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
ALLOWED_TOP_LEVEL = {"services", "volumes"}


@pytest.fixture(scope="module")
def raw_text() -> str:
    return COMPOSE_FILE.read_text()


@pytest.fixture(scope="module")
def compose(raw_text: str) -> dict[str, Any]:
    data = yaml.safe_load(raw_text)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def common(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["x-airflow-common"]


def _command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command")
    if isinstance(cmd, str):
        return shlex.split(cmd)
    assert isinstance(cmd, list), f"unexpected command {cmd!r}"
    return [str(part) for part in cmd]


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):  # short syntax means service_started
        return {name: {"condition": "service_started"} for name in deps}
    return deps


def _volume_targets(service: dict[str, Any]) -> dict[str, str]:
    """Map container path -> source for short-syntax volume entries."""
    targets = {}
    for entry in service.get("volumes", []):
        source, target = entry.split(":")[:2]
        targets[target] = source
    return targets


# --- compose file as a whole -------------------------------------------------


def test_top_level_keys_are_valid(compose: dict[str, Any]) -> None:
    assert "version" not in compose, "top-level `version` is obsolete in the Compose spec"
    for key in compose:
        assert key in ALLOWED_TOP_LEVEL or key.startswith("x-"), f"unexpected top-level key {key!r}"


def test_required_services_exist(services: dict[str, Any]) -> None:
    missing = REQUIRED_SERVICES - set(services)
    assert not missing, f"missing services: {sorted(missing)}"


def test_services_are_well_formed(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", name), name
        assert "image" in svc or "build" in svc, f"{name} has neither image nor build"
        env = svc.get("environment", {})
        assert isinstance(env, dict), f"{name}: environment should be a mapping"
        for key, value in env.items():
            assert isinstance(value, str), f"{name}: {key} should be a string, got {value!r}"
        for port in svc.get("ports", []):
            assert isinstance(port, str), f"{name}: quote port mappings ({port!r})"
        if "healthcheck" in svc:
            test = svc["healthcheck"]["test"]
            assert isinstance(test, list)
            assert test[0] in {"CMD", "CMD-SHELL", "NONE"}, f"{name}: bad healthcheck {test!r}"


def test_named_volumes_are_declared(compose: dict[str, Any], services: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, svc in services.items():
        for source in _volume_targets(svc).values():
            if not source.startswith((".", "/", "~", "$")):
                assert source in declared, f"{name} uses undeclared volume {source!r}"


def test_depends_on_refer_to_existing_services(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        for dep, spec in _depends_on(svc).items():
            assert dep in services, f"{name} depends on unknown service {dep!r}"
            assert dep != name, f"{name} depends on itself"
            condition = spec.get("condition", "service_started")
            assert condition in VALID_CONDITIONS, f"{name} -> {dep}: bad condition {condition!r}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} healthy but it has none"


def test_no_dependency_cycles(services: dict[str, dict[str, Any]]) -> None:
    state: dict[str, str] = {}

    def visit(node: str) -> None:
        assert state.get(node) != "visiting", f"dependency cycle through {node}"
        if state.get(node) == "done":
            return
        state[node] = "visiting"
        for dep in _depends_on(services[node]):
            visit(dep)
        state[node] = "done"

    for name in services:
        visit(name)


# --- individual services ------------------------------------------------------


def test_airflow_services_share_the_common_anchor(
    services: dict[str, dict[str, Any]], common: dict[str, Any], raw_text: str
) -> None:
    assert common["build"]["context"] == "."
    assert common["build"]["dockerfile"] == "Dockerfile"
    for name in AIRFLOW_COMMANDS:
        svc = services[name]
        assert svc["build"] == common["build"], name
        assert svc["image"] == common["image"], name
        assert svc["environment"] == {**common["environment"], **SERVICE_ENV.get(name, {})}, name
        assert re.search(rf"^  {re.escape(name)}:\n    <<: \*airflow-common\n", raw_text, re.M), name


def test_airflow_service_commands(services: dict[str, dict[str, Any]]) -> None:
    for name, expected in AIRFLOW_COMMANDS.items():
        cmd = _command(services[name])
        if services[name].get("entrypoint") == "/bin/bash":  # airflow-init: a script that starts so
            assert cmd[0] == "-c", f"{name}: {cmd!r}"
            cmd = shlex.split(cmd[1].split("&&")[0])
        if cmd[:1] == ["airflow"]:  # the image entrypoint accepts both forms
            cmd = cmd[1:]
        assert cmd == expected, f"{name}: {cmd!r}"


def test_airflow_environment(common: dict[str, Any]) -> None:
    env = common["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    db_url = urlparse(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert db_url.scheme.startswith("postgresql")
    assert db_url.hostname == "postgres"
    broker = urlparse(env["AIRFLOW__CELERY__BROKER_URL"])
    assert (broker.scheme, broker.hostname, broker.port) == ("redis", "redis", 6379)
    # Celery's database result backend: SQLAlchemy URL behind a "db+" prefix, the metadata DB.
    backend = env["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert backend.startswith("db+postgresql://")
    assert urlparse(backend.removeprefix("db+")).hostname == "postgres"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "true"
    assert env["AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE"] == "true"
    assert env["AIRFLOW__CORE__TEST_CONNECTION"] == "Enabled"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"]


# Every emulator the package registers, with the port the stack serves it on.
EMULATOR_PORTS = {
    "cdap": 11015,
    "daggy": 2503,
    "tailer": 8087,
    "flowengine": 8088,
    "enos": 8089,
    "datafusion": 8086,
}


def test_every_registered_emulator_is_in_the_stack() -> None:
    from airflow_provider_pipelines.emulators.__main__ import EMULATORS

    assert set(EMULATORS) == set(EMULATOR_PORTS)


@pytest.mark.parametrize(("platform", "port"), sorted(EMULATOR_PORTS.items()))
def test_connections_point_at_emulators(
    common: dict[str, Any], services: dict[str, Any], platform: str, port: int
) -> None:
    if platform == "datafusion":  # Google's API URLs; google_cloud_default is minted by airflow-init
        env = common["environment"]
        for key in ("AIRFLOW__PIPELINES__DATAFUSION_API_URL", "AIRFLOW__PIPELINES__GOOGLE_IAM_URL"):
            assert env[key] == f"http://emulators:{port}"
        init = " ".join(_command(services["airflow-init"]))
        assert "connections add google_cloud_default" in init and f"http://emulators:{port}" in init
        assert _depends_on(services["airflow-init"])["emulators"]["condition"] == "service_healthy"
        return
    conn = json.loads(common["environment"][f"AIRFLOW_CONN_{platform.upper()}_DEFAULT"])
    assert conn["conn_type"] == platform
    host = urlparse(conn["host"])
    assert host.scheme == "http"
    assert host.hostname == "emulators"
    assert host.hostname in services
    assert host.port == port
    assert isinstance(conn.get("extra", {}), dict)


def test_example_dags_mounted(services: dict[str, dict[str, Any]]) -> None:
    assert (ROOT / "example_dags").is_dir()
    for name in AIRFLOW_COMMANDS:
        targets = _volume_targets(services[name])
        assert targets.get("/opt/airflow/dags") == "./example_dags", name


def test_init_gates_the_other_airflow_services(services: dict[str, dict[str, Any]]) -> None:
    init_deps = _depends_on(services["airflow-init"])
    assert init_deps["postgres"]["condition"] == "service_healthy"
    for name in set(AIRFLOW_COMMANDS) - {"airflow-init"}:
        deps = _depends_on(services[name])
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name
        assert deps["airflow-init"]["condition"] == "service_completed_successfully", name


def test_two_celery_workers_and_two_triggerers(services: dict[str, dict[str, Any]]) -> None:
    for name, count in REPLICAS.items():
        assert services[name].get("deploy", {}).get("replicas") == count, name
        # Replicas cannot share a fixed container name or a published host port.
        assert "container_name" not in services[name], name
        assert "ports" not in services[name], name
    for name in set(services) - set(REPLICAS):
        assert services[name].get("deploy", {}).get("replicas", 1) == 1, name


def test_redis_broker(services: dict[str, dict[str, Any]]) -> None:
    redis = services["redis"]
    assert re.fullmatch(r"redis:7[.\d]*(-[a-z]+)?", redis["image"]), redis["image"]
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "6379" in [str(port) for port in redis.get("expose", [])]
    assert "ports" not in redis, "the broker needs no host port"


def test_worker_healthcheck_pings_its_own_celery_node(services: dict[str, dict[str, Any]]) -> None:
    test = services["airflow-worker"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert "inspect ping" in test[1]
    # $$: compose passes a literal $ to the container's shell, which knows the replica's own hostname.
    assert '-d "celery@$${HOSTNAME}"' in test[1]


def test_emulators_service(services: dict[str, dict[str, Any]], common: dict[str, Any]) -> None:
    emu = services["emulators"]
    assert emu["build"] == common["build"]
    assert emu["image"] == common["image"]
    cmd = _command(emu)
    assert cmd[:3] == ["python", "-m", "airflow_provider_pipelines.emulators"]
    assert "all" in cmd
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    for platform, port in EMULATOR_PORTS.items():
        assert cmd[cmd.index(f"--{platform}-port") + 1] == str(port)
        assert any(str(p).split(":")[-1] == str(port) for p in emu.get("ports", []) + emu.get("expose", []))
    for name in ("airflow-scheduler", "airflow-triggerer", "airflow-worker"):
        assert _depends_on(services[name])["emulators"]["condition"] == "service_healthy", name


def test_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    pg = " ".join(services["postgres"]["healthcheck"]["test"])
    assert "pg_isready" in pg
    assert services["postgres"]["image"] == "postgres:16"
    api = services["airflow-apiserver"]
    assert "http://localhost:8080/api/v2/version" in api["healthcheck"]["test"]
    assert "8080:8080" in api["ports"]
    emu = services["emulators"]["healthcheck"]["test"]
    assert "curl" in emu and "http://localhost:11015/ping" in emu


# --- Dockerfile ---------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def test_dockerfile_base_image() -> None:
    instructions = _dockerfile_instructions()
    assert instructions[0][0] == "FROM"
    assert re.fullmatch(r"apache/airflow:3\.3\.\d+(-python3\.\d+)?", instructions[0][1])


def test_dockerfile_installs_checkout_as_airflow_user() -> None:
    instructions = _dockerfile_instructions()
    copies = [rest for op, rest in instructions if op == "COPY"]
    assert any(re.search(r"(^|\s)\.\s+/opt/airflow-provider-pipelines/?$", c) for c in copies)
    runs = [i for i, (op, rest) in enumerate(instructions) if op == "RUN" and "pip install" in rest]
    assert runs, "no pip install"
    pip_index = runs[-1]
    pip_cmd = instructions[pip_index][1]
    assert "--no-cache-dir" in pip_cmd
    assert '"/opt/airflow-provider-pipelines[google]"' in pip_cmd
    users = [rest for op, rest in instructions[:pip_index] if op == "USER"]
    assert users and users[-1] == "airflow"


def test_dockerignore_keeps_context_small() -> None:
    patterns = set(DOCKERIGNORE.read_text().split())
    assert {".git", ".venv*"} <= patterns
    # The package sources and build metadata must stay in the context.
    for needed in ("airflow_provider_pipelines", "pyproject.toml", "README.md", "*.md"):
        assert needed not in patterns
