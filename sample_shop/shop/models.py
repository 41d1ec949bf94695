"""The shop's catalogue, orders and discount codes."""

import uuid
import zlib
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

CURRENCY = "EUR"
ZERO = Decimal("0.00")


class Product(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    # Empty: the templates draw a coloured placeholder instead of an image.
    image_url = models.URLField(blank=True)
    sku = models.CharField("SKU", max_length=64, blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Inactive products are hidden and cannot be bought."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("shop:product_detail", args=[self.slug])

    @property
    def placeholder_hue(self):
        """A colour that stays the same for a product, so placeholders tell items apart."""
        return zlib.crc32(self.slug.encode()) % 360


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Awaiting bank transfer"
    PAID = "paid", "Paid"
    SHIPPED = "shipped", "Shipped"
    CANCELLED = "cancelled", "Cancelled"


class Order(models.Model):
    # The id shown to customers and sent to omnichannel; the pk never leaves the shop.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    name = models.CharField(max_length=150)
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True, help_text="International format.")
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PAID, db_index=True
    )
    discount_code = models.CharField(max_length=32, blank=True)
    discount_amount = models.DecimalField(max_digits=10, decimal_places=2, default=ZERO)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default=CURRENCY)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The session cart this order was placed from; omnichannel marks that cart converted.
    cart_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Order {self.short_id}"

    def get_absolute_url(self):
        return reverse("shop:order_detail", args=[self.uuid])

    @property
    def short_id(self):
        return self.uuid.hex[:8].upper()

    @property
    def subtotal(self):
        return self.total + self.discount_amount


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # PROTECT: a product that was sold is deactivated, not deleted.
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    # Copied at checkout so the order reads the same after the catalogue changes.
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()

    def __str__(self):
        return f"{self.quantity} × {self.name}"

    @property
    def total(self):
        return self.unit_price * self.quantity


class DiscountKind(models.TextChoices):
    PERCENT = "percent", "Percent off"
    FIXED = "fixed", "Amount off"
    FREE_SHIPPING = "free_shipping", "Free shipping"


class DiscountCodeQuerySet(models.QuerySet):
    def usable(self, now=None):
        return self.filter(used_at__isnull=True, expires_at__gt=now or timezone.now())


class DiscountCode(models.Model):
    """A single-use code, usually created by omnichannel for one contact's offer."""

    code = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=16, choices=DiscountKind.choices)
    value = models.DecimalField(
        max_digits=10, decimal_places=2, default=ZERO, help_text="Percent or euros."
    )
    expires_at = models.DateTimeField()
    # Bound to the customer the offer was made to; empty means anyone may use it.
    email = models.EmailField(blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DiscountCodeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.code

    def is_usable(self, now=None):
        return self.used_at is None and self.expires_at > (now or timezone.now())

    def allows_email(self, email):
        return not self.email or self.email.lower() == (email or "").strip().lower()

    def amount_off(self, subtotal):
        """What the code takes off ``subtotal``; never more than the subtotal itself.

        Shipping is always free in this shop, so a free-shipping code takes nothing off.
        """
        if self.kind == DiscountKind.PERCENT:
            amount = subtotal * self.value / 100
        elif self.kind == DiscountKind.FIXED:
            amount = self.value
        else:
            amount = ZERO
        return min(max(amount, ZERO), subtotal).quantize(Decimal("0.01"))

    @property
    def label(self):
        if self.kind == DiscountKind.PERCENT:
            return f"{self.value.normalize():f}% off"
        if self.kind == DiscountKind.FIXED:
            return f"€{self.value} off"
        return "Free shipping"
