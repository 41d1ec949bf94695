"""Discount codes for flow steps, created in the shop through the adapter.

One code per enrollment: every step of the series that carries an offer shows the same
code, bound to the recipient, until it expires; a later step with an offer then gets a
fresh one.
"""

from ..integrations.adapter import DiscountSpec, get_adapter


def ensure_offer(enrollment, step, variant, now):
    """The enrollment's valid code for ``step`` (created when missing or expired)."""
    if enrollment.offer_code and enrollment.offer_expires_at and enrollment.offer_expires_at > now:
        return enrollment.offer_code
    value = variant.offer_value if variant and variant.offer_value is not None else step.offer_value
    expires_at = now + step.offer_valid_for
    spec = DiscountSpec(
        kind=step.offer_kind,
        value=value or 0,
        expires_at=expires_at,
        prefix=step.offer_prefix,
        extra={"flow": enrollment.flow.slug, "enrollment": str(enrollment.uuid)},
    )
    enrollment.offer_code = get_adapter().create_discount_code(enrollment.contact, spec)
    enrollment.offer_expires_at = expires_at
    return enrollment.offer_code
