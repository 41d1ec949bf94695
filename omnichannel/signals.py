"""The app's public signals.

Two directions:

* **Signals the shop sends** (instead of calling ``omnichannel.integrations.api``):
  ``cart_changed``, ``order_placed``, ``customer_identified``. The app listens to them with
  receivers that never raise.
* **Signals the app sends**, for the shop or other apps to react to: everything below
  "sent by omnichannel".

Every receiver must accept ``**kwargs``: arguments may be added later.
"""

from django.dispatch import Signal

# --- sent by the shop ------------------------------------------------------------------

#: The shop's cart changed (line added, quantity changed, line removed, emptied).
#: Arguments: ``cart`` (the shop's cart object, read through the adapter),
#: ``request`` (optional, the current request).
cart_changed = Signal()

#: An order was placed or changed status.
#: Arguments: ``order`` (the shop's order object, read through the adapter),
#: ``request`` (optional).
order_placed = Signal()

#: The visitor told the shop who they are (e.g. typed an email at checkout).
#: Arguments: ``request``, and any of ``email``, ``phone``, ``first_name``, ``last_name``.
customer_identified = Signal()

# --- sent by omnichannel ---------------------------------------------------------------

#: A new contact was created. Arguments: ``contact``, ``source``.
contact_created = Signal()

#: ``merged`` (an unsaved copy; its row is gone) was folded into ``contact``.
#: Arguments: ``contact``, ``merged``, ``reason``.
contacts_merged = Signal()

#: A contact signed up in the shop for the first time. Arguments: ``contact``, ``user``,
#: ``request`` (may be None).
signup_tracked = Signal()

#: A consent changed. Arguments: ``contact``, ``consent`` (the ``Consent`` row),
#: ``event`` (the ``ConsentEvent`` appended to the ledger).
consent_changed = Signal()

#: A cart snapshot was written. Arguments: ``cart_key``, ``contact_id`` (may be None).
cart_tracked = Signal()

#: An order was recorded. Arguments: ``order`` (the ``TrackedOrder``), ``created``,
#: ``became_purchase`` (True the first time it counts as a purchase).
order_tracked = Signal()

#: A visitor subscribed through a popup, and the subscription is complete: at once
#: without double opt-in, or when they clicked the confirmation link. Sent once per
#: contact and popup, after the transaction commits; the welcome flow starts from it.
#: Arguments: ``contact``, ``popup``, ``variant`` (the ``PopupVariant`` they saw; may be
#: None if it was deleted since), ``request`` (may be None), ``confirmed`` (True when the
#: address was confirmed by double opt-in).
popup_subscribed = Signal()

#: A contact was erased on request (``omnichannel.contacts.privacy.erasure``): their row is gone,
#: their history anonymised. Sent after the transaction commits, so the shop can erase
#: what it holds about the person too (the shop's own user account is not touched).
#: Arguments: ``erasure`` (the ``Erasure`` record: ``contact_uuid``, ``erased_by``,
#: ``counts``), ``email``, ``phone`` and ``user_id`` (what identified the contact, to find
#: the person in the shop's own tables; None when unknown).
contact_erased = Signal()

#: A contact gave marketing consent on a channel: at once, or when they confirmed a double
#: opt-in (a pending consent is not yet a subscription). Sent after the transaction commits,
#: only when the consent was not already given. Arguments: ``contact``, ``channel``,
#: ``consent`` (the ``Consent`` row), ``event`` (the ``ConsentEvent``).
contact_subscribed = Signal()

#: A contact withdrew marketing consent on a channel (unsubscribe link, preference centre,
#: STOP, an ESP unsubscribe or complaint). Sent after the transaction commits, only when
#: the consent had been given or pending. Arguments as ``contact_subscribed``.
contact_unsubscribed = Signal()

#: Messages were handed to their provider and recorded as sent. Sent by the dispatcher once
#: per batch, after the batch's results committed. Arguments: ``messages`` (a list of
#: ``Message`` rows, status sent, ``sent_at`` set).
message_sent = Signal()

#: A contact clicked a link of a message (a tracked link, a cart restore link, a push
#: notification, or a click the ESP reported): the first click per recorded click event.
#: Sent after the transaction commits. Arguments: ``message``, ``url`` ("" when unknown).
message_clicked = Signal()

#: An order was placed for a cart that a recovery message had been sent about. Sent after
#: the transaction commits. Arguments: ``cart`` (the ``CartSnapshot``), ``order`` (the
#: ``TrackedOrder``).
cart_recovered = Signal()

#: A purchase was credited to a flow message by the ``ATTRIBUTION`` setting's model (the
#: one every report counts by, ``omnichannel.carts.attribution``): the order's
#: ``attributed_message``. Sent once, when the order becomes a purchase, after its
#: transaction commits. Arguments: ``order`` (the ``TrackedOrder``), ``message``.
order_attributed = Signal()
