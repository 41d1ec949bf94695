"""Fill the demo shop: a small catalogue and an ``admin`` / ``admin`` superuser.

Safe to run again: products are looked up by slug and left alone when they exist (so
edits made in the admin survive), and the superuser is only created when missing.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.text import slugify

from sample_shop.shop.models import Product

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"

PRODUCTS = [
    ("Pour-over dripper", "Hand-glazed ceramic cone for two cups.", "24.00", "KIT-DRIP"),
    ("Gooseneck kettle", "0.8 l stainless steel kettle with a thermometer.", "49.00", "KIT-KETL"),
    ("Hand grinder", "Conical burrs, 30 g hopper, stepless setting.", "69.00", "KIT-GRND"),
    ("Ethiopia Guji, 250 g", "Washed heirloom beans: bergamot, peach, jasmine.", "14.50", "BN-ETH"),
    ("Colombia Huila, 250 g", "Red apple, panela and milk chocolate.", "12.90", "BN-COL"),
    ("Paper filters (100)", "Unbleached filters sized for the dripper.", "6.50", "ACC-FILT"),
    ("Stoneware mug", "300 ml, speckled glaze, dishwasher safe.", "18.00", "ACC-MUG"),
    ("Digital scale", "0.1 g resolution with a built-in timer.", "32.00", "ACC-SCAL"),
]


class Command(BaseCommand):
    help = "Create the demo products and an admin/admin superuser (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        created = 0
        for name, description, price, sku in PRODUCTS:
            _, was_created = Product.objects.get_or_create(
                slug=slugify(name),
                defaults={
                    "name": name,
                    "description": description,
                    "price": Decimal(price),
                    "sku": sku,
                },
            )
            created += was_created
        self.stdout.write(f"Products: {created} created, {len(PRODUCTS) - created} already there.")
        self._ensure_admin()

    def _ensure_admin(self):
        if not settings.DEBUG:
            # A well-known password has no place outside a local demo.
            self.stdout.write(
                self.style.WARNING("DEBUG is off: no admin/admin user created. ")
                + "Use `manage.py createsuperuser`."
            )
            return
        User = get_user_model()
        if User.objects.filter(username=ADMIN_USERNAME).exists():
            note = " (unless it was changed since)"
        else:
            User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
            note = ""
        self.stdout.write(
            self.style.SUCCESS(f"Admin login: /admin/ as {ADMIN_USERNAME} / {ADMIN_PASSWORD}{note}")
        )
