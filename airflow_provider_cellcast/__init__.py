"""Apache Airflow provider for the Cellcast SMS/MMS gateway.

This module is imported by Airflow's provider manager and by every DAG file that uses one of our
operators, so it imports nothing beyond the standard library.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"

DEFAULT_BASE_URL = "https://api.cellcast.com"


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow's provider manager (entry point ``apache_airflow_provider``)."""
    return {
        "package-name": "airflow-provider-cellcast",
        "name": "Cellcast",
        "description": "Send, schedule, watch and cancel SMS/MMS campaigns, wait for replies and start DAGs from "
        "inbound SMS through the Cellcast gateway.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Cellcast",
                "external-doc-url": "https://developer.cellcast.com/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Cellcast",
                "python-modules": ["airflow_provider_cellcast.hooks.cellcast"],
            }
        ],
        "operators": [
            {
                "integration-name": "Cellcast",
                "python-modules": [
                    "airflow_provider_cellcast.operators.cancel_campaign",
                    "airflow_provider_cellcast.operators.send_mms",
                    "airflow_provider_cellcast.operators.send_sms",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Cellcast",
                "python-modules": [
                    "airflow_provider_cellcast.sensors.message_status",
                    "airflow_provider_cellcast.sensors.reply",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "Cellcast",
                "python-modules": [
                    "airflow_provider_cellcast.triggers.inbound",
                    "airflow_provider_cellcast.triggers.message_status",
                    "airflow_provider_cellcast.triggers.reply",
                ],
            }
        ],
        "notifications": ["airflow_provider_cellcast.notifications.cellcast.CellcastNotifier"],
        "connection-types": [
            {
                "connection-type": "cellcast",
                "hook-class-name": "airflow_provider_cellcast.hooks.cellcast.CellcastHook",
                "hook-name": "Cellcast",
                # Extras are CellcastSettings fields, stored under their own names. No defaults
                # here: an empty field means the hook's default, so the form never pins one.
                "conn-fields": {
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "description": "The deadline of one attempt of a request: connecting, the headers and "
                        "the whole answer together. A request with retries ends within call_timeout (an extra; "
                        "by default twice this). Empty: 30.",
                        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0},
                    },
                    "max_attempts": {
                        "label": "Attempts per request",
                        "description": "Tries per request when Cellcast is briefly unavailable or rate-limits "
                        "(HTTP 429, 502-504, connection failures); 1 disables retrying. Empty: 5.",
                        "schema": {"type": ["integer", "null"], "minimum": 1},
                    },
                    "requests_per_second": {
                        "label": "Requests per second",
                        "description": "The account's rate limit: the requests of one task (all its workers) "
                        "pace 10 % below it; several tasks of one account pace together only with the shared "
                        "rate limit below, else Cellcast may answer 429 (which is retried). 0 disables pacing. "
                        "Empty: 10.",
                        "schema": {"type": ["number", "null"], "minimum": 0},
                    },
                    "max_concurrency": {
                        "label": "Parallel requests",
                        "description": "Requests in flight at once in bulk cancels and status rounds (1 to 64). "
                        "Empty: 8.",
                        "schema": {"type": ["integer", "null"], "minimum": 1, "maximum": 64},
                    },
                    "rate_limit_redis_conn_id": {
                        "label": "Shared rate limit: Redis connection",
                        "description": "ID of an Airflow Redis connection: every task, process and machine "
                        "using this Cellcast account then shares one pace and one 429 pause through it "
                        "(needs airflow-provider-cellcast[redis]). If Redis is unreachable the requests fail, "
                        'unless the extra "rate_limit_redis_fallback" is "local". Empty: each task paces alone.',
                        "schema": {"type": ["string", "null"]},
                    },
                    "allow_insecure_http": {
                        "label": "Allow plain HTTP",
                        "description": "Allow an http:// API base URL to a host other than localhost. The "
                        "token then travels unencrypted: only for trusted test servers.",
                        "schema": {"type": ["boolean", "null"], "default": False},
                    },
                },
                # The 3.3 UI always shows the "Extra Fields JSON" editor; it holds the rarer settings
                # (connect_timeout, backoff_seconds, verify, ...).
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login"],
                    "relabeling": {"host": "API base URL", "port": "API port", "password": "API token"},
                    "placeholders": {
                        "host": DEFAULT_BASE_URL,
                        # Airflow 3.3.1-3.3.2 refuse the Test button for a connection without a port
                        # (apache/airflow#73298): the port field stays visible for that reason.
                        "port": "Optional, e.g. 443. Airflow 3.3.1-3.3.2 need it for the Test button",
                        "password": "API token from the Cellcast dashboard (API settings)",
                    },
                },
            }
        ],
    }
