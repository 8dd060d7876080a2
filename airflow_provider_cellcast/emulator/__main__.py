"""``python -m airflow_provider_cellcast.emulator``: the same as the ``cellcast-emulator`` command."""

from __future__ import annotations

import sys

from airflow_provider_cellcast.emulator.cli import main

sys.exit(main())
