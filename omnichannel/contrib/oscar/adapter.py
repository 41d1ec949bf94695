"""The shop adapter for django-oscar: baskets, orders, vouchers and products as omnichannel
reads them. Oscar's models are loaded through ``get_model`` so a shop's forked apps work.

Prices come from the stock strategy (``Selector``), as Oscar's own pages show them: a line
keeps no unit price of its own. Child products without a title take their parent's
(``get_title()``); the SKU is the stock record's ``partner_sku``.
"""

from decimal import Decimal

from django.conf import settings
from django.core.signing import Signer
from django.urls import NoReverseMatch, reverse
from oscar.core.loading import get_class, get_model

from ...conf import omnichannel_settings
from ...integrations import CartLine, OrderData, Product, RestoredCart, ShopAdapter
from . import settings as oscar_settings
from . import vouchers

Basket = get_model("basket", "Basket")
OscarProduct = get_model("catalogue", "Product")
Selector = get_class("partner.strategy", "Selector")

# Baskets whose lines are a cart a customer may come back to; the others are history
# (submitted, merged into another) or not a cart at all ("saved for later").
LIVE_STATUSES = (Basket.OPEN, Basket.FROZEN)
RECOMMENDATIONS_SCANNED = 20


def strategy_for(basket=None, request=None):
    if basket is not None and basket.has_strategy:
        return basket.strategy
    user = getattr(request, "user", None) or getattr(basket, "owner", None)
    return Selector().strategy(request=request, user=user)


def shown_price(price):
    """The price messages show: incl. tax when known and wanted, else excl. tax."""
    if price is None:
        return None
    if oscar_settings.prices_include_tax() and price.is_tax_known:
        return price.incl_tax
    return price.excl_tax


def image_url(product):
    image = product.primary_image()
    original = getattr(image, "original", None)
    # Oscar answers a product without images with a placeholder that has no file.
    return original.url if getattr(image, "pk", None) and original else ""


def product_data(product, info):
    """``product`` as omnichannel shows it; ``info`` is the strategy's purchase info."""
    return Product(
        product_id=str(product.pk),
        name=product.get_title(),
        url=product.get_absolute_url(),
        price=shown_price(info.price) if info.price.exists else None,
        image_url=image_url(product),
    )


