"""The connection form is defined once (provider info) and the hook's form methods agree with it.

Airflow 3.2+ builds the form from ``get_provider_info()`` (``conn-fields``, ``ui-field-behaviour``);
2.11's Flask UI and the 3.0/3.1 UI call ``CellcastHook.get_connection_form_widgets()`` and
``get_ui_field_behaviour()``. Both must show the same labels, descriptions, hidden fields and
placeholders. Where WTForms is installed (Airflow 2) the real classes are used; elsewhere stand-ins
record what the hook builds. On 3.0/3.1 Airflow's own conversion of the hook's fields to the UI's
JSON schema (``HookMetaService``) is checked too.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any

import pytest

from airflow_provider_cellcast import get_provider_info
from airflow_provider_cellcast.hooks.cellcast import CellcastHook

[CONNECTION_TYPE] = get_provider_info()["connection-types"]
CONN_FIELDS: dict[str, Any] = CONNECTION_TYPE["conn-fields"]
BEHAVIOUR: dict[str, Any] = CONNECTION_TYPE["ui-field-behaviour"]
REAL_WTFORMS = importlib.util.find_spec("wtforms") is not None and importlib.util.find_spec("flask_appbuilder")


class _Field:
    """Records a WTForms field's arguments (stand-in when WTForms is not installed)."""

    def __init__(self, label: Any = None, validators: Any = (), description: str = "", default: Any = None, **kw: Any):
        self.args = (label,)
        self.kwargs = {"validators": list(validators or ()), "description": description, "default": default, **kw}
        self.field_class = type(self)


class _Validator:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.min, self.max = kwargs.get("min"), kwargs.get("max")


def _stand_in_form_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Minimal ``wtforms``, ``flask_appbuilder`` and ``flask_babel`` modules in ``sys.modules``."""
    kinds = ("StringField", "IntegerField", "PasswordField", "BooleanField")
    fields = {name: type(name, (_Field,), {}) for name in kinds}
    wtforms, wt_fields, wt_simple, wt_validators = (
        ModuleType(name) for name in ("wtforms", "wtforms.fields", "wtforms.fields.simple", "wtforms.validators")
    )
    for module in (wtforms, wt_fields, wt_simple):
        vars(module).update(fields)
    wt_validators.Optional = type("Optional", (_Validator,), {})  # type: ignore[attr-defined]
    wt_validators.NumberRange = type("NumberRange", (_Validator,), {})  # type: ignore[attr-defined]
    wt_validators.any_of = lambda values: values  # type: ignore[attr-defined]
    wtforms.fields, wtforms.validators, wt_fields.simple = wt_fields, wt_validators, wt_simple  # type: ignore[attr-defined]
    fab, fab_widgets, babel = (
        ModuleType(name) for name in ("flask_appbuilder", "flask_appbuilder.fieldwidgets", "flask_babel")
    )
    for widget in ("BS3TextFieldWidget", "BS3TextAreaFieldWidget", "BS3PasswordFieldWidget"):
        setattr(fab_widgets, widget, type(widget, (), {}))
    fab.fieldwidgets = fab_widgets  # type: ignore[attr-defined]
    babel.lazy_gettext = str  # type: ignore[attr-defined]
    for module in (wtforms, wt_fields, wt_simple, wt_validators, fab, fab_widgets, babel):
        module.__spec__ = importlib.machinery.ModuleSpec(module.__name__, None)  # find_spec() asks for it
        monkeypatch.setitem(sys.modules, module.__name__, module)


@pytest.fixture
def form_modules(monkeypatch: pytest.MonkeyPatch) -> str:
    if REAL_WTFORMS:
        return "real"
    _stand_in_form_modules(monkeypatch)
    return "stand-in"


def _types(spec: dict[str, Any]) -> list[str]:
    kind = spec["schema"]["type"]
    return kind if isinstance(kind, list) else [kind]


def test_ui_field_behaviour_is_the_provider_infos() -> None:
    behaviour = CellcastHook.get_ui_field_behaviour()
    assert behaviour == {
        "hidden_fields": BEHAVIOUR["hidden-fields"],
        "relabeling": BEHAVIOUR["relabeling"],
        "placeholders": BEHAVIOUR["placeholders"],
    }
    assert behaviour["relabeling"]["password"] == "API token"
    assert "login" in behaviour["hidden_fields"] and "host" not in behaviour["hidden_fields"]


def test_form_widgets_have_the_provider_infos_fields_labels_and_descriptions(form_modules: str) -> None:
    widgets = CellcastHook.get_connection_form_widgets()
    assert list(widgets) == list(CONN_FIELDS)
    for name, field in widgets.items():
        spec = CONN_FIELDS[name]
        assert str(field.args[0]) == spec["label"], name
        assert field.kwargs["description"] == spec["description"], name
        kinds = _types(spec)
        expected = "BooleanField" if "boolean" in kinds else "IntegerField" if "integer" in kinds else "StringField"
        assert field.field_class.__name__ == expected, name
        if expected == "IntegerField":
            [optional, limits] = field.kwargs["validators"]
            assert type(optional).__name__ == "Optional", name
            assert (limits.min, limits.max) == (spec["schema"].get("minimum"), spec["schema"].get("maximum")), name
        if expected == "BooleanField":
            assert field.kwargs["default"] is spec["schema"]["default"], name
    if form_modules == "real":
        import wtforms

        allowed = {wtforms.StringField, wtforms.IntegerField, wtforms.BooleanField}
        assert {field.field_class for field in widgets.values()} <= allowed


def test_airflow_30_31_ui_gets_the_same_form(form_modules: str) -> None:
    """On 3.0/3.1 the UI's connection form comes from the hook, converted by HookMetaService."""
    service = pytest.importorskip("airflow.api_fastapi.core_api.services.ui.connections")
    from airflow import __version__ as airflow_version
    from packaging.version import Version

    if not Version("3.0") <= Version(Version(airflow_version).base_version) < Version("3.2"):
        pytest.skip("Airflow 3.2+ reads conn-fields from the provider info (test_provider_cli checks it)")
    service.HookMetaService.hook_meta_data.cache_clear()
    [meta] = [hook for hook in service.HookMetaService.hook_meta_data() if hook.connection_type == "cellcast"]
    extra = meta.extra_fields
    assert list(extra) == list(CONN_FIELDS)
    for name, param in extra.items():
        assert param["schema"]["title"] == CONN_FIELDS[name]["label"], name
        assert param["description"] == CONN_FIELDS[name]["description"], name
    standard = meta.standard_fields
    assert standard.login.hidden and standard.url_schema.hidden
    assert (standard.host.title, standard.host.placeholder) == (
        BEHAVIOUR["relabeling"]["host"],
        BEHAVIOUR["placeholders"]["host"],
    )
    assert (standard.password.title, standard.password.placeholder) == (
        BEHAVIOUR["relabeling"]["password"],
        BEHAVIOUR["placeholders"]["password"],
    )
    assert standard.port.title == BEHAVIOUR["relabeling"]["port"]
