"""The shop's pages.

A product page reports the view (``track_product_view``, written after the response).
Every change to the cart is reported to omnichannel with ``track_cart``. Checkout has two
steps, as in most shops: the details step reports who the buyer is (``identify``) and
records their opt-ins, so a cart left at the payment step can still be recovered; the
payment step places the order and reports it (``track_order``). These calls never raise,
so a problem on omnichannel's side cannot break a page of the shop.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from omnichannel.integrations import identify, track_cart, track_order, track_product_view

from .cart import Cart
from .checkout import DiscountUnavailable, place_order
from .forms import (
    AddToCartForm,
    CartLineForm,
    CheckoutDetailsForm,
    DiscountCodeForm,
    PaymentForm,
    PaymentMethod,
    SignupForm,
)
from .models import Order, OrderStatus, Product

# Orders placed in this session, so a guest can see their confirmation page.
SESSION_ORDERS_KEY = "shop_orders"
SESSION_ORDERS_KEPT = 20
# The buyer's details from checkout's first step: {"user", "name", "email", "phone"}.
SESSION_CHECKOUT_KEY = "shop_checkout"


def product_list(request):
    products = Product.objects.filter(is_active=True)
    return render(request, "shop/product_list.html", {"products": products})


def product_detail(request, slug, form=None):
    product = get_object_or_404(Product, slug=slug, is_active=True)
    # No query and no write now: the view is written after the response has gone.
    track_product_view(product, request)
    context = {
        "product": product,
        "form": form or AddToCartForm(),
        "in_cart": Cart(request).quantity_of(product.pk),
    }
    return render(request, "shop/product_detail.html", context)


# --- cart ---------------------------------------------------------------------------------


def cart_detail(request):
    cart = Cart(request)
    context = {"cart": cart, "discount_form": DiscountCodeForm()}
    return render(request, "shop/cart_detail.html", context)


@require_POST
def cart_add(request, product_id):
    product = get_object_or_404(Product, pk=product_id, is_active=True)
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        return product_detail(request, product.slug, form=form)
    cart = Cart(request)
    cart.add(product, form.cleaned_data["quantity"])
    track_cart(cart, request)
    messages.success(request, f"{product.name} is in your cart.")
    return redirect("shop:cart_detail")


@require_POST
def cart_update(request, product_id):
    cart = Cart(request)
    if not cart.quantity_of(product_id):
        # Not (or no longer) in the cart: a stale page; nothing to change.
        return redirect("shop:cart_detail")
    product = get_object_or_404(Product, pk=product_id)
    form = CartLineForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Enter a quantity between 0 and 99 for {product.name}.")
        return redirect("shop:cart_detail")
    cart.update(product, form.cleaned_data["quantity"])
    track_cart(cart, request)
    return redirect("shop:cart_detail")


@require_POST
def cart_remove(request, product_id):
    cart = Cart(request)
    if cart.quantity_of(product_id):
        cart.remove(product_id)
        track_cart(cart, request)
    return redirect("shop:cart_detail")


@require_POST
def discount_apply(request):
    cart = Cart(request)
    form = DiscountCodeForm(request.POST)
    if not form.is_valid():
        return render(request, "shop/cart_detail.html", {"cart": cart, "discount_form": form})
    cart.apply_discount(form.cleaned_data["code"])
    track_cart(cart, request)
    messages.success(request, f"The code {cart.discount_code} is applied.")
    return redirect("shop:cart_detail")


@require_POST
def discount_remove(request):
    cart = Cart(request)
    if cart.discount_code:
        cart.remove_discount()
        track_cart(cart, request)
    return redirect("shop:cart_detail")


# --- checkout and orders ------------------------------------------------------------------


def _customer(request):
    return request.user if request.user.is_authenticated else None


def _saved_details(request, user):
    """The details the visitor gave in step 1, or None (none yet, or for another user)."""
    details = request.session.get(SESSION_CHECKOUT_KEY)
    if not isinstance(details, dict):
        return None
    if details.get("user") != (user.pk if user else None):
        return None  # given before logging in or out: ask again
    fields = ("name", "email", "phone")
    if not all(isinstance(details.get(name), str) for name in fields) or not details["email"]:
        return None
    return {name: details[name] for name in fields}


def checkout(request):
    """Step 1: the buyer's details and opt-ins. Identifies the visitor; no order yet."""
    cart = Cart(request)
    if not cart.items:
        messages.info(request, "Your cart is empty.")
        return redirect("shop:cart_detail")
    user = _customer(request)
    form_kwargs = {"user": user, "discount": cart.discount}
    if request.method != "POST":
        # Coming back from the payment step (or a second order): what they gave last time.
        form = CheckoutDetailsForm(initial=_saved_details(request, user), **form_kwargs)
    else:
        form = CheckoutDetailsForm(request.POST, **form_kwargs)
        if form.is_valid():
            data = form.cleaned_data
            # The guest's session (and its carts) joins the contact: from here on, a cart
            # left at the payment step can be recovered when the buyer opted in.
            contact = identify(
                request,
                email=data["email"],
                phone=data["phone"] or None,
                first_name=form.first_name,
                last_name=form.last_name,
            )
            if contact is not None:
                form.save_consents(request, contact)
            request.session[SESSION_CHECKOUT_KEY] = form.details
            return redirect("shop:checkout_payment")
    return render(request, "shop/checkout.html", {"cart": cart, "form": form})


