"""Airflow 3's UI in headless Chromium: each platform's connection form, "Test Connection" on bad values,
and a finished CDAP task's extra link.

The expected labels come from the declarations in ``platforms.py`` (what the provider tells Airflow);
the test checks what the browser shows of them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from airflow_provider_pipelines.platforms import PLATFORMS, Platform
from tests.system.browser import AirflowUI, FormField
from tests.system.deployment import Deployment

pytestmark = [pytest.mark.live, pytest.mark.parametrize("deployment", ["local"], indirect=True)]

# Airflow's own labels of the standard fields a connection type may hide or relabel.
STANDARD_LABELS = {
    "host": "Host",
    "schema": "Schema",
    "login": "Login",
    "password": "Password",
    "port": "Port",
}
# An API's internal names: a label in the user's words never shows one (FlowEngine's docs call the
# host ``fl_url``; the extras' keys are the others).
INTERNAL_NAMES = ("fl_url", "orgId", "engineKey", "auth_type", "org_id", "engine_key", "ui_url")


@pytest.fixture(scope="module")
def ui(deployment: Deployment) -> Iterator[AirflowUI]:
    browser = AirflowUI(deployment.stack.api)
    try:
        yield browser
    finally:
        browser.close()


def expected_labels(platform: Platform) -> dict[str, bool]:
    """Label -> required, for every field the platform's form shows (besides id, type, description)."""
    form = platform.form
    shown = [name for name in STANDARD_LABELS if name not in form.hidden]
    labels = {form.relabeling.get(name, STANDARD_LABELS[name]): False for name in shown}
    return labels | {field.label: field.required for field in form.fields}


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
def test_connection_form_shows_its_own_fields(
    deployment: Deployment, ui: AirflowUI, platform: Platform
) -> None:
    ui.new_connection_form(f"ui_form_{platform.name}", platform.display_name)
    expected = expected_labels(platform)

    def all_there() -> dict[str, FormField] | None:
        fields = ui.form_fields()
        return fields if set(expected) <= set(fields) else None

    shown = ui.wait(all_there, f"the {platform.name} form's fields {sorted(expected)}")
    assert set(shown) - set(expected) == {"Connection ID", "Connection Type", "Description"}
    # Hidden standard fields are gone, and no other platform's own field shows.
    for name in platform.form.hidden:
        assert STANDARD_LABELS[name] not in shown, name
    others = {label for other in PLATFORMS if other is not platform for label in expected_labels(other)}
    assert not (others - set(expected)) & set(shown)
    # Required fields carry the mark, the others do not.
    assert {label: shown[label].required for label in expected} == expected
    assert not [label for label in shown if any(name in label for name in INTERNAL_NAMES)]
    for field in platform.form.fields:
        if field.choices:  # a select of the allowed values, not free text
            assert ui.options(field.label) == list(field.choices)


def test_user_words_where_they_were_missing(ui: AirflowUI) -> None:
    """The three forms issue #17 named: CDAP's auth type, EnOS's org id, FlowEngine's host."""
    ui.new_connection_form("ui_words_cdap", "CDAP / Cloud Data Fusion")
    assert ui.options("Authentication") == ["none", "bearer", "google"]
    ui.new_connection_form("ui_words_enos", "EnOS (Envision)")
    assert ui.form_fields()["Organization id"].required
    assert not ui.form_fields()["User id"].required
    ui.new_connection_form("ui_words_flowengine", "FlowEngine (4Paradigm)")
    fields = ui.form_fields()
    assert "FlowEngine URL" in fields and "fl_url" not in fields


def test_bad_values_end_in_a_clear_error_on_test(ui: AirflowUI) -> None:
    """Typed into the form, saved, then "Test Connection" in the list: the platform's own message.

    Each connection has a port: Airflow 3.3.2's UI tests a connection without one with ``port: 0``,
    which the API refuses (400: "differs from the stored connection"); apache/airflow#73298, fixed
    after 3.3.2. ``airflow connections test <id>`` has no such limit (docs/connections-ui.md).
    """
    ui.new_connection_form("ui_bad_daggy_port", "Daggy")
    ui.type_into("daggyd host", "http://127.0.0.1")
    ui.type_into("daggyd port", "1")  # nothing listens on port 1
    ui.type_into("Tries per call", "1")
    ui.save_form("ui_bad_daggy_port")
    answer = ui.test_connection("ui_bad_daggy_port")
    assert answer.startswith("Test Connection Failed"), answer
    assert "Daggy" in answer and "cannot connect to 127.0.0.1:1 (connection refused)" in answer, answer
    assert "Traceback" not in answer

    ui.new_connection_form("ui_bad_daggy_headers", "Daggy")
    ui.type_into("daggyd host", "http://127.0.0.1")
    ui.type_into("daggyd port", "2")
    ui.type_into("Extra headers (JSON)", "Cookie: session=abc")  # a header line, not a JSON object
    ui.save_form("ui_bad_daggy_headers")
    answer = ui.test_connection("ui_bad_daggy_headers")
    assert answer.startswith("Test Connection Failed"), answer
    assert "Daggy connection" in answer and "'headers' extra must be a JSON object" in answer, answer
    assert "session=abc" not in answer, "the error shows the secret header"
    assert "Traceback" not in answer


def test_finished_cdap_task_shows_its_pipeline_link(deployment: Deployment, ui: AirflowUI) -> None:
    stack = deployment.stack
    stack.wait_for_dags(["example_cdap"])
    finished = stack.call("GET", "/dags/example_cdap/dagRuns", params={"state": "success", "limit": 1})
    if finished["dag_runs"]:
        run_id = finished["dag_runs"][0]["dag_run_id"]
    else:  # this test ran alone: make the run it looks at
        run_id = stack.trigger("example_cdap")
        assert stack.wait_for_run("example_cdap", run_id, timeout=300) == "success"
    links = ui.extra_links("example_cdap", run_id, "daily_sales", ["CDAP pipeline"])
    href = links["CDAP pipeline"]
    assert href == f"{deployment.emulators.cdap.url}/pipelines/ns/default/view/daily-sales"
    page = requests.get(href, timeout=10)
    assert page.status_code == 200, f"{href}: HTTP {page.status_code}"
    assert "daily-sales" in page.text
