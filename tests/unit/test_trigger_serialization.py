"""
Every trigger of the provider survives the trip through the triggerer: ``serialize()``, the kwargs stored
as Airflow stores them, the class imported from its classpath, the trigger made again from the kwargs.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from typing import Any

import pytest

from airflow_provider_pipelines.core.compat import BaseTrigger
from airflow_provider_pipelines.core.trigger import PipelineRunTrigger
from airflow_provider_pipelines.get_provider_info import get_provider_info
from airflow_provider_pipelines.hooks.cdap import CdapHook
from airflow_provider_pipelines.hooks.enos import EnosHook
from airflow_provider_pipelines.hooks.flowengine import FlowEngineHook
from airflow_provider_pipelines.hooks.tailer import TailerHook, job_identity

try:  # Airflow 3: what the triggerer imports classpaths with
    from airflow.sdk.module_loading import import_string
except ImportError:  # Airflow 2
    from airflow.utils.module_loading import import_string  # type: ignore[no-redef]

SECRET = "s3cret-Password-42"
TOKEN = "tok-3f9a7c21e8"


def trigger_modules() -> list[str]:
    """Every module under ``triggers/`` (that each is declared to Airflow is checked below)."""
    import airflow_provider_pipelines.triggers as package

    return sorted(f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__))


def trigger_classes() -> list[type[BaseTrigger]]:
    """The run triggers (the Data Fusion operation trigger has its own round trip:
    tests/unit/test_datafusion_trigger_serialization.py)."""
    found = []
    for name in trigger_modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, PipelineRunTrigger) and cls.__module__ == module.__name__:
                found.append(cls)
    return sorted(found, key=lambda cls: cls.__qualname__)


TRIGGERS = trigger_classes()

# A run ref each trigger is deferred with, as the operators and sensors build them.
RUN_REFS: dict[str, dict[str, Any]] = {
    "CdapPipelineRunTrigger": CdapHook.run_ref("daily", "r-1", "ns", "streaming"),
    "DaggyRunTrigger": {"run_id": 7},
    "TailerJobRunTrigger": TailerHook.run_ref(
        job_identity("acme", "DEV", "table-to-table", "000099_sales"), "gbq-to-gbq|000099_sales_DEV", "r-1"
    ),
    "FlowEnginePipelineRunTrigger": FlowEngineHook.run_ref(7, 99),
    "EnosStreamingPipelineTrigger": EnosHook.streaming_ref("p-1", "RUNNING", 1700000060.0),
    "EnosFlowInstanceTrigger": EnosHook.flow_ref("2791-19700101000000"),
}


# Values for the parameters a trigger adds to PipelineRunTrigger's.
OWN_KWARGS: dict[str, dict[str, Any]] = {
    "CdapPipelineRunTrigger": {
        "instance": {
            "project_id": "acme",
            "location": "us-central1",
            "instance_name": "etl",
            "gcp_conn_id": "gcp",
            "impersonation_chain": ["a@acme.iam.gserviceaccount.com", "b@acme.iam.gserviceaccount.com"],
            "api_endpoint": "https://etl-acme-dot-usc1.datafusion.googleusercontent.com/api",
        }
    },
}


def run_ref(cls: type[BaseTrigger]) -> dict[str, Any]:
    return dict(RUN_REFS.get(cls.__qualname__, {"run_id": "r-1"}))


def every_kwarg(cls: type[BaseTrigger]) -> dict[str, Any]:
    """A value, other than its default, for every parameter of the trigger's constructor."""
    values = {
        "conn_id": "my_conn",
        "run_ref": run_ref(cls),
        "poll_interval": 2.5,
        "deadline": 1700003600.0,
        "not_found_until": 1700000120.0,
        "success_states": ["DONE", "OK"],
        "failure_states": ["BROKEN"],
        "cancel_on_kill": False,
        "fire_not_before": 1700000010.5,
        "max_unreachable": 600.0,
    }
    values.update(OWN_KWARGS.get(cls.__qualname__, {}))
    missing = set(constructor_parameters(cls)) - set(values)
    assert not missing, f"give test values for {cls.__qualname__}'s new parameters: {sorted(missing)}"
    return values


