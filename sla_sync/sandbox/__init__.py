"""The sandbox: faithful local stand-ins for HubSpot and Salesforce as their real clients see them.

The sandbox is product, not test scaffolding: the demo, the tests and the benchmarks stand on it.
It shares no code with the connectors (import-linter forbids it), so a misunderstanding of the
vendor contract cannot hide itself by being made twice.

Modules: ``clock`` (a settable clock both emulators share), ``faults`` (injected failures),
``requestlog`` (request log and per-endpoint counters), ``app`` (the Starlette application shell
with the ``/__sandbox/`` control API every emulator gets), ``tls`` (throw-away CA for HTTPS),
``server`` (uvicorn in a thread or in the foreground), ``hubspot/`` and ``salesforce/`` (the
emulators), ``seed`` (the deterministic data generator).
"""
