"""Run one sync cycle in a separate process (the kill -9 test kills it mid-push).

Usage: ``python tests/pipeline/cycle_child.py <store url> <hubspot url> <as_of iso>``; the token
comes from the environment variable the test configuration names.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sla_sync.store.engine import create_engine
from tests.pipeline.support import load_test_config, sync


def main() -> None:
    store_url, hubspot_url, as_of = sys.argv[1:4]
    engine = create_engine(store_url)
    config = load_test_config(hubspot_url)
    report = sync(engine, config, dict(os.environ), now=datetime.fromisoformat(as_of))
    print(report.outcome.value, report.error, report.push.sent, flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
