"""How omnichannel sees the sample shop: the one module that maps shop objects to its data.

Named in ``settings.OMNICHANNEL["SHOP_ADAPTER"]``. omnichannel calls these methods with
the shop's own objects (a ``Cart``, an ``Order``) and never imports the shop's models.
"""

import secrets
import string
from collections import Counter

from django.conf import settings
from django.urls import reverse

from omnichannel.integrations import CartLine, CartStatus, OrderData, Product, ShopAdapter

from . import models
from .cart import Cart

CODE_ALPHABET = string.ascii_uppercase + string.digits
CODE_RANDOM_LENGTH = 8
CODE_PREFIX_LENGTH = models.DiscountCode._meta.get_field("code").max_length - CODE_RANDOM_LENGTH

# omnichannel ignores changes to a cart in these states, so a restored cart in one of them
# must not carry the old key.
FINAL_CART_STATUSES = {CartStatus.CONVERTED, CartStatus.RECOVERED}


def _random_code(prefix):
    random_part = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_RANDOM_LENGTH))
    return prefix.upper()[:CODE_PREFIX_LENGTH] + random_part


def _clashing(codes):
    """The codes that already exist, or appear twice in ``codes``."""
    twice = {code for code, count in Counter(codes).items() if count > 1}
    return twice | set(
        models.DiscountCode.objects.filter(code__in=codes).values_list("code", flat=True)
    )


class SampleShopAdapter(ShopAdapter):
    # --- carts -----------------------------------------------------------------------------

    def get_cart_key(self, cart):
        return cart.id

    def get_cart_lines(self, cart):
        return [
            CartLine(
                product_id=str(item.product.pk),
                name=item.product.name,
                quantity=item.quantity,
                unit_price=item.unit_price,
                sku=item.product.sku,
                url=item.product.get_absolute_url(),
                image_url=item.product.image_url,
            )
            for item in cart.items
        ]

    def get_cart_total(self, cart, lines):
        # The lines' sum less the cart's discount code, as the cart page shows it.
        return cart.total

    def get_cart_currency(self, cart):
        return models.CURRENCY

    def restore_cart(self, request, snapshot):
        """Refill the visitor's cart with the snapshot's products that are still for sale.

        The restored cart keeps the snapshot's key, so its later changes and the order it
        becomes are reported against the cart omnichannel was recovering; a cart that
        omnichannel already closed gets a new key instead.
        """
        quantities = {}
        for line in snapshot.lines:
            product_id = str(line.get("product_id", ""))
            quantity = line.get("quantity")
            if product_id.isdigit() and isinstance(quantity, int) and quantity > 0:
                quantities[int(product_id)] = quantity
        active_ids = models.Product.objects.filter(pk__in=quantities, is_active=True).values_list(
            "pk", flat=True
        )
        cart = Cart(request)
        reuse_key = snapshot.status not in FINAL_CART_STATUSES
        cart.replace(
            {pk: quantities[pk] for pk in active_ids},
            cart_id=snapshot.cart_key if reuse_key else Cart.new_id(),
        )
        return reverse("shop:cart_detail")

    def apply_discount_code(self, request, code):
        Cart(request).apply_discount(code.strip().upper())

    # --- orders ----------------------------------------------------------------------------

    def get_order_data(self, order):
        return OrderData(
            order_key=str(order.uuid),
            total=order.total,
            currency=order.currency,
            status=order.status,
            email=order.email,
            phone=order.phone,
            user=order.user,
            cart_key=order.cart_key,
            placed_at=order.created_at,
            lines=[
                CartLine(
                    product_id=str(line.product_id),
                    name=line.name,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    sku=line.product.sku,
                    url=line.product.get_absolute_url(),
                )
                for line in order.lines.select_related("product")
            ],
        )

    def get_review_url(self, order, line):
        # The demo has no reviews of its own: the link opens the product's page.
        return line.url

    # --- merchandising ---------------------------------------------------------------------

    def get_product(self, product):
        """A shop product as messages show it (no query: the row is loaded)."""
        return Product(
            product_id=str(product.pk),
            name=product.name,
            url=product.get_absolute_url(),
            price=product.price,
            image_url=product.image_url,
        )

    def get_recommendations(self, contact, cart_lines, limit=3):
        return self.recommendations_for([(contact, cart_lines)], limit=limit)[0]

    def recommendations_for(self, carts, limit=3):
        """The newest active products not in each cart, read once for the whole batch."""
        in_carts = [{str(line.product_id) for line in lines} for _contact, lines in carts]
        # Enough of the newest products that every cart keeps ``limit`` after its own.
        newest = list(
            models.Product.objects.filter(is_active=True).order_by("-pk")[
                : limit + max(map(len, in_carts), default=0)
            ]
        )
        shown = [self.get_product(product) for product in newest]
        return [
            [product for product in shown if product.product_id not in in_cart][:limit]
            for in_cart in in_carts
        ]

    def create_discount_code(self, contact, spec):
        """A single-use code bound to the contact's email; returns the code string."""
        return self.create_discount_codes([(contact, spec)])[0]

    def create_discount_codes(self, entries):
        """Single-use codes bound to each contact's email, inserted together."""
        codes = [_random_code(spec.prefix or "") for _contact, spec in entries]
        while clashes := _clashing(codes):
            codes = [
                _random_code(spec.prefix or "") if code in clashes else code
                for code, (_contact, spec) in zip(codes, entries, strict=True)
            ]
        models.DiscountCode.objects.bulk_create(
            models.DiscountCode(
                code=code,
                kind=spec.kind,
                value=spec.value,
                expires_at=spec.expires_at,
                email=contact.email or "",
            )
            for code, (contact, spec) in zip(codes, entries, strict=True)
        )
        return codes

    # --- the shop itself -------------------------------------------------------------------

    def get_shop_context(self):
        return {
            "name": "Sample Shop",
            "url": settings.SHOP_BASE_URL,
            "address": "Sample Shop, 1 Demo Street, 75001 Paris, France",
            "support_email": "support@example.com",
        }
