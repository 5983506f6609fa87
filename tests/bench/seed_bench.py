"""Seeding benchmark: time and peak RSS to generate 100,000 and 1,000,000 leads.

Run: ``python tests/bench/seed_bench.py [--sizes 100000,1000000] [--jsonl]``. Each size runs in a
fresh child process so its peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its own;
the child generates and discards every record, or with ``--jsonl`` also serialises it to JSON
Lines written to ``/dev/null``. A zero-lead run gives the baseline (interpreter + imports), so
the growth column shows what the generator itself holds.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def child(size: int, jsonl: bool) -> None:
    """Generate ``size`` leads, print ``{"seconds", "records", "peak_rss_mb"}`` as JSON."""
    from sla_sync.sandbox.seed import SeedSpec, iter_jsonl, iter_seed

    spec = SeedSpec(leads=size)
    started = time.perf_counter()
    records = 0
    if jsonl:
        with open("/dev/null", "w", encoding="utf-8") as sink:
            for line in iter_jsonl(spec):
                sink.write(line)
                records += 1
    else:
        for _ in iter_seed(spec):
            records += 1
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"seconds": seconds, "records": records, "peak_rss_mb": peak_kb / 1024}))


def run(size: int, jsonl: bool) -> dict[str, float]:
    args = [sys.executable, __file__, "--child", str(size)] + (["--jsonl"] if jsonl else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--jsonl", action="store_true", help="also serialise to /dev/null")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.jsonl)
        return
    base = run(0, args.jsonl)["peak_rss_mb"]
    mode = "generate + JSON Lines to /dev/null" if args.jsonl else "generate and discard"
    print(f"seed benchmark ({mode}); baseline peak RSS {base:.1f} MB")
    print(
        f"{'leads':>10} {'records':>11} {'seconds':>9} {'leads/s':>9} {'peak MB':>9} {'growth':>8}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        r = run(size, args.jsonl)
        rate = size / r["seconds"] if r["seconds"] else 0.0
        print(
            f"{size:>10,} {int(r['records']):>11,} {r['seconds']:>9.1f} {rate:>9,.0f}"
            f" {r['peak_rss_mb']:>9.1f} {r['peak_rss_mb'] - base:>8.1f}"
        )


if __name__ == "__main__":
    main()
