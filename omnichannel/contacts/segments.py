"""Segments: which contacts meet a saved list of conditions, and the ``in_segment`` condition.

A segment reuses the flow conditions (``omnichannel.flows.conditions``), so staff learn
one vocabulary and integrators' own conditions work in segments too.

Counting must not load every contact into Python, so a condition may have a queryset
translation here (``translates``): a function of its cleaned parameters returning a ``Q``
on ``Contact``. An exact translation answers alone; an inexact one only narrows (a
superset) and the condition is still checked in Python on what is left. Conditions
without a translation (integrators' own, unless they add one) are checked in Python over
the narrowed contacts, ``BATCH_SIZE`` at a time, with three queries per batch.

What a condition reads when a segment is counted: purchases and marketing consents, as in
flows, and as cart value the largest open or abandoned cart of the contact. Inside a flow
(``in_segment``), the segment's conditions read the flow's own facts (the enrollment's
cart): checking costs no query per contact, only a cached read of the segment.

Import this module from ``AppConfig.ready()``: it registers ``in_segment``.
"""

from dataclasses import dataclass

import phonenumbers
from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Exists, Max, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from ..flows import conditions
from ..flows.engine import ContactFacts
from ..models import CartSnapshot, Consent, Contact, Segment, TrackedOrder
from ..models.carts import CartStatus
from ..models.consent import ConsentStatus, Purpose
from ..models.privacy import ERASED_CONTACT_UUID

BATCH_SIZE = 500
# Seconds a segment's conditions stay cached for flows; saving the segment clears it.
CACHE_TIMEOUT = 60
LIVE_CART_STATUSES = (CartStatus.OPEN, CartStatus.ABANDONED)


# --- queryset translations ---------------------------------------------------------------


@dataclass(frozen=True)
class Translation:
    build: object  # params -> Q
    exact: bool


_translations = {}


def translates(name, exact=True):
    """Decorator registering ``build(**params) -> Q`` as the translation of condition ``name``."""

    def decorator(build):
        _translations[name] = Translation(build, exact)
        return build

    return decorator


def _purchases():
    return Exists(TrackedOrder.objects.filter(contact=OuterRef("pk"), is_purchase=True))


@translates("has_ordered")
def _has_ordered():
    return Q(_purchases())


@translates("has_not_ordered")
def _has_not_ordered():
    return ~Q(_purchases())


@translates("customer_is")
def _customer_is(which):
    return _has_ordered() if which == "returning" else _has_not_ordered()


@translates("consent_for")
def _consent_for(channel):
    granted = Consent.objects.filter(
        contact=OuterRef("pk"),
        channel=channel,
        purpose=Purpose.MARKETING,
        status=ConsentStatus.GRANTED,
    )
    return Q(Exists(granted))


@translates("cart_value_at_least")
def _cart_value_at_least(amount):
    carts = CartSnapshot.objects.filter(
        contact=OuterRef("pk"), status__in=LIVE_CART_STATUSES, value__gte=amount
    )
    return Q(Exists(carts))


@translates("country_in", exact=False)
def _country_in(countries):
    # Inexact: a calling code can be shared (+1 is the US, Canada and more).
    prefixes = {phonenumbers.country_code_for_region(code) for code in countries} - {0}
    by_phone = Q()
    for prefix in prefixes:
        by_phone |= Q(phone__startswith=f"+{prefix}")
    return Q(country__in=countries) | (Q(country="") & by_phone)


@translates("has_tag", exact=False)
def _has_tag(tag):
    # Inexact: looking inside a JSON list is not portable (SQLite); the key narrows.
    return Q(attributes__has_key="tags")


# --- validating and evaluating -----------------------------------------------------------


def validate_conditions(entries):
    """The cleaned conditions of a segment; ValidationError lists every problem."""
    cleaned = conditions.validate(entries)
    if any(entry["name"] == "in_segment" for entry in cleaned):
        raise ValidationError(_("A segment cannot contain another segment: copy its conditions."))
    return cleaned


Segment.validate_conditions = staticmethod(validate_conditions)


def split(entries):
    """``(q, rest)``: the Q of the translated conditions, and those to check in Python."""
    query, rest = Q(), []
    for entry in entries:
        params = conditions.get(entry["name"]).clean_params(entry.get("params"))
        translation = _translations.get(entry["name"])
        if translation is not None:
            query &= translation.build(**params)
        if translation is None or not translation.exact:
            rest.append(entry)
    return query, rest


def members(entries):
    """The contacts meeting ``entries``, in primary key order, read in batches."""
    query, rest = split(entries)
    candidates = Contact.objects.exclude(uuid=ERASED_CONTACT_UUID).filter(query).order_by("pk")
    last = 0
    while True:
        batch = list(candidates.filter(pk__gt=last)[:BATCH_SIZE])
        if not batch:
            return
        facts = segment_facts([contact.pk for contact in batch]) if rest else None
        for contact in batch:
            if not rest or conditions.met(rest, contact, facts[contact.pk]):
                yield contact
        last = batch[-1].pk


def count(entries):
    """How many contacts meet ``entries``: one query when every condition translates."""
    query, rest = split(entries)
    if not rest:
        return Contact.objects.exclude(uuid=ERASED_CONTACT_UUID).filter(query).count()
    return sum(1 for _contact in members(entries))


def segment_facts(contact_ids):
    """contact pk -> ``Facts``, for conditions checked in Python (three queries)."""
    known = ContactFacts(contact_ids)
    cart_values = dict(
        CartSnapshot.objects.filter(contact_id__in=contact_ids, status__in=LIVE_CART_STATUSES)
        .values_list("contact_id")
        .annotate(Max("value"))
        .order_by()
    )
    return {
        contact_id: conditions.Facts(
            cart_value=cart_values.get(contact_id),
            purchases=len(known.purchases[contact_id]),
            consents=known.consents[contact_id],
        )
        for contact_id in contact_ids
    }


# --- the in_segment flow condition -------------------------------------------------------


def cached_conditions(slug):
    """The stored conditions of segment ``slug``, or None when there is no such segment.

    Cached: a flow batch checks the same segment for hundreds of contacts.
    """
    key = Segment.cache_key(slug)
    stored = cache.get(key)
    if stored is None:
        stored = Segment.objects.filter(slug=slug).values_list("conditions", flat=True).first()
        if stored is not None:
            cache.set(key, stored, CACHE_TIMEOUT)
    return stored


def segment_choices():
    return [("", "---------"), *Segment.objects.values_list("slug", "name")]


class SegmentField(forms.SlugField):
    """A segment's slug (picked from a list), refused unless the segment exists."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.Select(choices=segment_choices))
        super().__init__(**kwargs)

    def clean(self, value):
        slug = super().clean(value)
        if cached_conditions(slug) is None:
            raise ValidationError(_("There is no segment %(slug)s.") % {"slug": slug})
        return slug


@conditions.register(
    "in_segment", _("Is in a segment"), {"segment": SegmentField(label=_("segment"))}
)
def in_segment(contact, facts, segment):
    stored = cached_conditions(segment)
    return stored is not None and conditions.met(stored, contact, facts)
