"""sla-sync: keeps the sales-and-marketing SLA honest inside HubSpot and Salesforce."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
