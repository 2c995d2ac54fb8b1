"""``make bench``: every system on the same work, in one run, on the local PostgreSQL.

    python -m bench              # the full run (about 10-15 minutes on 2 cores)
    python -m bench --quick      # a smaller run, for a first look
    python -m bench --only drain,latency --systems ours,raw

Prints one table, writes bench/results/results.json, results.md and results.png.
"""

from __future__ import annotations

import argparse
import os
import sys

from bench.common import DEFAULT_URL
from bench.run import SCENARIOS, SYSTEMS, run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs, shorter runs")
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help=f"scenarios, of: {','.join(SCENARIOS)}"
    )
    parser.add_argument(
        "--systems", default=",".join(SYSTEMS), help=f"systems, of: {','.join(SYSTEMS)}"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
        help="a PostgreSQL database the benchmark may drop and create, with siblings "
        "<name>_dtdb, <name>_procrastinate and <name>_raw (env BENCH_DATABASE_URL)",
    )
    parser.add_argument("--out", default=None, help="results directory (default bench/results)")
    args = parser.parse_args()
    scenarios = [name.strip() for name in args.only.split(",") if name.strip()]
    systems = [name.strip() for name in args.systems.split(",") if name.strip()]
    unknown = set(scenarios) - set(SCENARIOS) | set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    sys.exit(
        run(only=scenarios, systems=systems, quick=args.quick, url=args.database_url, out=args.out)
    )


if __name__ == "__main__":
    main()
