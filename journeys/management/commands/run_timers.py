"""The `timers` process: pops due wait timers from Redis and queues engine batches; reconciles
Redis with PostgreSQL (Enrollment.wake_at is the truth)."""

import signal

from django.core.management.base import BaseCommand, CommandError

from journeys.timers import POLL_SECONDS, TimerProcess, shard_count


class Command(BaseCommand):
    help = "Run the wait-timer pump and reconciler (one per deployment is enough; more are safe)."

    def add_arguments(self, parser):
        parser.add_argument("--poll", type=float, default=POLL_SECONDS, help="seconds between pump passes")
        parser.add_argument("--reconcile", type=float, default=10.0, help="seconds between reconciler passes")
        parser.add_argument("--shard", type=int, action="append", dest="shards",
                            help="pump only this timer shard (0 … TIMER_SHARDS-1); repeatable; default all")

    def handle(self, *args, poll: float, reconcile: float, shards: list[int] | None, **options):
        if shards and not all(0 <= shard < shard_count() for shard in shards):
            raise CommandError(f"--shard must be between 0 and {shard_count() - 1} (TIMER_SHARDS={shard_count()})")
        process = TimerProcess(poll_seconds=poll, reconcile_seconds=reconcile, shards=shards)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: process.stop())
        scope = f"shards {shards}" if shards else f"all {shard_count()} shards"
        self.stdout.write(f"timers ({scope}): polling every {poll * 1000:.0f} ms, reconciling every {reconcile:.0f} s")
        process.run()
