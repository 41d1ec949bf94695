"""Fill the demo shop: a small catalogue, a welcome popup, the shipped flows (welcome,
cart recovery, after the purchase), the periodic tasks and an ``admin`` / ``admin``
superuser.

Safe to run again: products, the popup and the flows are looked up by slug and left alone
when they exist (so edits made in the admin survive), periodic tasks by name, and the
superuser is only created when missing.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.text import slugify

from omnichannel.flows.defaults import install_defaults
from omnichannel.models import Popup, PopupVariant
from omnichannel.models.popups import Gift, PopupStatus
from omnichannel.schedule import install_periodic_tasks
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
    help = (
        "Create the demo products, popup, welcome series, periodic tasks and an admin/admin "
        "superuser (idempotent)."
    )

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
        self._ensure_popup()
        self._ensure_flows()
        tasks = install_periodic_tasks()
        self.stdout.write(f"Periodic tasks: {len(tasks)} created.")
        self._ensure_admin()

    def _ensure_popup(self):
        """An active exit-intent popup: email, optional SMS, a 10 % welcome code."""
        popup, created = Popup.objects.get_or_create(
            slug="welcome",
            defaults={
                "name": "Welcome: 10 % off",
                "status": PopupStatus.ACTIVE,
                "collect_email": True,
                "collect_phone": True,
                "gift": Gift.PERCENT_CODE,
                "discount_value": Decimal("10"),
                "code_valid_days": 14,
                "code_prefix": "WELCOME",
            },
        )
        if created:
            PopupVariant.objects.create(
                popup=popup,
                name="A",
                headline="Before you go: 10 % off your first order",
                text="Join our coffee letter: brewing tips, new beans, and a welcome code.",
                button_label="Get my code",
                email_consent_text="Yes, email me news and offers. I can unsubscribe anytime.",
                sms_consent_text="Also text me offers (optional). Reply STOP to opt out.",
                success_headline="Welcome aboard!",
                success_text="Here is your code, valid for 14 days on your first order:",
            )
        state = "created" if created else "already there"
        self.stdout.write(f"Popup: {popup.name!r} {state}.")

    def _ensure_flows(self):
        """The shipped flows, active, so signing up, leaving a cart or ordering in the demo
        starts them."""
        fast = getattr(settings, "DEMO_FAST_FLOWS", False)
        for flow, created in install_defaults(activate=True, fast=fast):
            state = "created" if created else "already there"
            self.stdout.write(f"Flow: {flow.name!r} {state}, {flow.get_status_display()}.")

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
