"""From the app's signals to flow triggers and exits.

Each receiver runs after the transaction that sent the signal committed (the signals
are sent on commit) and is wrapped so a failure is logged, never raised into the shop.
"""

from django.db.models.signals import pre_delete

from .. import signals
from ..integrations.safety import never_raises
from ..models import Enrollment, Message, Step, TrackedOrder
from ..models.consent import ConsentStatus
from ..models.flows import EnrollmentState, ExitGoal, Trigger
from .engine import exit_enrollments, exit_for_goal, trigger
from .orders import start_order_flows
from .paths import step_deleted


@never_raises
def on_signup(sender, contact, **kwargs):
    trigger(Trigger.SIGNUP, contact, key=f"signup:{contact.pk}", triggered_at=contact.signed_up_at)


@never_raises
def on_popup_subscribed(sender, contact, popup, **kwargs):
    trigger(
        Trigger.POPUP_SUBSCRIBED,
        contact,
        key=f"popup:{popup.pk}:{contact.pk}",
        context={"popup": popup.name},
    )


@never_raises
def on_order(sender, order, created, became_purchase, previous_status="", **kwargs):
    if created and order.cart_id and not became_purchase:
        # Checked out, awaiting payment (a bank transfer): no more cart reminders.
        leaving = Enrollment.objects.filter(cart_id=order.cart_id, state=EnrollmentState.ACTIVE)
        exit_enrollments(list(leaving), "checked out, awaiting payment")
    if not order.contact_id:
        return
    contact = order.contact
    if became_purchase:
        # Before the order's own flows start: they must not exit on the order itself.
        exit_for_goal(contact, ExitGoal.ORDERED)
    start_order_flows(order, became_purchase=became_purchase, previous_status=previous_status)
    if not became_purchase:
        return
    first = not contact.orders.filter(is_purchase=True).exclude(pk=order.pk).exists()
    if first:
        trigger(
            Trigger.FIRST_ORDER,
            contact,
            key=f"first_order:{contact.pk}",
            triggered_at=order.placed_at,
            context={"order": order.order_key, "total": str(order.total)},
        )


@never_raises
def on_purchase_attribute(sender, order, became_purchase, **kwargs):
    """Tell who listens which flow message an order counts for (``order_attributed``): the
    credit ``record_order`` stored (``carts.attribution``), the one every report counts."""
    if not (became_purchase and order.attributed_message_id):
        return
    message = Message.objects.select_related("contact").filter(pk=order.attributed_message_id)
    message = message.first()
    if message is not None:
        signals.order_attributed.send(sender=TrackedOrder, order=order, message=message)


@never_raises
def on_consent_changed(sender, contact, consent, **kwargs):
    if consent.status == ConsentStatus.WITHDRAWN:
        still = contact.consents.filter(purpose="marketing", status=ConsentStatus.GRANTED)
        if not still.exists():
            exit_for_goal(contact, ExitGoal.UNSUBSCRIBED)


def connect():
    uid = "omnichannel.flows."
    signals.signup_tracked.connect(on_signup, dispatch_uid=uid + "signup")
    signals.popup_subscribed.connect(on_popup_subscribed, dispatch_uid=uid + "popup")
    signals.order_tracked.connect(on_order, dispatch_uid=uid + "order")
    signals.order_tracked.connect(on_purchase_attribute, dispatch_uid=uid + "attribution")
    signals.consent_changed.connect(on_consent_changed, dispatch_uid=uid + "consent")
    # Staff's own edit, not the shop's request: an error here must show, so not wrapped.
    pre_delete.connect(step_deleted, sender=Step, dispatch_uid=uid + "step_deleted")
