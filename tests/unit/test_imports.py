"""Imports run one way, and DAG files stay light.

Layers, top to bottom: operators / sensors / triggers / notifications -> hooks -> client ->
envelope, settings, validation, statuses, texts, ratelimit, shared_ratelimit, progress ->
exceptions -> the package root and ``_compat``.
Every import of every provider module is scanned (module level, function level and
``TYPE_CHECKING`` blocks alike): a module may import from a lower layer, or from its own layer in
the middle one; of the top layer only the sensor may import its trigger (to defer to it). The
emulator is its own package (it has its own test); here only: no provider module imports it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import airflow_provider_cellcast

PACKAGE = "airflow_provider_cellcast"
ROOT = Path(airflow_provider_cellcast.__file__).resolve().parent

#: Rank of each part of the package: a module may import from a lower rank only (see below).
RANKS: dict[str, int] = {
    "": 0,  # the package root: version and provider info
    "_compat": 0,
    "exceptions": 1,
    "envelope": 2,
    "settings": 2,
    "validation": 2,
    "statuses": 2,
    "texts": 2,
    "ratelimit": 2,
    "progress": 2,
    "contacts": 2,
    "reply_filter": 2,
    "shared_ratelimit": 2,
    "client": 3,
    "hooks": 4,
    "operators": 5,
    "sensors": 5,
    "triggers": 5,
    "notifications": 5,
}
#: The middle layer's modules may use one another (statuses and validation shorten lists with texts).
SHARED_RANK = 2
#: The only import allowed within the top layer.
ALLOWED_SIDEWAYS = {("sensors", "triggers")}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every provider module ``source`` imports, wherever the import statement stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # ``from package import module`` imports that module.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name == PACKAGE or name.startswith(f"{PACKAGE}.")}


def part_of(module: str) -> str:
    """``hooks`` for ``airflow_provider_cellcast.hooks.cellcast``; ``""`` for the package root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def provider_modules() -> list[Path]:
    return sorted(path for path in ROOT.rglob("*.py") if "emulator" not in path.relative_to(ROOT).parts)


def existing(name: str) -> bool:
    relative = Path(*name.split(".")[1:])
    return (ROOT / relative).with_suffix(".py").exists() or (ROOT / relative / "__init__.py").exists()


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {part_of(module_name(path)) for path in provider_modules()}
    assert parts == set(RANKS)


def test_the_scan_sees_function_level_relative_and_type_checking_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from airflow_provider_cellcast.hooks.cellcast import CellcastHook\n"
        "def run():\n"
        "    from ..sensors import message_status\n"
        "    import airflow_provider_cellcast.texts\n"
    )
    found = imports_of(source, f"{PACKAGE}.triggers.message_status")
    assert {f"{PACKAGE}.hooks.cellcast", f"{PACKAGE}.sensors.message_status", f"{PACKAGE}.texts"} <= found


def test_imports_run_downward_only() -> None:
    upward: list[str] = []
    for path in provider_modules():
        module = module_name(path)
        source_part = part_of(module)
        for target in imports_of(path.read_text(), module, is_package=path.name == "__init__.py"):
            if not existing(target):
                continue  # ``from package import name``: a name, not a module
            target_part = part_of(target)
            assert target_part != "emulator", f"{module} imports the emulator ({target})"
            if target_part == source_part:
                continue
            source_rank, target_rank = RANKS[source_part], RANKS[target_part]
            allowed = target_rank < source_rank or (
                target_rank == source_rank
                and (source_rank == SHARED_RANK or (source_part, target_part) in ALLOWED_SIDEWAYS)
            )
            if not allowed:
                upward.append(f"{module} -> {target}")
    assert upward == []


def airflow_imports_of(source: str) -> set[str]:
    """Every module of Airflow itself (not of this provider) that ``source`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.add(node.module or "")
    return {name for name in found if name == "airflow" or name.startswith("airflow.")}


@pytest.mark.parametrize("path", sorted((ROOT / "client").glob("*.py")), ids=lambda path: path.name)
def test_the_client_reaches_airflow_only_through_the_bottom_layer(path: Path) -> None:
    # Airflow comes in through exceptions.py and the compat shims only, so that an Airflow-free
    # client is one change away; and the client knows nothing of the layers above it.
    assert airflow_imports_of(path.read_text()) == set()
    module = module_name(path)
    above = {"hooks", "operators", "sensors", "triggers", "notifications"}
    assert not [name for name in imports_of(path.read_text(), module) if part_of(name) in above]


def test_the_client_scan_sees_airflow_imports() -> None:
    source = (
        "import airflow.sdk\n"
        "from airflow.providers.http.hooks.http import HttpHook\n"
        "import airflow_provider_cellcast\n"
    )
    assert airflow_imports_of(source) == {"airflow.sdk", "airflow.providers.http.hooks.http"}


@pytest.mark.parametrize("path", sorted((ROOT / "triggers").glob("*.py")), ids=lambda path: path.name)
def test_no_trigger_imports_a_sensor(path: Path) -> None:
    module = module_name(path)
    found = imports_of(path.read_text(), module, is_package=path.name == "__init__.py")
    assert not [name for name in found if part_of(name) == "sensors"]


def test_dag_files_import_nothing_beyond_airflow_sdk_and_light_provider_modules() -> None:
    # DAG files import the operators, sensor and notifier at every parse. Measured against what
    # the Airflow base classes themselves load, they must add only light provider modules.
    code = (
        "import sys\n"
        "from airflow.providers.common.compat.sdk import BaseNotifier, BaseOperator, BaseSensorOperator\n"
        # An AssetWatcher DAG needs Airflow's trigger base classes whatever trigger it watches with.
        "import airflow.triggers.base\n"
        "before = set(sys.modules)\n"
        "import airflow_provider_cellcast.operators.send_sms\n"
        "import airflow_provider_cellcast.operators.send_mms\n"
        "import airflow_provider_cellcast.operators.cancel_campaign\n"
        "import airflow_provider_cellcast.sensors.message_status\n"
        "import airflow_provider_cellcast.sensors.reply\n"
        "import airflow_provider_cellcast.triggers.inbound\n"
        "import airflow_provider_cellcast.notifications.cellcast\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    added = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert all(name.startswith(PACKAGE) for name in added), added
    heavy = {"hooks", "client", "triggers", "emulator"}
    # The inbound trigger is built in DAG files (AssetWatcher): it must stay light itself.
    watched = {f"{PACKAGE}.triggers", f"{PACKAGE}.triggers.inbound"}
    assert not [name for name in added if heavy & set(name.split(".")) and name not in watched], added
