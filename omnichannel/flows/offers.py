"""Discount codes for flow steps, created in the shop through the adapter.

One code per enrollment: every step of the series that carries an offer shows the same
code, bound to the recipient, until it expires; a later step with an offer then gets a
fresh one. A batch of enrollments asks the shop once (``create_discount_codes``).
"""

from ..integrations.adapter import DiscountSpec, get_adapter


def ensure_offers(wanted, now):
    """Give each ``(enrollment, step, variant)`` of ``wanted`` a valid code for its step.

    Codes still valid are kept; the missing or expired ones are created in one call to
    the adapter. Sets ``offer_code`` and ``offer_expires_at`` on the enrollments.
    """
    missing = [
        (enrollment, step, variant)
        for enrollment, step, variant in wanted
        if not (
            enrollment.offer_code
            and enrollment.offer_expires_at
            and enrollment.offer_expires_at > now
        )
    ]
    if not missing:
        return
    entries = [
        (enrollment.contact, spec_for(enrollment, step, variant, now))
        for enrollment, step, variant in missing
    ]
    codes = get_adapter().create_discount_codes(entries)
    if len(codes) != len(entries):
        raise ValueError(
            f"ShopAdapter.create_discount_codes() returned {len(codes)} codes for "
            f"{len(entries)} entries: it must return one code per entry, in order."
        )
    for (enrollment, _step, _variant), (_contact, spec), code in zip(
        missing, entries, codes, strict=True
    ):
        enrollment.offer_code, enrollment.offer_expires_at = code, spec.expires_at


def spec_for(enrollment, step, variant, now):
    """The discount ``step`` (or its ``variant``) offers, valid from ``now``."""
    value = variant.offer_value if variant and variant.offer_value is not None else step.offer_value
    return DiscountSpec(
        kind=step.offer_kind,
        value=value or 0,
        expires_at=now + step.offer_valid_for,
        prefix=step.offer_prefix,
        extra={"flow": enrollment.flow.slug, "enrollment": str(enrollment.uuid)},
    )
