"""The Airflow 3.3 UI with our provider, driven in a real browser against ``airflow standalone``.

The tests run in file order and share one Airflow, one emulator and one browser:

1. the connection form offers the ``Cellcast`` type with our labels, placeholders and extra fields;
   ``cellcast_default`` is created through it, Test reports a wrong token's reason, then success;
2. the trigger form renders the DAG's params (a campaign reference, or message IDs in a text
   area) and an invalid message ID is refused (no run);
3. a seeded scheduled message is cancelled through the trigger form: the task, run by the
   LocalExecutor in its own process, fetches ``cellcast_default`` through the execution API as a
   remote worker would; the task view shows the rendered ID and type (never the token) and a log
   naming what was cancelled;
4. three IDs pasted one per line into the form are all cancelled by one run;
5. a campaign is cancelled by its reference typed into the form; another campaign stays scheduled.

Screenshots for the README are saved to docs/screenshots/ (see ``screenshots`` in conftest.py).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any
from urllib.parse import quote

import pytest
from e2e_support import Airflow, Emulator, wait_until
from playwright.sync_api import Locator, Page, expect

from airflow_provider_cellcast import DEFAULT_BASE_URL

pytestmark = pytest.mark.e2e

DAG_ID = "cellcast_cancel_campaign"
TASK_ID = "cancel_campaign"
CONN_ID = "cellcast_default"
RUN_TIMEOUT = 120.0


def _open_connection_dialog(page: Page) -> Locator:
    page.goto("/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Add Connection")).to_be_visible()
    return dialog


def _toast(page: Page, title: str) -> Locator:
    return page.get_by_role("status").filter(has_text=title)


def _connection_row(page: Page) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=CONN_ID, exact=True))


def _open_trigger_dialog(page: Page) -> Locator:
    page.goto(f"/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=f"Trigger Dag - {DAG_ID}")).to_be_visible()
    return dialog


def _param_group(dialog: Locator, title: str) -> Locator:
    # The 3.3 trigger form does not tie a param's label to its input: find the input through its group.
    return dialog.get_by_role("group").filter(has_text=title)


def _field_group(dialog: Locator, param: str) -> Locator:
    # Titles and descriptions mention each other ("... a campaign reference"): find a group by its input.
    return dialog.get_by_role("group").filter(has=dialog.page.locator(f"#element_{param}"))


def _message_ids_box(dialog: Locator) -> Locator:
    return _field_group(dialog, "message_id").get_by_role("textbox")


def _dag_runs(airflow: Airflow) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns", params={"order_by": "-run_after"})[
        "dag_runs"
    ]
    return runs


def _task_log(airflow: Airflow, run_id: str) -> str:
    try:
        content = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances/{TASK_ID}/logs/1")
    except Exception as error:  # only for failure messages
        return f"(task log unavailable: {error})"
    return "\n".join(str(entry.get("event", entry)) for entry in content.get("content", []))


def _wait_for_success(airflow: Airflow, run_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        current: dict[str, Any] = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}")
        return current if current["state"] in ("success", "failed") else None

    started = time.monotonic()
    done = wait_until(
        finished,
        timeout=RUN_TIMEOUT,
        interval=1.0,
        what=f"run {run_id} to finish",
        on_timeout=lambda: _task_log(airflow, run_id) + "\n" + airflow.log_tail(),
    )
    assert done["state"] == "success", f"run {run_id} {done['state']}:\n{_task_log(airflow, run_id)}"
    print(f"run {run_id} finished in {time.monotonic() - started:.1f} s")
    return done


def _trigger_and_wait(airflow: Airflow, dialog: Locator, runs_before: int) -> dict[str, Any]:
    """Press Trigger; return the new run once it succeeded."""
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    expect(dialog).to_be_hidden()
    runs = wait_until(
        lambda: (found := _dag_runs(airflow)) and len(found) > runs_before and found,
        timeout=30,
        what="the triggered run to appear",
    )
    run = runs[0]
    _wait_for_success(airflow, run["dag_run_id"])
    return run


def test_connection_form_creates_and_tests_a_cellcast_connection(
    page: Page, airflow: Airflow, emulator: Emulator, screenshots: Any
) -> None:
    dialog = _open_connection_dialog(page)
    dialog.get_by_role("textbox", name="Connection ID").fill(CONN_ID)
    conn_type = dialog.get_by_role("combobox", name="Connection Type")
    conn_type.click()
    conn_type.fill("Cellc")
    page.get_by_role("option", name="Cellcast", exact=True).click()

    # Standard fields: relabelled, with placeholders; login and schema hidden; the token is secret.
    host = dialog.get_by_role("textbox", name="API base URL")
    token = dialog.get_by_role("textbox", name="API token")
    port = dialog.get_by_role("spinbutton", name="API port")
    expect(host).to_have_attribute("placeholder", DEFAULT_BASE_URL)
    expect(token).to_have_attribute("type", "password")
    expect(token).to_have_attribute("placeholder", re.compile("Cellcast dashboard"))
    expect(port).to_have_attribute("placeholder", re.compile("443"))
    for hidden in ("Login", "Schema", "Host", "Password"):
        expect(dialog.get_by_role("textbox", name=hidden, exact=True)).to_have_count(0)
    expect(dialog.get_by_role("spinbutton", name="Port", exact=True)).to_have_count(0)
    page.mouse.move(0, 0)
    dialog.screenshot(path=str(screenshots / "connection-form.png"), animations="disabled")

    # The emulator's URL goes in as host plus port: Airflow 3.3.2's Test button refuses a
    # connection without a port (apache/airflow#73298), so the form keeps the port field.
    host.fill(emulator.host)
    port.fill(str(emulator.port))
    wrong_token = f"wrong-{secrets.token_hex(8)}"
    token.fill(wrong_token)

    # Extra fields (CellcastSettings): labelled inputs with descriptions naming the defaults.
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    for label, default in (
        ("Request timeout (seconds)", "Empty: 30."),
        ("Attempts per request", "Empty: 5."),
        ("Requests per second", "Empty: 10."),
        ("Parallel requests", "Empty: 8."),
    ):
        expect(dialog.get_by_role("spinbutton", name=label)).to_be_visible()
        field_group = dialog.get_by_role("group").filter(has=page.get_by_role("spinbutton", name=label))
        expect(field_group).to_contain_text(default)
    expect(dialog.get_by_role("checkbox", name="Allow plain HTTP")).not_to_be_checked()
    dialog.get_by_role("spinbutton", name="Attempts per request").fill("3")
    page.set_viewport_size({"width": 1400, "height": 1200})  # the whole dialog, for the screenshot
    page.mouse.move(0, 0)
    dialog.screenshot(path=str(screenshots / "connection-extra-fields.png"), animations="disabled")
    page.set_viewport_size({"width": 1400, "height": 900})

    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    row = _connection_row(page)
    expect(row).to_contain_text("cellcast")

    stored = airflow.api("GET", f"/connections/{CONN_ID}")
    assert (stored["conn_type"], stored["host"], stored["port"]) == ("cellcast", emulator.host, emulator.port)
    assert stored["password"] != wrong_token, "the REST API must not return the token"
    assert '"max_attempts": 3' in stored["extra"]

    # A wrong token: Test names the reason.
    row.get_by_role("button", name="Test Connection").click()
    failure = _toast(page, "Test Connection Failed")
    expect(failure).to_contain_text("Cellcast refused the API token")
    expect(failure).to_contain_text("Invalid token")

    # Fix the token in the edit form; Test now succeeds against the emulator.
    row.get_by_role("button", name="Edit Connection").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Edit Connection")).to_be_visible()
    dialog.get_by_role("textbox", name="API token").fill(emulator.token)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    row.get_by_role("button", name="Test Connection").click()
    success = _toast(page, "Test Connection Successful")
    expect(success).to_contain_text(f"Cellcast accepted the API token at {emulator.url}")
    assert emulator.token not in page.content()


def test_trigger_form_refuses_an_invalid_message_id(page: Page, airflow: Airflow) -> None:
    dialog = _open_trigger_dialog(page)
    message_id = _message_ids_box(dialog)
    expect(_field_group(dialog, "message_id")).to_contain_text("Message IDs")
    expect(_field_group(dialog, "message_id")).to_contain_text("the 24-character IDs Cellcast returned")
    expect(_field_group(dialog, "custom_string")).to_contain_text("Campaign reference")
    expect(_field_group(dialog, "custom_string")).to_contain_text("Cancel every still-scheduled message")
    expect(_param_group(dialog, "Message type")).to_contain_text("sms or mms")
    expect(_param_group(dialog, "Message type").get_by_role("combobox", name="Message type")).to_have_count(1)
    # Several IDs, one per line: the Message IDs field is a text area, not a one-line input.
    expect(message_id).to_have_js_property("tagName", "TEXTAREA")
    trigger = dialog.get_by_role("button", name="Trigger", exact=True)

    message_id.fill("675161d8a000000000000000\nnot-a-message-id")
    message_id.blur()
    expect(trigger).to_be_enabled()
    trigger.click()
    # 3.3 checks the pattern on the server when the run is requested and shows the refusal in the form.
    expect(dialog).to_contain_text("Invalid input for param message_id")
    expect(dialog).to_contain_text("does not match")
    assert _dag_runs(airflow) == [], "an invalid message ID must not create a run"
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_trigger_form_cancels_a_scheduled_message(
    page: Page, airflow: Airflow, emulator: Emulator, screenshots: Any
) -> None:
    try:
        airflow.api("GET", f"/connections/{CONN_ID}")
    except Exception:
        pytest.fail(f"connection {CONN_ID!r} is missing: it is created by the connection-form test above")
    seeded = emulator.client.seed_message(status="scheduled", type="sms", auto_advance=False)
    message_id = seeded["_id"]

    dialog = _open_trigger_dialog(page)
    box = _message_ids_box(dialog)
    box.fill(message_id)
    box.blur()
    message_type = dialog.get_by_role("combobox", name="Message type")
    message_type.click()
    expect(page.get_by_role("option")).to_have_text(["sms", "mms"])
    page.get_by_role("option", name="sms", exact=True).click()
    page.mouse.move(0, 0)
    page.screenshot(path=str(screenshots / "trigger-form.png"), animations="disabled")

    dialog.get_by_role("button", name="Trigger", exact=True).click()
    expect(dialog).to_be_hidden()

    runs = wait_until(lambda: _dag_runs(airflow), timeout=30, what="the triggered run to appear")
    assert len(runs) == 1
    run = runs[0]
    assert run["conf"]["message_id"] == message_id and run["conf"]["message_type"] == "sms"
    assert not run["conf"].get("custom_string")
    run_id = run["dag_run_id"]
    _wait_for_success(airflow, run_id)

    # The worker found the connection made in the UI and the cancel reached the emulator.
    assert emulator.client.message(message_id)["status"] == "canceled"

    # Task view: state, and a log line naming the cancelled message.
    page.goto(f"/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/{TASK_ID}")
    expect(page.get_by_role("heading", name=TASK_ID, exact=True)).to_be_visible()
    expect(page.get_by_text("CellcastCancelCampaignOperator").first).to_be_visible()
    expect(page.get_by_text(f"Cellcast cancel of sms message {message_id}: cancelled (Cellcast:")).to_be_visible()
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    page.mouse.move(0, 0)
    page.screenshot(path=str(screenshots / "run-success.png"), animations="disabled")
    assert emulator.token not in page.content()

    # Rendered templates: the ID and the type, nothing else (the token is never a template field).
    page.get_by_role("link", name="Rendered Templates").click()
    rows = page.get_by_role("row")
    expect(rows).to_have_count(4)  # message_id, custom_string, message_type, cellcast_conn_id
    expect(rows.filter(has_text="message_id")).to_contain_text(message_id)
    expect(rows.filter(has_text="cellcast_conn_id")).to_contain_text("cellcast_default")
    expect(rows.filter(has_text="message_type")).to_contain_text("sms")
    assert emulator.token not in page.content()

    instance = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances/{TASK_ID}")
    assert instance["rendered_fields"] == {
        "message_id": message_id,
        "custom_string": "",
        "message_type": "sms",
        "cellcast_conn_id": "cellcast_default",
    }
    assert emulator.token not in _task_log(airflow, run_id)

    # The operator's own colours reach the API server (the 3.3 UI itself draws nodes by state).
    task = airflow.api("GET", f"/dags/{DAG_ID}/tasks/{TASK_ID}")
    assert (task["ui_color"], task["ui_fgcolor"]) == ("#FFE3C2", "#3D2200")
    assert task["template_fields"] == ["message_id", "custom_string", "message_type", "cellcast_conn_id"]


def test_trigger_form_cancels_three_ids_pasted_one_per_line(
    page: Page, airflow: Airflow, emulator: Emulator, screenshots: Any
) -> None:
    ids = emulator.client.schedule_campaign(contacts=["+61400000101", "+61400000102", "+61400000103"])
    runs_before = len(_dag_runs(airflow))

    dialog = _open_trigger_dialog(page)
    box = _message_ids_box(dialog)
    box.fill("\n".join(ids))  # as pasted from a report: one ID per line
    box.blur()
    expect(box).to_have_value("\n".join(ids))
    page.set_viewport_size({"width": 1400, "height": 1100})
    page.mouse.move(0, 0)
    page.screenshot(path=str(screenshots / "trigger-form-ids.png"), animations="disabled")
    page.set_viewport_size({"width": 1400, "height": 900})

    run = _trigger_and_wait(airflow, dialog, runs_before)

    assert run["conf"]["message_id"] == "\n".join(ids)
    assert {emulator.client.message(message_id)["status"] for message_id in ids} == {"canceled"}
    log = _task_log(airflow, run["dag_run_id"])
    assert "Cellcast cancel of 3 sms message(s): 3 cancelled, 0 already cancelled, 0 failed" in log
    # One line per ID is at DEBUG; every ID's outcome is in the XCom 'results', as the API shows it.
    entry = airflow.api(
        "GET",
        f"/dags/{DAG_ID}/dagRuns/{quote(run['dag_run_id'], safe='')}/taskInstances/{TASK_ID}/xcomEntries/results",
    )
    results = entry["value"] if isinstance(entry["value"], list) else json.loads(entry["value"])
    assert [(result["message_id"], result["outcome"]) for result in results] == [(mid, "cancelled") for mid in ids]


def test_trigger_form_cancels_a_campaign_by_its_reference(
    page: Page, airflow: Airflow, emulator: Emulator, screenshots: Any
) -> None:
    reference = "af-newsletter-send-3f9c2a7b1e4d6c80"  # as the send operator derives one
    campaign = emulator.client.schedule_campaign(
        contacts=[f"+614000002{index:02d}" for index in range(5)], custom_string=reference
    )
    other = emulator.client.schedule_campaign(contacts=["+61400000301"], custom_string=f"{reference}-other")
    runs_before = len(_dag_runs(airflow))

    dialog = _open_trigger_dialog(page)
    field = _field_group(dialog, "custom_string").get_by_role("textbox")
    field.fill(reference)
    field.blur()
    page.set_viewport_size({"width": 1400, "height": 1100})
    page.mouse.move(0, 0)
    page.screenshot(path=str(screenshots / "trigger-form-reference.png"), animations="disabled")
    page.set_viewport_size({"width": 1400, "height": 900})

    run = _trigger_and_wait(airflow, dialog, runs_before)

    assert run["conf"]["custom_string"] == reference
    assert {emulator.client.message(message_id)["status"] for message_id in campaign} == {"canceled"}
    assert emulator.client.message(other[0])["status"] == "scheduled"
    log = _task_log(airflow, run["dag_run_id"])
    assert f"Found 5 scheduled sms message(s) with reference {reference!r}" in log
    assert "Cellcast cancel of 5 sms message(s): 5 cancelled, 0 already cancelled, 0 failed" in log
