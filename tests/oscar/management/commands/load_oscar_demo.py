"""Demo data for the Oscar test shop: a site, a shipping country, a few products, an admin,
and omnichannel's two default flows, active, with a day shortened to a minute."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.sites.models import Site
from django.core.management import BaseCommand, call_command

PRODUCTS = [("Stoneware mug", "12.50"), ("Linen tea towel", "9.00"), ("Oak tray", "34.00")]


class Command(BaseCommand):
    help = "Load the Oscar demo: products, an admin (admin / admin) and the default flows."

    def add_arguments(self, parser):
        parser.add_argument("--domain", default="127.0.0.1:8000")

    def handle(self, *args, domain, **options):
        from oscar.apps.address.models import Country
        from oscar.apps.catalogue.models import Product
        from oscar.test.factories import create_product

        Site.objects.update_or_create(pk=1, defaults={"domain": domain, "name": "Oscar demo"})
        country = {"iso_3166_1_a3": "GBR", "name": "United Kingdom", "is_shipping_country": True}
        Country.objects.get_or_create(iso_3166_1_a2="GB", defaults=country)
        for title, price in PRODUCTS:
            if not Product.objects.filter(title=title).exists():
                create_product(title=title, price=Decimal(price), num_in_stock=100)
        users = get_user_model().objects
        if not users.filter(username="admin").exists():
            users.create_superuser("admin", "admin@example.com", "admin")
        call_command("omnichannel_install_defaults", "--activate", "--fast", verbosity=0)
        call_command("omnichannel_schedule", verbosity=0)
        self.stdout.write("Oscar demo data loaded.")
