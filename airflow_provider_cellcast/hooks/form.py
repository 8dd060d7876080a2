"""The connection form of Airflow 2.11-3.1, built from the provider info that Airflow 3.2+ reads.

Both come from :func:`airflow_provider_cellcast.get_provider_info`, so every release shows the same
labels, hidden fields, placeholders and extra fields.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_cellcast import get_provider_info


def ui_field_behaviour() -> dict[str, Any]:
    """Hidden, relabelled and placeholder standard fields: the provider info's ``ui-field-behaviour``."""
    behaviour = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    return {
        "hidden_fields": list(behaviour["hidden-fields"]),
        "relabeling": dict(behaviour["relabeling"]),
        "placeholders": dict(behaviour["placeholders"]),
    }


def connection_form_widgets() -> dict[str, Any]:
    """The extra fields as WTForms fields, built from the provider info's ``conn-fields``.

    Same names, labels and descriptions. Airflow before 3.2 accepts only string, integer,
    password and boolean fields, so fractional numbers are text fields: the settings check every
    value (and name the field) when a task uses the connection.
    """
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import BooleanField, IntegerField, StringField
    from wtforms.validators import NumberRange, Optional

    widgets: dict[str, Any] = {}
    for name, spec in get_provider_info()["connection-types"][0]["conn-fields"].items():
        schema = spec["schema"]
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        label, description = lazy_gettext(spec["label"]), spec["description"]
        if "boolean" in types:
            widgets[name] = BooleanField(label, description=description, default=schema.get("default", False))
        elif "integer" in types:
            limits = NumberRange(min=schema.get("minimum"), max=schema.get("maximum"))
            widgets[name] = IntegerField(
                label, validators=[Optional(), limits], widget=BS3TextFieldWidget(), description=description
            )
        else:
            widgets[name] = StringField(
                label, validators=[Optional()], widget=BS3TextFieldWidget(), description=description
            )
    return widgets