def constructor_parameters(cls: type[BaseTrigger]) -> list[str]:
    parameters = inspect.signature(cls.__init__).parameters.values()
    return [
        p.name for p in parameters if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def stored_and_loaded(trigger: BaseTrigger) -> tuple[str, dict[str, Any]]:
    """The classpath and kwargs as the triggerer gets them: through Airflow's Trigger row (its kwargs
    serialised, then read back), then, on Airflow 3, the triggerer's decoding of each kwarg."""
    from airflow.models.trigger import Trigger

    row = Trigger.from_object(trigger)
    kwargs = dict(row.kwargs)
    try:
        from airflow.serialization.decoders import smart_decode_trigger_kwargs
    except ImportError:  # Airflow 2
        pass
    else:
        kwargs = {key: smart_decode_trigger_kwargs(value) for key, value in kwargs.items()}
    return row.classpath, kwargs


def json_primitives(value: Any, where: str = "kwargs") -> list[str]:
    """Where ``value`` holds anything but JSON's own types (str keys only, no tuples, no NaN)."""
    if value is None or isinstance(value, bool | int | str):
        return []
    if isinstance(value, float):
        return [] if value == value and value not in (float("inf"), float("-inf")) else [where]
    if isinstance(value, list):
        return [bad for n, item in enumerate(value) for bad in json_primitives(item, f"{where}[{n}]")]
    if isinstance(value, dict):
        bad = [f"{where} key {key!r}" for key in value if not isinstance(key, str)]
        return bad + [b for key, item in value.items() for b in json_primitives(item, f"{where}.{key}")]
    return [f"{where}: {type(value).__name__}"]


def test_every_trigger_module_is_found_and_declared_to_airflow() -> None:
    names = {cls.__qualname__ for cls in TRIGGERS}
    assert set(RUN_REFS) <= names
    declared = {module for info in get_provider_info()["triggers"] for module in info["python-modules"]}
    assert set(trigger_modules()) == declared


@pytest.fixture(params=TRIGGERS, ids=lambda cls: cls.__qualname__)
def trigger_class(request: pytest.FixtureRequest) -> type[BaseTrigger]:
    return request.param


@pytest.mark.parametrize("given", ["defaults", "every kwarg"])
def test_serialize_round_trips_through_the_classpath(trigger_class: type[BaseTrigger], given: str) -> None:
    kwargs = (
        every_kwarg(trigger_class)
        if given == "every kwarg"
        else {"conn_id": "c", "run_ref": run_ref(trigger_class)}
    )
    trigger = trigger_class(**kwargs)
    classpath, serialized = trigger.serialize()
    assert import_string(classpath) is trigger_class
    again = import_string(classpath)(**serialized)
    assert again.serialize() == (classpath, serialized)


@pytest.mark.parametrize("given", ["defaults", "every kwarg"])
def test_serialize_round_trips_through_airflows_trigger_storage(
    trigger_class: type[BaseTrigger], given: str
) -> None:
    kwargs = (
        every_kwarg(trigger_class)
        if given == "every kwarg"
        else {"conn_id": "c", "run_ref": run_ref(trigger_class)}
    )
    trigger = trigger_class(**kwargs)
    classpath, loaded = stored_and_loaded(trigger)
    again = import_string(classpath)(**loaded)
    assert again.serialize() == trigger.serialize()


def test_every_constructor_kwarg_survives(trigger_class: type[BaseTrigger]) -> None:
    given = every_kwarg(trigger_class)
    _, serialized = trigger_class(**given).serialize()
    assert sorted(serialized) == sorted(constructor_parameters(trigger_class))
    assert serialized == given
    _, loaded = stored_and_loaded(trigger_class(**given))
    assert loaded == given


@pytest.mark.parametrize(
    ("name", "value"), [("max_unreachable", 90.0), ("fire_not_before", 1700000010.25), ("deadline", 1.0)]
)
def test_the_wait_limits_survive_alone(trigger_class: type[BaseTrigger], name: str, value: float) -> None:
    trigger = trigger_class(conn_id="c", run_ref=run_ref(trigger_class), **{name: value})
    classpath, serialized = trigger.serialize()
    assert serialized[name] == value
    assert import_string(classpath)(**serialized).serialize()[1][name] == value


def test_kwargs_are_json_primitives(trigger_class: type[BaseTrigger]) -> None:
    for kwargs in ({"conn_id": "c", "run_ref": run_ref(trigger_class)}, every_kwarg(trigger_class)):
        _, serialized = trigger_class(**kwargs).serialize()
        assert json_primitives(serialized) == []
        assert json.loads(json.dumps(serialized, allow_nan=False)) == serialized


def test_kwargs_are_accepted_by_the_task_sdks_serde(trigger_class: type[BaseTrigger]) -> None:
    serde = pytest.importorskip("airflow.sdk.serde", reason="Airflow 3 only")
    _, serialized = trigger_class(**every_kwarg(trigger_class)).serialize()
    assert serde.deserialize(serde.serialize(serialized)) == serialized


def test_a_poll_interval_given_as_an_integer_round_trips(trigger_class: type[BaseTrigger]) -> None:
    _, serialized = trigger_class(conn_id="c", run_ref=run_ref(trigger_class), poll_interval=5).serialize()
    assert serialized["poll_interval"] == 5.0 and isinstance(serialized["poll_interval"], float)


def test_the_default_success_states_are_kept_so_a_reload_does_not_change_them() -> None:
    from airflow_provider_pipelines.triggers.cdap import CdapPipelineRunTrigger

    streaming = CdapPipelineRunTrigger(conn_id="c", run_ref=CdapHook.run_ref("live", "r", "ns", "streaming"))
    batch = CdapPipelineRunTrigger(conn_id="c", run_ref=CdapHook.run_ref("daily", "r", "ns", "batch"))
    assert streaming.serialize()[1]["success_states"] == ["RUNNING"]
    assert batch.serialize()[1]["success_states"] is None
    for trigger in (streaming, batch):
        classpath, kwargs = trigger.serialize()
        assert import_string(classpath)(**kwargs).serialize() == (classpath, kwargs)


SECRET_NAMES = re.compile(r"password|passwd|secret|token|credential|api_?key|auth|cookie", re.IGNORECASE)


def test_kwargs_hold_no_secret(trigger_class: type[BaseTrigger], monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection is looked up by id in the triggerer: its password and extras never travel."""
    connection = {
        "conn_type": "http",
        "host": "https://platform.example",
        "login": "app-key",
        "password": SECRET,
        "extra": {"refresh_token": TOKEN, "headers": {"Cookie": TOKEN}, "org_id": "o-1", "engine_key": TOKEN},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SECRETIVE", json.dumps(connection))
    trigger = trigger_class(**{**every_kwarg(trigger_class), "conn_id": "secretive"})
    assert trigger.hook is not None  # a hook made, as a running trigger has, changes nothing
    _, serialized = trigger.serialize()
    text = json.dumps(serialized)
    assert SECRET not in text and TOKEN not in text
    assert not [name for name in serialized if SECRET_NAMES.search(name)]
    _, stored = stored_and_loaded(trigger)
    assert SECRET not in json.dumps(stored) and TOKEN not in json.dumps(stored)
