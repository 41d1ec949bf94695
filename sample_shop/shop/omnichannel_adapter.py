"""How omnichannel sees the sample shop: the one module that maps shop objects to its data.

Named in ``settings.OMNICHANNEL["SHOP_ADAPTER"]``. omnichannel calls these methods with
the shop's own objects (a ``Cart``, an ``Order``) and never imports the shop's models.
"""

import secrets
import string

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
        )

    # --- merchandising ---------------------------------------------------------------------

    def get_recommendations(self, contact, cart_lines, limit=3):
        in_cart = [line.product_id for line in cart_lines if str(line.product_id).isdigit()]
        products = (
            models.Product.objects.filter(is_active=True)
            .exclude(pk__in=in_cart)
            .order_by("-pk")[:limit]
        )
        return [
            Product(
                product_id=str(product.pk),
                name=product.name,
                url=product.get_absolute_url(),
                price=product.price,
                image_url=product.image_url,
            )
            for product in products
        ]

    def create_discount_code(self, contact, spec):
        """A single-use code bound to the contact's email; returns the code string."""
        while True:
            code = _random_code(spec.prefix or "")
            if not models.DiscountCode.objects.filter(code=code).exists():
                break
        models.DiscountCode.objects.create(
            code=code,
            kind=spec.kind,
            value=spec.value,
            expires_at=spec.expires_at,
            email=contact.email or "",
        )
        return code

    # --- the shop itself -------------------------------------------------------------------

    def get_shop_context(self):
        return {
            "name": "Sample Shop",
            "url": settings.SHOP_BASE_URL,
            "address": "Sample Shop, 1 Demo Street, 75001 Paris, France",
            "support_email": "support@example.com",
        }