class OscarAdapter(ShopAdapter):
    # --- carts ---------------------------------------------------------------------------

    def get_cart_key(self, basket):
        return str(basket.pk)

    def get_cart_lines(self, basket):
        if basket.pk is None or basket.status not in LIVE_STATUSES:
            return []
        strategy = strategy_for(basket)
        lines = []
        query = basket.lines.select_related("product__parent", "stockrecord")
        for line in query:
            info = strategy.fetch_for_line(line, line.stockrecord)
            price = shown_price(info.price) if info.price.exists else None
            lines.append(
                CartLine(
                    product_id=str(line.product_id),
                    name=line.product.get_title(),
                    quantity=line.quantity,
                    unit_price=price if price is not None else Decimal("0"),
                    sku=line.stockrecord.partner_sku if line.stockrecord else "",
                    url=line.product.get_absolute_url(),
                    image_url=image_url(line.product),
                )
            )
        return lines

    def get_cart_currency(self, basket):
        line = basket.lines.only("price_currency").first() if basket.pk else None
        return line.price_currency if line else omnichannel_settings.DEFAULT_CURRENCY

    def restore_cart(self, request, snapshot):
        """Reopen the basket itself when this browser may have it, else copy its lines.

        A guest basket opens in an anonymous browser (Oscar's signed basket cookie is set);
        a user's basket opens for that user when logged in. A basket frozen at the payment
        step is thawed. Any other browser gets a copy in its own current basket. Nobody is
        logged in, and the copy never gives one customer another's basket.
        """
        user = request.user if request.user.is_authenticated else None
        basket = Basket.objects.filter(pk=snapshot.cart_key).first()
        if basket is not None and basket.status in LIVE_STATUSES and basket.owner == user:
            if basket.status == Basket.FROZEN:
                basket.thaw()
        else:
            basket = copy_into_current_basket(request, snapshot, user)
        basket.strategy = request.strategy
        # Oscar's middleware serves request.basket from this cache: the voucher, and
        # anything else later in this request, goes to the restored basket.
        request._basket_cache = basket
        on_response = None
        if user is None:

            def on_response(response):
                response.set_cookie(
                    settings.OSCAR_BASKET_COOKIE_OPEN,
                    Signer().sign(basket.pk),
                    max_age=settings.OSCAR_BASKET_COOKIE_LIFETIME,
                    secure=settings.OSCAR_BASKET_COOKIE_SECURE,
                    httponly=True,
                )

        return RestoredCart(
            cart_key=str(basket.pk), url=reverse("basket:summary"), on_response=on_response
        )

    def apply_discount_code(self, request, code):
        vouchers.apply(request, code)

    # --- orders --------------------------------------------------------------------------

    def get_order_data(self, order):
        address = order.shipping_address
        phone = getattr(address, "phone_number", None) if address else None
        return OrderData(
            order_key=order.number,
            total=order.total_incl_tax,
            currency=order.currency,
            status=oscar_settings.order_status(order.status),
            email=order.email or "",
            phone=str(phone) if phone else "",
            user=order.user,
            cart_key=str(order.basket_id) if order.basket_id else "",
            placed_at=order.date_placed,
            lines=[order_line(line) for line in order.lines.select_related("product")],
        )

    def get_review_url(self, order, line):
        """Oscar's "write a review" page of the line's product; its page when the shop
        hides reviews (``OSCAR_HIDDEN_FEATURES``), nothing for a deleted product."""
        product_id = str(line.product_id)
        product = (
            OscarProduct.objects.filter(pk=product_id).first() if product_id.isdigit() else None
        )
        if product is None:
            return ""
        try:
            return reverse(
                "catalogue:reviews-add",
                kwargs={"product_slug": product.slug, "product_pk": product.pk},
            )
        except NoReverseMatch:
            return product.get_absolute_url()

    # --- merchandising -------------------------------------------------------------------

    def get_recommendations(self, contact, cart_lines, limit=3):
        """Oscar's recommended products of the cart's products, else their categories'."""
        in_cart = {int(line.product_id) for line in cart_lines if str(line.product_id).isdigit()}
        products = OscarProduct.objects.browsable().exclude(pk__in=in_cart)
        candidates = list(
            products.filter(primary_recommendations__primary_id__in=in_cart).distinct()[
                :RECOMMENDATIONS_SCANNED
            ]
        ) or list(
            products.filter(categories__product__in=in_cart).distinct()[:RECOMMENDATIONS_SCANNED]
        )
        strategy = strategy_for()
        found = []
        for product in candidates:
            info = strategy.fetch_for_product(product)
            if not info.availability.is_available_to_buy:
                continue
            found.append(product_data(product, info))
            if len(found) == limit:
                break
        return found

    def get_product(self, product):
        """An Oscar product (``product_viewed``'s) at the price its page shows."""
        return product_data(product, strategy_for().fetch_for_product(product))

    def create_discount_code(self, contact, spec):
        return vouchers.create(spec)

    # --- the shop itself -----------------------------------------------------------------

    def get_shop_context(self):
        return {
            "name": str(getattr(settings, "OSCAR_SHOP_NAME", "")),
            "url": omnichannel_settings.PUBLIC_BASE_URL or "",
            "support_email": getattr(settings, "OSCAR_FROM_EMAIL", ""),
        }


def order_line(line):
    """An order line as omnichannel keeps it: the price the order charged, incl. or excl.
    tax as messages show prices; the product's page while it exists."""
    incl_tax = oscar_settings.prices_include_tax() and line.unit_price_incl_tax is not None
    price = line.unit_price_incl_tax if incl_tax else line.unit_price_excl_tax
    return CartLine(
        product_id=str(line.product_id or ""),
        name=line.title,
        quantity=line.quantity,
        unit_price=price if price is not None else Decimal("0"),
        sku=line.partner_sku,
        url=line.product.get_absolute_url() if line.product else "",
    )


def copy_into_current_basket(request, snapshot, user):
    """Add the snapshot's products that are still for sale to this browser's basket."""
    basket = request.basket
    if basket.pk is None:
        basket.owner = user
        basket.save()
    basket.strategy = request.strategy
    quantities = {}
    for line in snapshot.lines:
        product_id, quantity = str(line.get("product_id", "")), line.get("quantity")
        if product_id.isdigit() and isinstance(quantity, int) and quantity > 0:
            quantities[int(product_id)] = quantity
    for product in OscarProduct.objects.filter(pk__in=quantities):
        info = request.strategy.fetch_for_product(product)
        if info.availability.is_available_to_buy:
            basket.add_product(product, quantities[product.pk])
    return basket
