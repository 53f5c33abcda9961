"""The connection forms in the user's words: selects for choices, required fields marked, extras' keys kept.

Airflow >= 3.2 builds its form from the provider info's ``conn-fields`` (read here through Airflow's own
ProvidersManager); Airflow 2 from the hook's wtforms widgets (rendered here in a Flask app).
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pipelines.core.connection_form import ConnField
from airflow_provider_pipelines.platforms import PLATFORMS

# The extras' keys each connection type stores: released, so they never change.
EXTRA_KEYS = {
    "cdap": {"auth_type", "keyfile_dict", "key_path", "ui_url"},
    "daggy": {"headers"},
    "tailer": {"refresh_token", "firebase_api_key", "firebase_token_url"},
    "flowengine": {"engine_key", "user_id", "headers"},
    "enos": {"org_id", "user_id"},
}
COMMON_KEYS = {"verify", "ca_bundle", "connect_timeout", "timeout", "retry_attempts", "retry_max_wait"}
# An API's internal names a user never typed (FlowEngine's docs call its URL ``fl_url``).
INTERNAL_NAMES = {"fl_url", "orgId", "engineKey", "auth_type", "ui_url", "org_id"}


def test_extras_keys_are_unchanged() -> None:
    assert {p.connection.conn_type: {f.name for f in p.form.fields} for p in PLATFORMS} == {
        conn_type: keys | COMMON_KEYS for conn_type, keys in EXTRA_KEYS.items()
    }


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
def test_no_label_is_an_internal_name(platform: Any) -> None:
    form = platform.form
    labels = [f.label for f in form.fields] + list(form.relabeling.values())
    assert not [label for label in labels if any(name in label for name in INTERNAL_NAMES)], labels


def test_schema_of_a_choice_and_of_a_required_field() -> None:
    choice = ConnField("auth_type", "Authentication", choices=("none", "bearer"))
    assert choice.schema() == {"type": ["string", "null"], "enum": ["none", "bearer"]}
    required = ConnField("org_id", "Organization id", required=True)
    assert required.schema() == {"type": "string"}
    with pytest.raises(ValueError, match="choices need kind 'string'"):
        ConnField("n", "N", "integer", choices=("1",))
    with pytest.raises(ValueError, match="not one of"):
        ConnField("a", "A", choices=("x",), default="y")


def test_airflow_reads_the_select_and_the_required_fields() -> None:
    """What Airflow's API hands the UI (ProvidersManager's widgets): an enum, non-null types."""
    from airflow.providers_manager import ProvidersManager

    widgets = ProvidersManager().connection_form_widgets
    auth = widgets["extra__cdap__auth_type"]
    org = widgets["extra__enos__org_id"]
    engine = widgets["extra__flowengine__engine_key"]
    if not isinstance(auth.field, dict):  # Airflow 2: wtforms fields (Airflow 2 accepts no SelectField)
        assert auth.field.field_class.__name__ == "StringField"
        assert auth.field.kwargs["widget"].choices == (
            ("", ""),
            *((c, c) for c in ("none", "bearer", "google")),
        )
        assert str(org.field.args[0]) == "Organization id *"
        assert str(widgets["extra__enos__user_id"].field.args[0]) == "User id"
        behaviour = ProvidersManager().field_behaviours["flowengine"]
        assert behaviour["relabeling"]["host"] == "FlowEngine URL"
        return
    assert auth.field["schema"]["enum"] == ["none", "bearer", "google"]
    assert auth.field["schema"]["title"] == "Authentication"
    assert org.field["schema"]["type"] == "string"
    assert org.field["schema"]["title"] == "Organization id"
    assert engine.field["schema"]["type"] == "string"
    assert widgets["extra__enos__user_id"].field["schema"]["type"] == ["string", "null"]


def test_airflow_2_renders_a_select_and_stores_the_same_extra() -> None:
    """The wtforms fields in a form, as Airflow 2's connection page renders and reads them."""
    pytest.importorskip("flask_appbuilder")
    from flask import Flask
    from flask_babel import Babel
    from werkzeug.datastructures import MultiDict
    from wtforms import Form

    cdap = next(p for p in PLATFORMS if p.name == "cdap").form
    enos = next(p for p in PLATFORMS if p.name == "enos").form
    app = Flask(__name__)
    Babel(app)
    fields = {f"extra__cdap__{n}": w for n, w in cdap.widgets().items()}
    fields |= {f"extra__enos__{n}": w for n, w in enos.widgets().items()}
    form_class = type("ConnectionForm", (Form,), fields)
    with app.test_request_context():
        form = form_class(MultiDict({"extra__cdap__auth_type": "google", "extra__enos__org_id": "o1"}))
        html = str(form["extra__cdap__auth_type"])
        assert html.startswith("<select")
        assert '<option value="google" selected>google</option>' in html
        assert '<option value="bearer">bearer</option>' in html
        assert form.validate(), form.errors
        assert form.data["extra__cdap__auth_type"] == "google"
        assert str(form["extra__enos__org_id"].label.text) == "Organization id *"
        # Not set: the empty choice, which Airflow 2 does not store (no key, as before the select).
        empty = form_class(MultiDict({"extra__cdap__auth_type": ""}))
        assert empty.validate(), empty.errors
        assert empty.data["extra__cdap__auth_type"] == ""
