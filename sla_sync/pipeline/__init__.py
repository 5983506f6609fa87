"""One sync cycle per CRM connection, step by step (architecture, section 3).

* :mod:`.pull` — store each pulled page with its cursor, queue the leads it changed;
* :mod:`.evaluate` — recompute queued and due leads' cycles, then the open periods' figures;
* :mod:`.fields` — the SLA field values a lead should carry (pure);
* :mod:`.push` — send the differences from what the CRM confirmed, keep per-record errors;
* :mod:`.cycle` — :func:`~.cycle.run_cycle`, the three steps recorded in the run ledger;
* :mod:`.connect` — a connector from a connection of the definition file, with its secrets;
* :mod:`.sync` — what ``sla-sync sync`` and ``sla-sync crm init`` run.
"""
