"""Broker-down benchmark: how long a counselor's export request takes when the broker is down.

    python bench/broker_down.py [--requests 10]

The request must still answer promptly (the export row stays queued and beat publishes it
later; tests/reports/test_worker.py checks that behaviour). This prints the median and
maximum time of the POST that asks for a PDF while nothing listens at the broker's address,
on a scratch SQLite database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.export_ready import _seed, post_export, signed_in_client  # noqa: E402
from bench.scratch import scratch_config  # noqa: E402

#: nothing listens on port 1: a broker that is down, not a mock
DOWN_BROKER = "redis://127.0.0.1:1/0"


def bench_broker_down(count: int) -> None:
    """Print the median and maximum time of an export request with the broker down."""
    from counselor import create_app

    app = create_app(scratch_config(CELERY_BROKER_URL=DOWN_BROKER))
    case_id, session_id = _seed(app)
    client = signed_in_client(app)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        status = post_export(client, case_id, session_id).status_code
        times.append(time.perf_counter() - start)
        if status != 302:
            raise SystemExit(f"the request failed with {status}")
    print(
        f"export request with the broker down: median {statistics.median(times) * 1000:.0f} ms "
        f"over {count} requests (min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms)"
    )


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10)
    bench_broker_down(parser.parse_args().requests)


if __name__ == "__main__":
    main()
