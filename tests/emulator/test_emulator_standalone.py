"""The emulator as a standalone package: one command, importing neither Airflow nor the provider.

Importing neither is what keeps it quick to start (a second, not Airflow's ten); the test checks
the imports, not a stopwatch.

Its rules (``emulator/rules.py``) are its own reading of Cellcast's documentation; the contract
tests at the end compare that reading with the provider's (``airflow_provider_cellcast.validation``).
"""

from __future__ import annotations

import ast
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from emulator_helpers import emulator_command
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cellcast import validation
from airflow_provider_cellcast.emulator import rules
from airflow_provider_cellcast.exceptions import CellcastInputError

EMULATOR_DIR = Path(rules.__file__).resolve().parent


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    return lines.get(timeout=timeout)


def test_command_prints_its_url_and_answers_health() -> None:
    process = subprocess.Popen(
        [*emulator_command(), "--port", "0", "--no-access-log"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CELLCAST_EMULATOR_TOKEN": "startup-token"},
    )
    try:
        line = _read_line(process, timeout=30)
        assert "listening on" in line, line
        url = line.rsplit(" ", 1)[-1].strip()
        response = requests.get(f"{url}/_emulator/health", timeout=10)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert "startup-token" not in stderr


def test_app_and_cli_import_neither_airflow_nor_the_rest_of_the_provider() -> None:
    code = (
        "import json, sys\n"
        "import airflow_provider_cellcast.emulator.app as app, airflow_provider_cellcast.emulator.cli\n"
        "app.create_app(token='t')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'airflow' or m.startswith(('airflow.', "
        "'airflow_provider_cellcast')))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(done.stdout)
    assert "airflow_provider_cellcast.emulator.app" in loaded
    outside = [
        m for m in loaded if m != "airflow_provider_cellcast" and not m.startswith("airflow_provider_cellcast.emulator")
    ]
    assert outside == []
    for name in (
        "airflow_provider_cellcast.hooks",
        "airflow_provider_cellcast.validation",
        "airflow_provider_cellcast.exceptions",
    ):
        assert name not in loaded


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted(EMULATOR_DIR.rglob("*.py")), ids=lambda p: str(p.relative_to(EMULATOR_DIR)))
def test_no_emulator_module_imports_the_provider_or_airflow(path: Path) -> None:
    # Lazy imports inside functions count too: the package must stay standalone on every path.
    imported = _imported_modules(path)
    provider = {m for m in imported if m.startswith("airflow_provider_cellcast")}
    assert all(m.startswith("airflow_provider_cellcast.emulator") for m in provider), sorted(provider)
    assert not {m for m in imported if m == "airflow" or m.startswith("airflow.")}


@pytest.mark.parametrize("path", sorted(EMULATOR_DIR.rglob("*.py")), ids=lambda p: str(p.relative_to(EMULATOR_DIR)))
def test_no_emulator_module_is_over_500_lines(path: Path) -> None:
    # Past about 500 lines a module holds more than one concern.
    assert len(path.read_text().splitlines()) <= 500


# ------------------------------------------------------------------------------------------ the rules
def test_rules_hold_the_documented_limits() -> None:
    assert rules.MAX_CONTACTS == 1000
    assert rules.MAX_DELAY_MS == 86_400_000
    assert rules.MESSAGE_TYPES == ("sms", "mms")
    assert rules.message_id("675161d8a000000000000000") == "675161d8a000000000000000"
    with pytest.raises(rules.RuleError):
        rules.message_id("6752b76d5e000000000000000")  # the docs' 25-character typo
    assert rules.message_status("delievered") == rules.message_status(" Delivered ") == "delivered"
    assert rules.message_status("cancelled") == "canceled"
    with pytest.raises(rules.RuleError, match="status must be one of"):
        rules.message_status("lost")
    assert rules.delay_ms("86400000") == rules.MAX_DELAY_MS and rules.delay_ms(None) == 0
    for bad in (86_400_001, -1, 1.5, True, "1e3", "ten"):
        with pytest.raises(rules.RuleError):
            rules.delay_ms(bad)


@given(st.text(alphabet="0123456789abcdefABCDEF", min_size=4, max_size=30))
def test_mask_phone_keeps_only_the_last_three_digits(text: str) -> None:
    masked = rules.mask_phone(f"+{text}")
    assert len(masked) == len(text) + 1 and masked[0] == "+"
    digits = [ch for ch in text if ch.isdigit()]
    assert [ch for ch in masked if ch.isdigit()] == digits[-3:]
    assert masked.count("*") == max(0, len(digits) - 3)


def _provider_accepts(check: Callable[[Any], str], value: object) -> str | None:
    try:
        return check(value)
    except CellcastInputError:
        return None


def _emulator_accepts(check: Callable[[Any], str], value: object) -> str | None:
    try:
        return check(value)
    except rules.RuleError:
        return None


@given(
    st.one_of(
        st.text(alphabet="0123456789abcdefABCDEF", min_size=22, max_size=26),
        st.text(min_size=0, max_size=30),
        st.text(alphabet="0123456789abcdef", min_size=24, max_size=24).map(lambda s: f" {s}\t"),
        st.integers(),
        st.none(),
    )
)
def test_contract_both_readings_agree_on_message_ids(value: object) -> None:
    assert _emulator_accepts(rules.message_id, value) == _provider_accepts(validation.validate_message_id, value)


@given(st.one_of(st.sampled_from(["sms", "mms", "SMS", " Mms ", "email", "", "sms mms"]), st.text(max_size=5)))
def test_contract_both_readings_agree_on_message_types(value: str) -> None:
    assert _emulator_accepts(rules.message_type, value) == _provider_accepts(validation.validate_message_type, value)
