"""``python -m sla_sync`` runs the command line."""

from __future__ import annotations

from sla_sync.cli import main

main()
