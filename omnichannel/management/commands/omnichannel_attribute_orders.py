"""Credit the orders recorded before the one attribution model (``carts.attribution``).

Run once after upgrading, so the reports keep the figures of past orders; again with
``--all`` after changing the ``ATTRIBUTION`` setting, to credit past orders by the new
windows. New orders are credited as they become purchases, without it.
"""

from django.core.management.base import BaseCommand

from ...carts.attribution import attribute_existing


class Command(BaseCommand):
    help = "Credit past purchases to a flow message and a popup by the ATTRIBUTION setting."

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            action="store_true",
            dest="everything",
            help="Credit every purchase again, not only those without a credit.",
        )
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Orders per transaction (1000)."
        )

    def handle(self, *args, everything=False, batch_size=1000, **options):
        count = attribute_existing(everything=everything, batch_size=max(batch_size, 1))
        self.stdout.write(self.style.SUCCESS(f"Looked at {count} purchases."))
