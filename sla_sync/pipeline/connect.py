"""Building a connector from a connection of the definition file, with its secrets.

Credentials are read with :func:`sla_sync.settings.read_secret` (``NAME``, ``NAME_FILE`` or
``$CREDENTIALS_DIRECTORY/NAME``). The HubSpot token is handed to the connector as a callable that
re-reads it, so a token rotated on disk is picked up when the CRM answers 401; the first read
happens here, so a missing secret fails before any call with a message naming the variable.

The daily quota: ``spent_today_before`` is what this connection's earlier runs of the current
day spent (:func:`quota_spent_today`), so the connector's budget of ``daily_quota_share`` spans
the day, not each run. The day is the UTC day: HubSpot resets its daily counter at midnight of
the portal's time zone, which the API does not tell; between the two midnights the CRM's own
counter (read from its rate-limit headers by the connector) still stops a run in time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time

from sqlalchemy import Engine

from sla_sync.connectors.base import CrmConnector
from sla_sync.definitions import (
    HubSpotConnection,
    SalesforceConnection,
    SlaSyncConfig,
)
from sla_sync.settings import read_secret
from sla_sync.store import repositories as repo
from sla_sync.store.engine import session_factory


class UnsupportedConnectionError(RuntimeError):
    """The connection's CRM has no connector yet."""


def open_connector(
    spec: HubSpotConnection | SalesforceConnection,
    *,
    environ: Mapping[str, str] | None = None,
    rate_limits: bool = True,
    spent_today_before: int = 0,
    lead_fields: Mapping[str, str] | None = None,
    history_fields: tuple[str, ...] = (),
) -> CrmConnector:
    """An open connector for ``spec`` (the caller closes it).

    ``lead_fields``: agreement field name -> CRM property (see
    :meth:`~sla_sync.definitions.SlaSyncConfig.lead_fields`; default: the connection's own
    ``fields:`` mapping). ``rate_limits=False`` is for the sandbox with its limits switched off.

    Raises:
        sla_sync.settings.MissingSecretError: a credential variable is not set.
        UnsupportedConnectionError: a Salesforce connection (not supported yet).
    """
    if isinstance(spec, SalesforceConnection):
        raise UnsupportedConnectionError(
            f"connection {spec.name}: Salesforce is not yet supported by sla-sync sync "
            "(HubSpot connections are)"
        )
    from sla_sync.connectors.hubspot.connector import HubSpotConnector
    from sla_sync.connectors.hubspot.pull import PullSettings

    variable = spec.token_env

    def token_source() -> str:
        return read_secret(variable, environ)

    token_source()  # fail now, naming the variable, rather than at the first call
    fields = dict(lead_fields) if lead_fields is not None else spec.field_map(())
    return HubSpotConnector(
        token_source=token_source,
        base_url=spec.base_url,
        ca_bundle=spec.ca_bundle,
        api_tier=spec.api_tier,
        api_limit_increase=spec.api_limit_increase,
        daily_quota_share=spec.daily_quota_share,
        spent_today_before=spent_today_before,
        rate_limits=rate_limits,
        pull_settings=PullSettings(lead_fields=fields, history_fields=history_fields),
        connection=spec.name,
    )


def quota_spent_today(engine: Engine, connection_name: str, *, now: datetime) -> int:
    """API calls this connection's runs recorded since midnight UTC of ``now``'s day."""
    midnight = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    with session_factory(engine)() as session:
        ids = repo.connection_ids(session)
        if connection_name not in ids:
            return 0
        return repo.api_calls_since(session, ids[connection_name], midnight)


def connector_for(
    engine: Engine,
    config: SlaSyncConfig,
    connection_name: str,
    *,
    now: datetime,
    environ: Mapping[str, str] | None = None,
    rate_limits: bool = True,
) -> CrmConnector:
    """:func:`open_connector` for a connection of ``config``, with the lead fields its
    agreements read and the quota its earlier runs spent today."""
    return open_connector(
        config.connection(connection_name),
        environ=environ,
        rate_limits=rate_limits,
        spent_today_before=quota_spent_today(engine, connection_name, now=now),
        lead_fields=config.lead_fields(connection_name),
        history_fields=config.history_fields(connection_name),
    )
