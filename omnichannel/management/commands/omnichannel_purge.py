"""Delete history older than ``RETENTION_DAYS`` now (the daily task does the same).

``--dry-run`` prints what would be deleted and deletes nothing.
"""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from ...contacts.privacy.retention import purge_old_data, retention_days


class Command(BaseCommand):
    help = "Delete history older than the RETENTION_DAYS setting (--dry-run: only count)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        try:
            days = retention_days()
            report = purge_old_data(dry_run=dry_run)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        verb = "would be deleted" if dry_run else "deleted"
        for key, count in report.items():
            if count is None:
                self.stdout.write(f"{key}: kept (no retention set)")
            else:
                self.stdout.write(f"{key} older than {days[key]} days: {count} {verb}")
