"""CRM connectors: the only code that talks to a CRM's API (see :mod:`sla_sync.connectors.base`)."""
