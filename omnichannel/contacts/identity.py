"""One person, one contact: finding, creating and merging contacts.

The rules, also in the README:

1. A shop user, an email address and a phone number each belong to at most one contact.
2. When something ties identifiers together (a guest who types an email that a contact
   already has, a guest session that logs in, an order carrying an email), the contacts
   found are merged, unless they hold conflicting identifiers (two different users, emails
   or phones): then they are two people and stay apart, and the strongest match
   (user, then email, then phone) is used.
3. The survivor is the contact linked to a user, else the oldest. Its non-empty fields win;
   its blanks are filled from the other; consents keep the latest decision per channel;
   every related row (carts, orders, consent ledger, and later messages) moves over.
"""

import logging

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from .. import signals
from ..core.normalize import normalize_email
from ..models import Contact

logger = logging.getLogger(__name__)

IDENTITY_FIELDS = ("user_id", "email", "phone")
PROFILE_FIELDS = ("first_name", "last_name", "locale", "country", "time_zone", "source")


def find_contacts(*, user=None, email=None, phone=None):
    """Contacts matching any of the identifiers, strongest match first, without repeats."""
    lookups = []
    if user is not None and user.pk:
        lookups.append(models.Q(user_id=user.pk))
    if email:
        lookups.append(models.Q(email=email))
    if phone:
        lookups.append(models.Q(phone=phone))
    if not lookups:
        return []
    query = lookups[0]
    for lookup in lookups[1:]:
        query |= lookup
    found = list(Contact.objects.filter(query))

    def strength(contact):
        if user is not None and contact.user_id == user.pk:
            return 0
        if email and contact.email == email:
            return 1
        return 2

    return sorted(found, key=lambda contact: (strength(contact), contact.created_at))


def conflicts(a, b):
    """True when ``a`` and ``b`` carry different values for the same identifier."""
    return any(
        getattr(a, name) and getattr(b, name) and getattr(a, name) != getattr(b, name)
        for name in IDENTITY_FIELDS
    )


def resolve_contact(*, user=None, email=None, phone=None, source="", profile=None, extra=()):
    """The one contact for these identifiers, created or merged as the rules above say.

    ``email`` and ``phone`` must already be normalised (``omnichannel.core.normalize``).
    ``extra`` are more contacts thought to be this person (e.g. the guest contact of the
    current session); one whose email, phone or user differs from those given is someone
    else and is left alone (a session that named Ann, then types Bob's email, is Bob's
    now), the others are merged in when they do not conflict.
    """
    email = normalize_email(email)
    if user is not None and not user.pk:
        user = None
    with transaction.atomic():
        found = find_contacts(user=user, email=email, phone=phone)
        # A contact linked to another user is another person: never this one.
        others = [c for c in found if user is not None and c.user_id not in (None, user.pk)]
        candidates = [c for c in found if c not in others]
        claimed = Contact(user=user, email=email, phone=phone)
        candidates += [
            c
            for c in extra
            if c.pk not in {x.pk for x in candidates + others} and not conflicts(c, claimed)
        ]
        # Their email or phone stays theirs: it is not given to this contact.
        email = None if any(c.email == email for c in others) else email
        phone = None if any(c.phone == phone for c in others) else phone
        if not candidates:
            return _create_contact(
                user=user, email=email, phone=phone, source=source, profile=profile
            )
        # The strongest match is this person; whoever holds other identifiers is not.
        candidates = [c for c in candidates if not conflicts(c, candidates[0])]
        survivor = choose_survivor(candidates)
        for other in candidates:
            if other.pk != survivor.pk and not conflicts(survivor, other):
                survivor = merge_contacts(survivor, other, reason="identified")
        _fill_blanks(survivor, user=user, email=email, phone=phone, source=source, profile=profile)
        return survivor


def choose_survivor(candidates):
    linked = [c for c in candidates if c.user_id]
    return linked[0] if linked else min(candidates, key=lambda c: (c.created_at, c.pk))


def anonymous_contact(source=""):
    """A new contact that no identifier names yet (a browser that allowed web push)."""
    return _create_contact(user=None, email=None, phone=None, source=source, profile=None)


def _create_contact(*, user, email, phone, source, profile):
    contact = Contact(user=user, email=email, phone=phone, source=source, **(profile or {}))
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        # Another request created this person a moment ago: use theirs.
        existing = find_contacts(user=user, email=email, phone=phone)
        if not existing:
            raise
        return existing[0]
    transaction.on_commit(
        lambda: signals.contact_created.send(sender=Contact, contact=contact, source=source)
    )
    return contact


def _fill_blanks(contact, *, user, email, phone, source, profile):
    """Add what the contact lacks; never overwrite what it has."""
    changed = []
    values = {"email": email, "phone": phone, "source": source, **(profile or {})}
    if user is not None and contact.user_id is None:
        values["user_id"] = user.pk
    for name, value in values.items():
        if value and not getattr(contact, name):
            setattr(contact, name, value)
            changed.append(name)
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])


def merge_contacts(survivor, other, *, reason):
    """Fold ``other`` into ``survivor`` and delete ``other``. Returns the survivor.

    Related rows are moved generically (every foreign key to Contact), so models added
    later follow without touching this function. A related model whose rows are unique per
    contact defines ``merge_contact_rows(survivor, other)`` to settle the collisions.
    """
    if conflicts(survivor, other):
        raise ValueError(f"Contacts {survivor.pk} and {other.pk} hold different identities.")
    with transaction.atomic():
        locked = {
            c.pk: c
            for c in Contact.objects.select_for_update().filter(pk__in=[survivor.pk, other.pk])
        }
        survivor, other = locked[survivor.pk], locked[other.pk]
        for relation in Contact._meta.related_objects:
            _move_related_rows(relation, survivor, other)
        for name in (*IDENTITY_FIELDS, *PROFILE_FIELDS):
            if not getattr(survivor, name) and getattr(other, name):
                setattr(survivor, name, getattr(other, name))
        survivor.external_ids = {**other.external_ids, **survivor.external_ids}
        survivor.attributes = {**other.attributes, **survivor.attributes}
        dates = [d for d in (survivor.signed_up_at, other.signed_up_at) if d]
        survivor.signed_up_at = min(dates) if dates else None
        survivor.created_at = min(survivor.created_at, other.created_at)
        merged_pk = other.pk
        other.delete()  # first, so its email / phone / user are free for the survivor
        other.pk = merged_pk
        survivor.save()
    logger.info("Merged contact %s into %s (%s)", merged_pk, survivor.pk, reason)
    transaction.on_commit(
        lambda: signals.contacts_merged.send(
            sender=Contact, contact=survivor, merged=other, reason=reason
        )
    )
    return survivor


def _move_related_rows(relation, survivor, other):
    if relation.many_to_many:
        return
    model = relation.related_model
    hook = getattr(model, "merge_contact_rows", None)
    if hook is not None:
        hook(survivor, other)
        return
    field = relation.field.name
    rows = model._base_manager.filter(**{field: other})
    if relation.one_to_one and model._base_manager.filter(**{field: survivor}).exists():
        return  # the survivor keeps its own; the other's goes with it
    rows.update(**{field: survivor})


def mark_signed_up(contact, request=None, user=None):
    """Record the first signup of ``contact``; True (and a signal) only the first time."""
    now = timezone.now()
    first = Contact.objects.filter(pk=contact.pk, signed_up_at__isnull=True).update(
        signed_up_at=now
    )
    if first:
        contact.signed_up_at = now
        transaction.on_commit(
            lambda: signals.signup_tracked.send(
                sender=Contact, contact=contact, user=user, request=request
            )
        )
    return bool(first)
