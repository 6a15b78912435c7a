"""Provisioning a merchant: cloning the template schema vs running every migration.

Both paths go through the same model save; only TENANT_CREATION_FAKES_MIGRATIONS differs.
Figures: median seconds per merchant for each path and their ratio (migrate / clone).
"""

from __future__ import annotations

import statistics
import time

from django.test import override_settings

from bench.merchants import bench_merchant_drop
from tenants.services import provision_merchant

ROUNDS = 7


def _time_provision(slug: str, clone: bool) -> float:
    bench_merchant_drop(slug)
    details = {"slug": slug, "name": f"Bench {slug}", "country": "DE", "default_currency": "EUR"}
    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=clone):
        started = time.perf_counter()
        provision_merchant(**details)
        elapsed = time.perf_counter() - started
    bench_merchant_drop(slug)
    return elapsed


def run() -> dict:
    clone, migrate = [], []
    for round_number in range(ROUNDS):
        # Interleaved so that both paths see the same cache and checkpoint conditions.
        clone.append(_time_provision(f"bench-clone-{round_number}", clone=True))
        migrate.append(_time_provision(f"bench-migrate-{round_number}", clone=False))
    clone_median, migrate_median = statistics.median(clone), statistics.median(migrate)
    ratio = migrate_median / clone_median
    return {
        "clone_median_s": round(clone_median, 4),
        "migrate_median_s": round(migrate_median, 4),
        "migrate_over_clone": round(ratio, 2),
        "rounds": ROUNDS,
        "lines": [
            f"clone template schema  median {clone_median * 1000:8.1f} ms  ({ROUNDS} merchants)",
            f"run all migrations     median {migrate_median * 1000:8.1f} ms  ({ROUNDS} merchants)",
            f"ratio migrate / clone  {ratio:.2f}x  (clone is {ratio:.2f} times faster)",
        ],
    }
