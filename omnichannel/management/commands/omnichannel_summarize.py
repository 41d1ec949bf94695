"""Build the marketing home's daily message rollup of past days (``flows.results_rollup``).

Run once after upgrading (``--days 366`` covers the longest period the page shows), and
for any range whose figures changed later than the hourly task looks back (``--start`` /
``--end``). The days are those of the current time zone, the shop's ``TIME_ZONE``.
"""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ...flows.results_rollup import ROLLUP_DAYS, rebuild_message_days


class Command(BaseCommand):
    help = "Rebuild the daily message figures of the marketing home for past days."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=ROLLUP_DAYS,
            help=f"The days before today to rebuild ({ROLLUP_DAYS}).",
        )
        parser.add_argument("--start", type=date.fromisoformat, help="First day, YYYY-MM-DD.")
        parser.add_argument("--end", type=date.fromisoformat, help="Last day, YYYY-MM-DD.")

    def handle(self, *args, days=ROLLUP_DAYS, start=None, end=None, **options):
        yesterday = timezone.localdate() - timedelta(days=1)
        end = end or yesterday
        start = start or end - timedelta(days=max(days, 1) - 1)
        if start > end:
            raise CommandError("--start is after --end.")
        # A month at a time: each rebuild is one transaction, kept short.
        first = start
        rows = 0
        while first <= end:
            last = min(first + timedelta(days=30), end)
            rows += rebuild_message_days(first, last)
            first = last + timedelta(days=1)
        self.stdout.write(self.style.SUCCESS(f"Summarized {start} to {end}: {rows} rows."))
