"""The unattended worker (``sla-sync run``): scheduler, jobs, health, metrics and their HTTP
endpoints.

Modules: ``worker`` (wires everything; :func:`~sla_sync.runtime.worker.run_worker`), ``runner``
(the :class:`~sla_sync.runtime.runner.JobRunner` interface and its APScheduler 3.11
implementation), ``scheduler`` (which jobs run when: triggers and catch-up), ``jobs`` (the job
functions: module-level, primitive arguments), ``context`` (what jobs share), ``lock`` (one
worker per store), ``signals`` (graceful stop), ``logging`` (structured logs, secrets masked),
``ledger`` (``sla-sync runs``), ``health``, ``metrics`` and ``http`` (``/healthz``, ``/readyz``,
``/metrics``).
"""
