"""Run the Cellcast emulator in a background thread of the current process."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from airflow_provider_cellcast.emulator.client import EmulatorClient
from airflow_provider_cellcast.emulator.network import bind_socket, url_for

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

    from airflow_provider_cellcast.emulator.state import Clock, EmulatorState


class CellcastEmulator(EmulatorClient):
    """A Cellcast emulator served by uvicorn on a loopback port, in a background thread.

    :param token: the API token clients must send (``Authorization: Bearer <token>``).
    :param host: interface to bind; keep loopback, the control plane has no auth.
    :param port: port to bind; 0 picks a free one.
    :param clock: callable returning the real time (aware UTC); the emulator adds its own offset.
    :param access_log: let uvicorn log one line per request (method, path, status; never headers).
    :param log_level: level of uvicorn's own loggers, or ``None`` to leave them alone.
    :param config: further :class:`~.config.EmulatorConfig` settings and modes:
        ``rate_limit_per_second``, ``latency_ms``, ``sms_balance``, ``senders``, ``contacts_mode``,
        ``custom_string_mode``, ``schedule_at_mode``, ``account_timezone``...

    Every :class:`~.client.EmulatorClient` method is available (``reset``, ``seed_message``,
    ``set_status``, ``register_sender``, ``inject_reply``, ``inject_fault``, ``configure``,
    ``advance_clock``...), and :attr:`state` gives direct access.

    Example::

        with CellcastEmulator(token="secret", rate_limit_per_second=15) as emulator:
            os.environ["AIRFLOW_CONN_CELLCAST_DEFAULT"] = json.dumps(
                {"conn_type": "cellcast", "host": emulator.url, "password": emulator.token}
            )
            [message_id] = emulator.schedule_campaign(contacts=["61400000001"], delay_ms=60_000)
            ...  # run the task that cancels it
            assert emulator.message(message_id)["status"] == "canceled"
    """

    def __init__(
        self,
        token: str = "test-token",  # noqa: S107 - a well-known token for a local emulator
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock | None = None,
        access_log: bool = False,
        log_level: str | None = "warning",
        startup_timeout: float = 10.0,
        **config: Any,
    ) -> None:
        from airflow_provider_cellcast.emulator.state import EmulatorConfig, EmulatorState

        super().__init__("", token=token)
        self.host = host
        self._requested_port = port
        self._access_log = access_log
        self._log_level = log_level
        self._startup_timeout = startup_timeout
        self._state: EmulatorState = EmulatorState(EmulatorConfig(token=token, **config), clock=clock)
        self._token = token
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._app: FastAPI | None = None

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        return f"CellcastEmulator({where})"

    # ----------------------------------------------------------------- properties
    @property
    def token(self) -> str:
        """The API token the emulator accepts."""
        return self._token

    @property
    def state(self) -> EmulatorState:
        """The emulator's in-memory state (thread-safe)."""
        return self._state

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("the Cellcast emulator is not running: call start() or use it in a with block")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (after :meth:`start`)."""
        return url_for(self.host, self.port)

    @property
    def base_url(self) -> str:
        return self.url

    @property
    def app(self) -> FastAPI:
        """The FastAPI app being served (after :meth:`start`)."""
        if self._app is None:
            raise RuntimeError("the Cellcast emulator is not running")
        return self._app

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> CellcastEmulator:
        """Serve in a background thread; return once the server accepts requests."""
        if self.running:
            return self
        import uvicorn

        from airflow_provider_cellcast.emulator.app import create_app
        from airflow_provider_cellcast.emulator.middleware import quiet_drop_faults

        quiet_drop_faults()
        self._app = create_app(self._state)
        sock = bind_socket(self.host, self._requested_port)
        self._port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self._app,
            log_config=None,
            log_level=self._log_level,
            access_log=self._access_log,
            lifespan="off",
            ws="none",
            # A hang fault must not hold the shutdown for long.
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"cellcast-emulator-{self._port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        # Poll the server's own flag: started means the socket is being served.
        while not server.started:
            if not self._thread.is_alive():
                sock.close()
                self._port = None
                raise RuntimeError("the Cellcast emulator failed to start (see the uvicorn log)")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Cellcast emulator did not start within {self._startup_timeout} s")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and wait for the thread (pending hangs are released first)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._state.release_waits()
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        self._server = None
        self._thread = None
        self.close()

    def __enter__(self) -> CellcastEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
