"""`manage.py webhooks_dispatch`: the webhooks worker (see webhooks/dispatch.py)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from superpayment.metrics import worker_metrics_serve
from webhooks.dispatch import POLL_SECONDS, Dispatcher


class Command(BaseCommand):
    help = (
        "Deliver webhooks: wait for due deliveries (LISTEN webhooks_due, and a poll every "
        f"{POLL_SECONDS:.0f} s), claim them with SKIP LOCKED and attempt them in threads. "
        "Run one or more; SIGTERM lets running attempts finish."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--threads",
            type=int,
            default=settings.WEBHOOKS_DISPATCH_THREADS,
            help="deliveries attempted at once (default: WEBHOOKS_DISPATCH_THREADS)",
        )

    def handle(self, *args, threads: int, **options) -> None:
        if threads < 1:
            raise CommandError("--threads must be at least 1")
        port = os.environ.get("METRICS_PORT", "").strip()
        if port:
            worker_metrics_serve(int(port))  # delivery outcomes are counted in this process
        Dispatcher(threads=threads).run()
