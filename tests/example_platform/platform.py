"""The example platform's declaration, and its registration line: in a registry of its own, because the
provider must not ship it (a real platform's line goes in ``PLATFORMS`` in ``platforms.py``)."""

from __future__ import annotations

from airflow_provider_pipelines.core.connection_form import ConnectionForm
from airflow_provider_pipelines.platforms import PLATFORMS, TLS_AND_TIMEOUTS, Platform, registry

EXAMPLE = Platform(
    name="example",
    display_name="Example platform",
    form=ConnectionForm(
        fields=TLS_AND_TIMEOUTS,
        hidden=("schema", "login", "port"),
        relabeling={"host": "API URL", "password": "API token"},
        placeholders={"host": "https://example.invalid"},
    ),
    hook="tests.example_platform.hook.ExampleHook",
    triggers=("tests.example_platform.trigger.ExampleRunTrigger",),
    operators=("tests.example_platform.operator",),
    sensors=("tests.example_platform.sensor",),
    links=("tests.example_platform.link.ExampleJobLink",),
    emulator="example",
)

REGISTRY = registry(*PLATFORMS, EXAMPLE)
