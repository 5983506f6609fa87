"""Which sample contacts the demo reads back. The figures themselves are read from the store by
:mod:`sla_sync.pipeline.figures` (shared with the weekly report and the period close)."""

from __future__ import annotations

from collections.abc import Sequence

from sla_sync.connectors.base import SlaStatus
from sla_sync.pipeline.figures import AgreementFigures

#: The situations worth showing on sample contacts, in display order.
SAMPLE_ORDER = (
    SlaStatus.AT_RISK,
    SlaStatus.BREACHED,
    SlaStatus.ON_TRACK,
    SlaStatus.MET,
    SlaStatus.PAUSED,
)


def sample_leads(figures: Sequence[AgreementFigures], *, per_status: int = 2) -> list[str]:
    """A few leads showing each status a rep meets (:data:`SAMPLE_ORDER`), those whose current
    cycle started last first; at most ``per_status`` of each. Deterministic for a store."""
    chosen: list[str] = []
    for status in SAMPLE_ORDER:
        matching = [s for f in figures for s in f.statuses if s.status is status]
        matching.sort(key=lambda s: (s.cycle.started_at, s.lead_id), reverse=True)
        chosen.extend(s.lead_id for s in matching[:per_status])
    return chosen
