"""Tuning of the HubSpot pull (re-exported as :class:`.pull.PullSettings`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from sla_sync.connectors.hubspot.mapping import AutomationRules, ContactSettings

# Agreement field name -> HubSpot contact property (the names config/*.yaml conditions use).
DEFAULT_LEAD_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "lead_score": "hubspotscore",
        "lead_source": "hs_analytics_source",
        "country": "country",
        "phone": "phone",
        "employees": "numemployees",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PullSettings:
    """How the HubSpot streams read.

    ``lead_fields``: agreement field name -> contact property; :attr:`Lead.fields` carries
    their non-empty values under the agreement names. ``history_fields``: agreement field names
    (keys of ``lead_fields``) whose history is pulled as :class:`FieldChange` values (score
    re-tiering). ``stages``: lifecycle stage ids whose entry dates back up missing history;
    ``None`` reads them from the portal (the ``lifecyclestage`` options, one call per run that
    has contact changes).

    Windows: each search stream reads ``[cursor - lookback, run start - safety_lag]``. The
    lookback covers search's indexing delay plus the millisecond-boundary fuzz; ``lookback +
    safety_lag`` must exceed the longest delay between a write and its appearance in search.

    ``association_batch``: engagements per v4 associations read (max 1,000): a page of an
    engagement stream holds this many engagements (several searches, one associations call).
    ``association_recheck`` / ``association_recheck_every``: the ``associations`` stream
    re-reads the links of engagements created within the first, at most once per the second
    (re-association does not bump an engagement's modification date).
    ``archived_every``: how often the ``archived`` stream lists the recycle bin.
    ``backdated_after``: activities logged this long after they happened are logged as
    back-dated (kept as they are: the engine decides what they count for).
    """

    lead_fields: Mapping[str, str] = field(default_factory=lambda: DEFAULT_LEAD_FIELDS)
    history_fields: tuple[str, ...] = ()
    stages: tuple[str, ...] | None = None
    lookback: timedelta = timedelta(minutes=5)
    safety_lag: timedelta = timedelta(seconds=30)
    page_size: int = 200
    association_batch: int = 1000
    association_recheck: timedelta = timedelta(days=3)
    association_recheck_every: timedelta = timedelta(hours=1)
    archived_every: timedelta = timedelta(minutes=15)
    backdated_after: timedelta = timedelta(hours=1)
    automation: AutomationRules = field(default_factory=AutomationRules)

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= 200:
            raise ValueError("page_size must be 1..200 (HubSpot search's maximum)")
        if not 1 <= self.association_batch <= 1000:
            raise ValueError("association_batch must be 1..1000 (the v4 batch read's maximum)")
        unknown = [n for n in self.history_fields if n not in self.lead_fields]
        if unknown:
            raise ValueError(f"history_fields not in lead_fields: {unknown}")

    def contact_settings(self, stages: tuple[str, ...]) -> ContactSettings:
        """The contact mapping's view of these settings."""
        return ContactSettings(
            lead_fields=self.lead_fields, history_fields=self.history_fields, stages=stages
        )
