"""``sla-sync demo``: one whole worker cycle against a seeded sandbox portal, shown from both sides.

:func:`~sla_sync.demo.run.run_demo` starts the sandbox CRMs in-process, seeds a HubSpot portal,
migrates a SQLite store under the demo's data directory, creates the SLA properties (``crm init``)
and runs one full cycle through :func:`sla_sync.pipeline.cycle.run_cycle`, the function the
worker runs: the demo has no code path of its own between the CRM and the store. It then prints
what marketing and sales would see (read from the store), the SLA properties of a few contacts as
read back through the HubSpot API, and the run summary.

Modules: ``run`` (orchestration), ``figures`` (store reads), ``result`` (options and results),
``view`` (rich rendering).
"""

from __future__ import annotations

from sla_sync.demo.result import DEFAULT_DATA_DIR, DEFAULT_LEADS, DemoOptions
from sla_sync.demo.run import DemoError, run_demo
from sla_sync.demo.view import make_console

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_LEADS",
    "DemoError",
    "DemoOptions",
    "make_console",
    "run_demo",
]
