"""A platform's connection form, declared once: Airflow ≥ 3.2 reads it from the provider info,
Airflow 2 from the hook's classmethods."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FieldKind = Literal["string", "boolean", "integer", "number", "password"]


@dataclass(frozen=True)
class ConnField:
    """
    One extra field of a connection form, stored in the connection's ``extra`` under ``name``.

    :param name: the key in ``extra`` (never changes once released: existing connections use it).
    :param label: what the form shows, in the user's words.
    :param kind: the value's type; ``password`` is a masked string.
    :param description: the help text under the field.
    :param default: the value a new connection starts with.
    :param choices: the only values allowed: the form shows a select instead of free text (empty
        means "not set" unless the field is required).
    :param required: the form marks the field and (Airflow 3) will not save the connection without it.
    """

    name: str
    label: str
    kind: FieldKind = "string"
    description: str = ""
    default: Any = None
    choices: tuple[str, ...] = ()
    required: bool = False

    def __post_init__(self) -> None:
        if self.choices and self.kind != "string":
            raise ValueError(f"field {self.name!r}: choices need kind 'string', not {self.kind!r}")
        if self.default is not None and self.choices and self.default not in self.choices:
            raise ValueError(f"field {self.name!r}: default {self.default!r} is not one of {self.choices}")

    def schema(self) -> dict[str, Any]:
        """The JSON schema Airflow 3's form reads: a non-null type marks the field required, ``enum``
        makes it a select."""
        json_type = {"password": "string"}.get(self.kind, self.kind)
        schema: dict[str, Any] = {"type": json_type if self.required else [json_type, "null"]}
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.default is not None:
            schema["default"] = self.default
        if self.kind == "password":
            schema["format"] = "password"
        return schema

    def widget(self) -> Any:
        """Airflow 2's wtforms field. Airflow 2 accepts only string, password, integer and boolean field
        classes, so a choice is a string field drawn as a select. A required field is marked in its
        label only: Airflow 2 puts every type's extra fields in one form, so a validator would block
        saving connections of the other types."""
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, IntegerField, PasswordField, StringField

        label = lazy_gettext(f"{self.label} *" if self.required else self.label)
        if self.choices:
            select = SelectWidget(self.choices, allow_empty=not self.required)
            return StringField(label, widget=select, description=self.description, default=self.default)
        if self.kind == "boolean":
            return BooleanField(label, description=self.description, default=self.default)
        if self.kind == "integer":
            return IntegerField(label, widget=BS3TextFieldWidget(), description=self.description)
        if self.kind == "password":
            return PasswordField(label, widget=BS3PasswordFieldWidget(), description=self.description)
        return StringField(label, widget=BS3TextFieldWidget(), description=self.description)


class SelectWidget:
    """A ``<select>`` of fixed choices for a wtforms string field (Airflow 2's form). The empty option
    stores nothing: Airflow 2 leaves an extra whose value is ``""`` unset."""

    def __init__(self, choices: tuple[str, ...], allow_empty: bool = True) -> None:
        self.choices = ((("", ""),) if allow_empty else ()) + tuple((choice, choice) for choice in choices)

    def __call__(self, field: Any, **kwargs: Any) -> Any:
        from markupsafe import Markup, escape
        from wtforms.widgets import html_params

        kwargs.setdefault("id", field.id)
        kwargs["class"] = f"form-control {kwargs.get('class', '')}".strip()
        current = "" if field.data is None else str(field.data)
        options = "".join(
            f'<option value="{escape(value)}"{" selected" * (value == current)}>{escape(text)}</option>'
            for value, text in self.choices
        )
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


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
