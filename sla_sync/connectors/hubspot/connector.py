"""``HubSpotConnector``: the :class:`~sla_sync.connectors.base.CrmConnector` of a HubSpot portal.

Built from primitives (the pipeline resolves the connection definition and the secret), so the
connector layer never imports :mod:`sla_sync.definitions`. Pull streams live in
:mod:`sla_sync.connectors.hubspot.pull` (loaded on first use); push, read-back and schema in
:mod:`.push` and :mod:`.schema`; every HTTP call goes through one :class:`HubSpotClient`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

from sla_sync.connectors.base import (
    ApiUsage,
    Capabilities,
    FieldUpdate,
    PullPage,
    PullRequest,
    PushResult,
    SchemaChange,
    SlaField,
    TaskRequest,
    TaskResult,
)
from sla_sync.connectors.hubspot.client import DEFAULT_TIMEOUT, HubSpotClient
from sla_sync.connectors.hubspot.push import MAX_BATCH, push_fields, read_fields
from sla_sync.connectors.hubspot.schema import ensure_schema
from sla_sync.connectors.hubspot.tasks import create_task, find_tasks
from sla_sync.domain import CrmKind

PULL_MODULE = "sla_sync.connectors.hubspot.pull"

CAPABILITIES = Capabilities(
    crm=CrmKind.HUBSPOT,
    lifecycle_history=True,
    association_changes_bump_modified=False,
    reports_merges=True,
    reports_deletions=True,
    max_batch_write=MAX_BATCH,
    creates_tasks=True,
)


class HubSpotConnector:
    """One HubSpot portal as the pipeline sees it; not thread-safe (one cycle, one connector).

    ``token_source`` returns the private-app token (re-read after a 401). ``base_url``: the API
    root (default ``https://api.hubapi.com``; the sandbox's URL in tests and the demo).
    ``ca_bundle``: extra trusted CAs (TLS verification cannot be switched off). ``api_tier``
    (free | starter | professional | enterprise) and ``api_limit_increase`` set the rate limits
    and the documented daily quota; ``daily_quota_share`` (0..1) of that quota may be spent
    today, ``spent_today_before`` of it already was (earlier runs). ``rate_limits=False``
    switches the client-side limiter off (benchmarks). ``pull_settings``: a
    ``pull.PullSettings`` (its defaults when None). ``timeout``: seconds per HTTP call.
    ``retry`` options (``max_attempts``, ``backoff_base``, ``backoff_cap``, ``max_wait``) go to
    the client.
    """

    def __init__(
        self,
        *,
        token_source: Callable[[], str],
        base_url: str | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        api_tier: str = "professional",
        api_limit_increase: bool = False,
        daily_quota_share: float = 0.5,
        spent_today_before: int = 0,
        rate_limits: bool = True,
        pull_settings: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
        connection: str = "hubspot",
        **retry: float,
    ) -> None:
        unknown = set(retry) - {"max_attempts", "backoff_base", "backoff_cap", "max_wait"}
        if unknown:
            raise TypeError(f"unknown HubSpotConnector options: {', '.join(sorted(unknown))}")
        options: dict[str, Any] = dict(retry)
        if "max_attempts" in options:
            options["max_attempts"] = int(options["max_attempts"])
        self.client = HubSpotClient(
            token_source=token_source,
            base_url=base_url,
            ca_bundle=ca_bundle,
            timeout=timeout,
            connection=connection,
            api_tier=api_tier,
            api_limit_increase=api_limit_increase,
            rate_limits=rate_limits,
            daily_quota_share=daily_quota_share,
            spent_today_before=spent_today_before,
            **options,
        )
        self._pull_settings = pull_settings

    @property
    def capabilities(self) -> Capabilities:
        """What HubSpot supports (see :data:`CAPABILITIES`)."""
        return CAPABILITIES

    @staticmethod
    def _pull_module() -> Any:
        # Loaded lazily: the pull streams are built alongside this class.
        return importlib.import_module(PULL_MODULE)

    def streams(self) -> tuple[str, ...]:
        """The pull streams in reading order (``pull.STREAMS``)."""
        return tuple(self._pull_module().STREAMS)

    def pull(self, request: PullRequest) -> Iterator[PullPage]:
        """Pages of ``request.stream`` (``pull.pull_stream``)."""
        module = self._pull_module()
        settings = self._pull_settings if self._pull_settings is not None else module.PullSettings()
        return cast(Iterator[PullPage], module.pull_stream(self.client, request, settings))

    def push_fields(self, updates: Sequence[FieldUpdate]) -> list[PushResult]:
        """Batch updates of at most 100 contacts, one result per update (see ``push``)."""
        return push_fields(self.client, updates)

    def read_fields(self, lead_ids: Sequence[str]) -> dict[str, dict[SlaField, str | None]]:
        """The SLA fields HubSpot holds now, canonical (:func:`.push.read_fields`)."""
        return read_fields(self.client, lead_ids)

    def ensure_schema(self, *, dry_run: bool = False) -> list[SchemaChange]:
        """The SLA property group and properties on contacts (:func:`.schema.ensure_schema`)."""
        return ensure_schema(self.client, dry_run=dry_run)

    def create_task(self, request: TaskRequest) -> TaskResult:
        """One alert task on the contact, never sent twice (:func:`.tasks.create_task`)."""
        return create_task(self.client, request)

    def find_tasks(self, markers: Sequence[str]) -> dict[str, str]:
        """Tasks carrying ``markers`` (:func:`.tasks.find_tasks`)."""
        return find_tasks(self.client, markers)

    def usage(self) -> ApiUsage:
        """API calls made so far (:meth:`HubSpotClient.usage`)."""
        return self.client.usage()

    def close(self) -> None:
        """Release connections."""
        self.client.close()
