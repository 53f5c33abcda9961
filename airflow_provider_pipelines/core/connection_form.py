"""A platform's connection form, declared once: Airflow ≥ 3.2 reads it from the provider info,
Airflow 2 from the hook's classmethods."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FieldKind = Literal["string", "boolean", "integer", "number", "password"]


@dataclass(frozen=True)
class ConnField:
    """One extra field of a connection form, stored in the connection's ``extra`` under ``name``."""

    name: str
    label: str
    kind: FieldKind = "string"
    description: str = ""
    default: Any = None

    def schema(self) -> dict[str, Any]:
        json_type = {"password": "string"}.get(self.kind, self.kind)
        schema: dict[str, Any] = {"type": [json_type, "null"]}
        if self.default is not None:
            schema["default"] = self.default
        if self.kind == "password":
            schema["format"] = "password"
        return schema

    def widget(self) -> Any:
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, IntegerField, PasswordField, StringField

        label = lazy_gettext(self.label)
        if self.kind == "boolean":
            return BooleanField(label, description=self.description, default=self.default)
        if self.kind == "integer":
            return IntegerField(label, widget=BS3TextFieldWidget(), description=self.description)
        if self.kind == "password":
            return PasswordField(label, widget=BS3PasswordFieldWidget(), description=self.description)
        return StringField(label, widget=BS3TextFieldWidget(), description=self.description)


@dataclass(frozen=True)
class ConnectionForm:
    """Labels, placeholders, hidden standard fields and extra fields of a platform's connection."""

    fields: tuple[ConnField, ...] = ()
    hidden: tuple[str, ...] = ()
    relabeling: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)

    def ui_field_behaviour(self) -> dict[str, Any]:
        """Airflow 2's ``get_ui_field_behaviour`` shape."""
        return {
            "hidden_fields": list(self.hidden),
            "relabeling": dict(self.relabeling),
            "placeholders": dict(self.placeholders),
        }

    def provider_ui_field_behaviour(self) -> dict[str, Any]:
        """The provider info's ``ui-field-behaviour`` shape."""
        return {
            "hidden-fields": list(self.hidden),
            "relabeling": dict(self.relabeling),
            "placeholders": dict(self.placeholders),
        }

    def conn_fields(self) -> dict[str, Any]:
        return {
            f.name: {"label": f.label, "description": f.description, "schema": f.schema()}
            for f in self.fields
        }

    def widgets(self) -> dict[str, Any]:
        """wtforms fields for Airflow 2's form; empty where Flask-AppBuilder is absent (Airflow 3)."""
        try:
            import flask_appbuilder  # noqa: F401
        except ImportError:
            return {}
        return {f.name: f.widget() for f in self.fields}