def checkout_payment(request):
    """Step 2: the payment method, and placing the order for step 1's details."""
    cart = Cart(request)
    if not cart.items:
        messages.info(request, "Your cart is empty.")
        return redirect("shop:cart_detail")
    user = _customer(request)
    details = _saved_details(request, user)
    if details is None:
        messages.info(request, "First tell us who the order is for.")
        return redirect("shop:checkout")
    form_kwargs = {"email": details["email"], "discount": cart.discount}
    if request.method != "POST":
        form = PaymentForm(**form_kwargs)
    else:
        form = PaymentForm(request.POST, **form_kwargs)
        if form.is_valid():
            order = _place_order(request, cart, form, user, details)
            if order is not None:
                return redirect(order)
    context = {"cart": cart, "form": form, "details": details}
    return render(request, "shop/checkout_payment.html", context)


def _place_order(request, cart, form, user, details):
    is_transfer = form.cleaned_data["payment_method"] == PaymentMethod.BANK_TRANSFER
    try:
        order = place_order(
            cart,
            user=user,
            name=details["name"],
            email=details["email"],
            phone=details["phone"],
            status=OrderStatus.PENDING_PAYMENT if is_transfer else OrderStatus.PAID,
        )
    except DiscountUnavailable as exc:
        cart.remove_discount()
        track_cart(cart, request)
        form.add_error(None, f"The code {exc} was just used or expired; it was removed.")
        return None
    track_order(order, request)
    cart.renew()
    recent = request.session.get(SESSION_ORDERS_KEY, [])
    request.session[SESSION_ORDERS_KEY] = [str(order.uuid), *recent][:SESSION_ORDERS_KEPT]
    return order


def order_detail(request, order_uuid):
    order = get_object_or_404(Order.objects.prefetch_related("lines"), uuid=order_uuid)
    placed_here = str(order.uuid) in request.session.get(SESSION_ORDERS_KEY, [])
    owner = request.user.is_authenticated and order.user_id == request.user.pk
    if not (placed_here or owner or request.user.is_staff):
        raise Http404("No such order.")
    return render(request, "shop/order_detail.html", {"order": order})


@login_required
def account(request):
    orders = request.user.orders.all()
    return render(request, "shop/account.html", {"orders": orders})


def signup(request):
    """Create an account, save the profile answers and opt-ins, and sign in.

    omnichannel's own receivers (user created, user logged in) record the signup and join
    the visitor's guest session to the new contact. Saving everything in one transaction
    lets the signup be recorded after it commits, so the welcome series starts with the
    contact's country, phone and consents already known.
    """
    if request.user.is_authenticated:
        return redirect("shop:account")
    if request.method != "POST":
        form = SignupForm()
    else:
        form = SignupForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                user = form.save()
                contact = form.save_profile(request, user)
                if contact is not None:
                    form.save_consents(request, contact)
            login(request, user)
            messages.success(request, f"Welcome, {user.get_username()}!")
            return redirect("shop:account")
    return render(request, "registration/signup.html", {"form": form})
