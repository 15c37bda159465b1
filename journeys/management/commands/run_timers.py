"""The `timers` process: pops due wait timers from Redis and queues engine batches; reconciles
Redis with PostgreSQL (Enrollment.wake_at is the truth)."""

import signal

from django.core.management.base import BaseCommand

from journeys.timers import POLL_SECONDS, TimerProcess


class Command(BaseCommand):
    help = "Run the wait-timer pump and reconciler (one per deployment is enough; more are safe)."

    def add_arguments(self, parser):
        parser.add_argument("--poll", type=float, default=POLL_SECONDS, help="seconds between pump passes")
        parser.add_argument("--reconcile", type=float, default=10.0, help="seconds between reconciler passes")

    def handle(self, *args, poll: float, reconcile: float, **options):
        process = TimerProcess(poll_seconds=poll, reconcile_seconds=reconcile)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: process.stop())
        self.stdout.write(f"timers: polling every {poll * 1000:.0f} ms, reconciling every {reconcile:.0f} s")
        process.run()
