"""The Salesforce emulator: what ``simple-salesforce`` 1.12 sees of an org, served over HTTPS.

Modules: ``ids`` (15/18-char ids), ``schema`` (objects, fields, describe), ``values`` (wire
formats), ``state`` (records, history, assignment), ``soql`` (pure parser/evaluator), ``query``
(running SOQL, locators), ``auth`` (logins, sessions), ``limits`` (daily budget), ``bulk``
(Bulk 2.0 query jobs), ``seeding`` (neutral seed records), ``routes_*`` (HTTP), ``emulator``
(``SalesforceEmulator``, ``create_app``).
"""

from __future__ import annotations

from sla_sync.sandbox.salesforce.emulator import SalesforceEmulator, create_app

__all__ = ["SalesforceEmulator", "create_app"]
