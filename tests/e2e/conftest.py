"""Fixtures for the browser tests: ``airflow standalone``, the Cellcast emulator and chromium.

Everything here is session-scoped: one Airflow (about 1 GB, healthy after 12 s or more), one
emulator and one browser serve all e2e tests. Each server runs in its own process group, which
teardown terminates (SIGTERM, then SIGKILL), also when a test or the start-up itself fails.

Debian's chromium at /usr/bin/chromium is driven through the ``playwright`` package
(``playwright install`` cannot download browsers here). If it is missing, ``scripts/install-browser``
is tried once; if chromium still cannot be found, the tests fail (they never skip).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from e2e_support import (
    AIRFLOW_START_TIMEOUT,
    BIN,
    CHROMIUM,
    CHROMIUM_ARGS,
    EMULATOR_START_TIMEOUT,
    FAILURE_ARTIFACTS,
    REPO,
    SCREENSHOTS,
    Airflow,
    Emulator,
    free_port,
    stop_process_group,
    tail,
    wait_until,
)

from airflow_provider_cellcast.emulator import EmulatorClient

# ------------------------------------------------------------------------------------------ emulator


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """``cellcast-emulator`` as its own process on a free loopback port, with a random token."""
    executable = BIN / "cellcast-emulator"
    if not executable.exists():
        pytest.fail(f"{executable} is missing: install the package into the venv (scripts/bootstrap)")
    token = secrets.token_urlsafe(18)
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(executable), "--host", "127.0.0.1", "--port", "0", "--no-access-log"],
            env={**os.environ, "CELLCAST_EMULATOR_TOKEN": token},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    client: EmulatorClient | None = None
    try:

        def announced_url() -> str | None:
            if process.poll() is not None:
                pytest.fail(f"cellcast-emulator exited with status {process.returncode}\n{tail(log)}")
            for line in log.read_text().splitlines():
                if "listening on" in line:
                    return line.rsplit(" ", 1)[-1].strip()
            return None

        url = wait_until(
            announced_url, timeout=EMULATOR_START_TIMEOUT, what="the emulator's URL", on_timeout=lambda: tail(log)
        )
        wait_until(
            lambda: requests.get(f"{url}/_emulator/health", timeout=2).ok,
            timeout=EMULATOR_START_TIMEOUT,
            what="the emulator's health",
            on_timeout=lambda: tail(log),
        )
        host, port = url.rsplit(":", 1)
        client = EmulatorClient(url, token=token)
        yield Emulator(url=url, host=host, port=int(port), token=token, client=client, log=log)
    finally:
        if client is not None:
            client.close()
        stop_process_group(process)


# ------------------------------------------------------------------------------------------ airflow


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    """``airflow standalone`` (LocalExecutor on SQLite) in a temporary AIRFLOW_HOME on free ports."""
    executable = BIN / "airflow"
    if not executable.exists():
        pytest.fail(f"{executable} is missing: install the package into the venv (scripts/bootstrap)")
    home = tmp_path_factory.mktemp("airflow-home")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW_CONN_", "AIRFLOW__"))}
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__PORT": str(port),
            # AIRFLOW__API__PORT alone leaves workers calling the execution API on :8080.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
            # The log servers default to fixed ports (8793, 8794): take free ones, so that a second
            # Airflow on this machine does not break this one.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        }
    )
    log = home / "standalone.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(executable), "standalone"],
            cwd=home,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    instance = Airflow(url=url, home=home, log=log)
    started = time.monotonic()
    try:

        def healthy() -> bool:
            if process.poll() is not None:
                pytest.fail(f"airflow standalone exited with status {process.returncode}\n{instance.log_tail()}")
            health = requests.get(f"{url}/api/v2/monitor/health", timeout=5).json()
            components = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            return all((health.get(name) or {}).get("status") == "healthy" for name in components)

        wait_until(
            healthy,
            timeout=AIRFLOW_START_TIMEOUT,
            what="airflow standalone to be healthy",
            on_timeout=instance.log_tail,
        )
        # The API server builds its execution API (used by every task) on the first request to it,
        # blocking all requests for 8-20 s: do it now, not when the first task starts.
        wait_until(
            lambda: requests.get(f"{url}/execution/health", timeout=120).ok,
            timeout=150,
            what="the execution API to answer",
            on_timeout=instance.log_tail,
        )
        wait_until(
            lambda: requests.get(f"{url}/api/v2/dags/cellcast_cancel_campaign", timeout=5).ok,
            timeout=60,
            what="the dag processor to parse dags/cellcast_cancel_campaign.py",
            on_timeout=instance.log_tail,
        )
        print(f"\nairflow standalone ready at {url} after {time.monotonic() - started:.1f} s (home: {home})")
        yield instance
    finally:
        instance.session.close()
        stop_process_group(process)


# ------------------------------------------------------------------------------------------ browser


def _ensure_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    script = REPO / "scripts" / "install-browser"
    done = subprocess.run([str(script)], capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0 or not CHROMIUM.exists():
        pytest.fail(
            f"The browser tests need Debian's chromium at {CHROMIUM}, and scripts/install-browser could not "
            f"install it (exit status {done.returncode}):\n{done.stderr[-2000:]}\n"
            "Run scripts/install-browser as root (apt-get install -y chromium), then run the tests again.",
            pytrace=False,
        )
    return CHROMIUM


# Module scope, not session: the sync playwright API keeps an event loop running in this thread
# until it stops, and later tests (dag.test() runs triggers with asyncio.run) need none running.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian chromium driven by playwright's sync API."""
    chromium = _ensure_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # pragma: no cover - the dev extra installs it
        pytest.fail(f"the playwright package is missing from the venv: {error}", pytrace=False)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Remember each phase's report on the test item, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Any, airflow: Airflow, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser page (1400x900, UTC) on the Airflow UI; saves a screenshot if the test fails."""
    from playwright.sync_api import expect

    context = browser.new_context(
        base_url=airflow.url, viewport={"width": 1400, "height": 900}, timezone_id="UTC", locale="en-US"
    )
    context.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            FAILURE_ARTIFACTS.mkdir(parents=True, exist_ok=True)
            target = FAILURE_ARTIFACTS / f"{request.node.name}.png"
            try:
                page.screenshot(path=str(target), full_page=True)
                print(f"screenshot of the failing page: {target}")
            except Exception as error:  # a failing screenshot must not hide the test's failure
                print(f"could not save a screenshot of the failing page: {error}")
            print(airflow.log_tail())
        context.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    """The folder for the documentation screenshots."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
