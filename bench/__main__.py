"""`make bench`: every benchmark, each printed as a ratio against an anchor measured in the same
run, with the absolute figures beside it. Results also go to .var/bench/results.json.

    python -m bench                 # all
    python -m bench provisioning    # only those named
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path

import django

BENCHMARKS = ["provisioning", "tenancy", "vouchers", "billing", "webhooks", "checkout"]


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superpayment.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("setup_platform", verbosity=0)
    chosen = argv or BENCHMARKS
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    results = {}
    for name in chosen:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n== {name}: {module.__doc__.strip().splitlines()[0]}", flush=True)
        started = time.perf_counter()
        figures = module.run()
        for line in figures.pop("lines"):
            print(f"   {line}")
        print(f"   ({time.perf_counter() - started:.1f} s)")
        results[name] = figures
    out = Path(settings.VAR_DIR) / "bench" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
