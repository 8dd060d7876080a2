"""``cellcast-emulator``: serve the Cellcast emulator until SIGINT or SIGTERM.

Example::

    CELLCAST_EMULATOR_TOKEN=secret cellcast-emulator --port 8079 --rate-limit 15 --sender ACME
    # Cellcast emulator listening on http://127.0.0.1:8079

Every mode of :class:`~.config.EmulatorConfig` has a flag (``--contacts-mode lenient``,
``--custom-string-mode strip``, ...); the defaults are the strict reading of the live service.
"""

from __future__ import annotations

import argparse
import copy
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

from airflow_provider_cellcast.emulator.config import CHOICES

TOKEN_ENV = "CELLCAST_EMULATOR_TOKEN"  # noqa: S105 - the name of a variable, not a secret
#: The emulator's well-known default token: it guards nothing real.
DEFAULT_TOKEN = "test-token"  # noqa: S105


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cellcast-emulator",
        description=(
            "Serve an emulator of the Cellcast SMS/MMS API with in-memory state and fault injection. "
            "Its control plane (/_emulator/, docs at /_emulator/docs) has no authentication: "
            "keep it on loopback."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8079, help="port to bind; 0 picks a free one (default: 8079)")
    parser.add_argument(
        "--token",
        default=None,
        help=f"API token clients must send; better given in ${TOKEN_ENV} (kept out of `ps`). "
        f"Default: {DEFAULT_TOKEN!r}",
    )
    parser.add_argument("--rate-limit", type=float, default=None, metavar="N", help="requests per second per token")
    parser.add_argument("--latency-ms", type=float, default=0.0, metavar="N", help="delay added to every API request")
    parser.add_argument(
        "--retry-after-on-429", action="store_true", help="send Retry-After with 429 answers (Cellcast documents none)"
    )
    parser.add_argument(
        "--delivery-delay", type=float, default=2.0, metavar="SECONDS", help="time from sent to delivered (default: 2)"
    )
    parser.add_argument("--sms-balance", type=float, default=10_000, metavar="N", help="SMS credits (default: 10000)")
    parser.add_argument("--mms-balance", type=float, default=1_000, metavar="N", help="MMS credits (default: 1000)")
    parser.add_argument(
        "--sender",
        action="append",
        default=[],
        metavar="ID[=NAME]",
        help="register a sender ID besides #SharedNum# (repeatable); others are refused with HTTP 400",
    )
    modes = parser.add_argument_group("modes (defaults: the strict reading of the live service)")
    modes.add_argument(
        "--account-timezone",
        default="Australia/Sydney",
        metavar="ZONE",
        help="the account's time zone: how a scheduleAt without offset is read (default: Australia/Sydney)",
    )
    for name, help_text in _MODE_HELP.items():
        choices = CHOICES[name]
        modes.add_argument(
            f"--{name.replace('_', '-')}",
            choices=choices,
            default=choices[0],
            help=f"{help_text} (default: {choices[0]})",
        )
    modes.add_argument(
        "--custom-string-max-length",
        type=int,
        default=255,
        metavar="N",
        help="longest customString accepted; 0 for no limit (default: 255)",
    )
    modes.add_argument(
        "--no-list-filter-custom-string",
        action="store_true",
        help="the message list ignores its customString filter (as the live service may)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"], help="default: info"
    )
    parser.add_argument("--no-access-log", action="store_true", help="do not log one line per request")
    return parser


_MODE_HELP = {
    "custom_string_mode": "a customString with characters outside A-Za-z0-9- is refused (400) or stripped",
    "schedule_at_mode": "naive-local: a time without offset is account time; all-local: offsets ignored too",
    "contacts_mode": "strict: Cellcast's documented 400 rule; lenient: the docs page's four forms",
    "date_filter_zone": "the time zone of the list's fromDate/toDate days",
    "mms_schedule_fields": "ignore or honour scheduleAt, delay and customString on MMS (undocumented)",
    "reply_message_id": "replies show an empty message_id (as documented) or the message replied to",
    "replies_order": "order of getResponses",
    "received_at_format": "replies' received_at: account time without offset, or UTC ISO 8601",
}


def _config_of(args: argparse.Namespace, token: str) -> dict[str, Any]:
    """The :class:`~.config.EmulatorConfig` fields the arguments give."""
    return {
        "token": token,
        "rate_limit_per_second": args.rate_limit,
        "latency_ms": args.latency_ms,
        "retry_after_on_429": args.retry_after_on_429,
        "delivery_delay_seconds": args.delivery_delay,
        "sms_balance": args.sms_balance,
        "mms_balance": args.mms_balance,
        "senders": tuple(args.sender),
        "account_timezone": args.account_timezone,
        "custom_string_max_length": args.custom_string_max_length or None,
        "list_filter_custom_string": not args.no_list_filter_custom_string,
        **{name: getattr(args, name) for name in _MODE_HELP},
    }


def _logging_config(level: str) -> dict[str, Any]:
    import uvicorn.config

    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    # Let "uvicorn.error" propagate even when something in the process (Airflow's logging setup,
    # when the emulator runs inside a test session) has turned that off: its start and error
    # lines would be lost otherwise.
    config["loggers"]["uvicorn.error"]["propagate"] = True
    # uvicorn's access format is client, request line and status: no headers, so no token.
    config["loggers"]["airflow_provider_cellcast.emulator"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, bind, print the URL, serve until a signal; return the exit status."""
    args = build_parser().parse_args(argv)
    # The URL line and uvicorn's access log go to stdout: show them at once even through a pipe.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    token = args.token or os.environ.get(TOKEN_ENV) or DEFAULT_TOKEN
    if args.rate_limit is not None and args.rate_limit <= 0:
        print("cellcast-emulator: --rate-limit must be positive", file=sys.stderr)
        return 2

    import uvicorn

    from airflow_provider_cellcast.emulator.app import create_app
    from airflow_provider_cellcast.emulator.middleware import quiet_drop_faults
    from airflow_provider_cellcast.emulator.network import bind_socket, url_for

    try:
        app = create_app(**_config_of(args, token))
    except ValueError as error:
        print(f"cellcast-emulator: {error}", file=sys.stderr)
        return 2
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as error:
        print(f"cellcast-emulator: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    config = uvicorn.Config(
        app,
        log_config=_logging_config(args.log_level),
        log_level=args.log_level,
        access_log=not args.no_access_log,
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    quiet_drop_faults()

    def request_exit(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    # uvicorn handles the signals while it serves and re-raises them when done; these handlers
    # catch them before and after, so a signal always means a clean exit with status 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_exit)
    if token == DEFAULT_TOKEN and not (args.token or os.environ.get(TOKEN_ENV)):
        print(f"cellcast-emulator: no token given (--token or ${TOKEN_ENV}): using the default", file=sys.stderr)
    print(f"Cellcast emulator listening on {url_for(args.host, int(sock.getsockname()[1]))}", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
