"""
Templated dicts and lists whose strings stay strings under ``render_template_as_native_obj=True``
(where ``"1"`` would become ``1`` and a platform that wants strings refuses the request). A field
that is one whole template is still rendered as Airflow renders it, native or not.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

TEMPLATE_MARKS = ("{{", "{%", "{#")


def render_as_text(template: Any, context: Mapping[str, Any]) -> str:
    """``template`` (a ``jinja2.Template``, native or not) rendered with Airflow's context, as text."""
    values = copy.copy(context)
    env = template.environment
    if template.globals:
        values.update((k, v) for k, v in template.globals.items() if k not in values)  # type: ignore[attr-defined]
    try:
        parts = template.root_render_func(env.context_class(env, values, template.name, template.blocks))
        return "".join(str(part) for part in parts)
    except Exception:
        env.handle_exception()  # the traceback points into the template
        raise


class StructuredTemplates:
    """Mixed into operators before ``BaseOperator``: see the module's docstring."""

    template_ext: Any

    def template_text(self, text: str) -> str:
        """A string about to be rendered; an operator may protect its platform's own syntax here."""
        return text

    def render_template(
        self, content: Any, context: Any, jinja_env: Any = None, seen_oids: Any = None
    ) -> Any:
        if isinstance(content, dict | list):
            if jinja_env is None:
                jinja_env = self.get_template_env()  # type: ignore[attr-defined]
            return self._render_structure(content, context, jinja_env, seen_oids)
        return super().render_template(content, context, jinja_env, seen_oids)  # type: ignore[misc]

    def _render_structure(self, value: Any, context: Any, jinja_env: Any, seen_oids: Any) -> Any:
        if isinstance(value, dict):
            return {k: self._render_structure(v, context, jinja_env, seen_oids) for k, v in value.items()}
        if isinstance(value, list):
            return [self._render_structure(v, context, jinja_env, seen_oids) for v in value]
        if isinstance(value, str) and not value.endswith(tuple(self.template_ext or ())):
            if not any(mark in value for mark in TEMPLATE_MARKS):
                return value
            return render_as_text(jinja_env.from_string(self.template_text(value)), context)
        return super().render_template(value, context, jinja_env, seen_oids)  # type: ignore[misc]
