"""The whole product on an unmodified Oscar shop with ``omnichannel.contrib.oscar``.

A guest and a user abandon baskets and get their reminders, with restore links that work
in another browser and vouchers Oscar applies; a buyer gets none; a reminder stops when
the customer orders; a new customer gets the welcome series. The sweeps (detection, flows,
dispatch) run in-process at instants moved forward from now, as beat would run them.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from oscar.apps.basket.models import Basket
from oscar.apps.voucher.models import Voucher

from omnichannel.carts.recovery import detect_abandoned
from omnichannel.flows.defaults import install_defaults
from omnichannel.flows.engine import advance_due
from omnichannel.models import CartSnapshot, Contact, Enrollment, Message
from omnichannel.outbox.dispatch import dispatch_batch, worker_id

from .shop import Shopper

pytestmark = pytest.mark.django_db(transaction=True)


def run_sweeps(at):
    """What beat would have done by ``at``: detect idle carts, advance flows, send."""
    detect_abandoned(now=at)
    while advance_due(now=at).claimed:
        pass
    owner = worker_id()
    while dispatch_batch(owner, now=at).claimed:
        pass


def sent_to(email, flow_kind):
    return list(
        Message.objects.filter(
            contact__email=email, status="sent", enrollment__flow__kind=flow_kind
        ).order_by("sent_at")
    )


def due_after(contact_email, kind):
    enrollment = Enrollment.objects.get(contact__email=contact_email, flow__kind=kind)
    return enrollment.next_step_at + timedelta(seconds=1)


def test_guest_and_user_recovered_buyer_left_alone_new_customer_welcomed(catalogue, settings):
    # The caps are off so that the welcome email and the cart reminder of the same new
    # customer both go at once; the caps have their own tests.
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "FREQUENCY_CAPS": {}}
    install_defaults(activate=True)
    mug, tee = catalogue["mug"], catalogue["tee"]

    # A new customer registers (ticking the consent box) and leaves a basket.
    user = Shopper()
    user.register("una@example.com", consent=True)
    user.add(mug, 2)
    user.start_user_checkout()
    # A guest reaches checkout with an email and consent, and leaves.
    guest = Shopper()
    guest.add(tee)
    guest.start_guest_checkout("gus@example.com", consent=True)
    # A buyer goes all the way.
    buyer = Shopper()
    buyer.add(mug)
    buyer.start_guest_checkout("bea@example.com", consent=True)
    order = buyer.place_order()
    assert order.guest_email == "bea@example.com"

    now = timezone.now()
    run_sweeps(now + timedelta(minutes=1))
    welcome = sent_to("una@example.com", "welcome")
    assert len(welcome) == 1 and welcome[0].context["discount"]["code"]
    assert Voucher.objects.filter(code=welcome[0].context["discount"]["code"]).exists()

    # Idle for 30 minutes: both baskets are abandoned, the buyer's was ordered.
    run_sweeps(now + timedelta(minutes=40))
    statuses = dict(CartSnapshot.objects.values_list("contact__email", "status"))
    assert statuses == {
        "una@example.com": "abandoned",
        "gus@example.com": "abandoned",
        "bea@example.com": "converted",
    }
    run_sweeps(due_after("gus@example.com", "cart_recovery"))
    first_guest = sent_to("gus@example.com", "cart_recovery")
    first_user = sent_to("una@example.com", "cart_recovery")
    assert (len(first_guest), len(first_user)) == (1, 1)

    # The guest opens the reminder on another device: Oscar's basket cookie brings the
    # very basket back, nobody is logged in, and the guest orders from it.
    phone = Shopper()
    response = phone.open(first_guest[0].context["cart"]["restore_url"])
    assert response.status_code == 302 and "oscar_open_basket" in response.cookies
    basket = phone.basket()
    assert [line.product for line in basket.all_lines()] == [tee]
    assert "_auth_user_id" not in phone.client.session
    phone.start_guest_checkout("gus@example.com")
    phone.place_order()
    guest_cart = CartSnapshot.objects.get(contact__email="gus@example.com")
    assert guest_cart.status == "recovered"

    # A day later the offer goes to the user only: the guest's recovery ended with the order.
    run_sweeps(due_after("una@example.com", "cart_recovery"))
    offers = [m for m in sent_to("una@example.com", "cart_recovery") if "discount" in m.context]
    assert len(offers) == 1
    assert len(sent_to("gus@example.com", "cart_recovery")) == 1
    code = offers[0].context["discount"]["code"]
    voucher = Voucher.objects.get(code=code)
    assert voucher.usage == Voucher.SINGLE_USE and voucher.end_datetime > timezone.now()

    # The user opens the offer in an anonymous browser: the lines are copied into a basket
    # of that browser (never the user's own, never a login) with the voucher applied.
    laptop = Shopper()
    laptop.open(offers[0].context["cart"]["restore_url"])
    copy = laptop.basket()
    assert [(line.product, line.quantity) for line in copy.all_lines()] == [(mug, 2)]
    assert copy.owner is None and list(copy.vouchers.values_list("code", flat=True)) == [code]
    assert copy.total_discount > 0
    # The snapshot follows the copy: ordering from it ends the user's recovery too.
    user_cart = CartSnapshot.objects.get(contact__email="una@example.com")
    assert user_cart.cart_key == str(copy.pk)
    laptop.start_guest_checkout("una.at.work@example.com")  # her account's email is taken
    laptop.place_order()
    user_cart.refresh_from_db()
    assert user_cart.status == "recovered"
    assert Basket.objects.get(pk=copy.pk).status == Basket.SUBMITTED

    # Nothing more goes to anyone about carts, and the buyer never heard of one.
    run_sweeps(now + timedelta(days=6))
    assert len(sent_to("una@example.com", "cart_recovery")) == 2
    assert sent_to("bea@example.com", "cart_recovery") == []
    assert Contact.objects.get(email="una@example.com").user is not None
