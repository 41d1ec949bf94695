"""A shopper in the Oscar test shop: a test client that goes through Oscar's own pages."""

from django.test import Client
from django.urls import reverse

ADDRESS = {
    "first_name": "Ann",
    "last_name": "Lee",
    "line1": "1 High Street",
    "line4": "London",
    "postcode": "N1 9GU",
    "country": "GB",
}
CONSENT = {"omnichannel_marketing_consent": "1"}


class Shopper:
    def __init__(self):
        self.client = Client()

    def ok(self, response, *codes):
        assert response.status_code in (codes or (200, 302)), response.status_code
        return response

    def browse(self, product):
        return self.ok(self.client.get(product.get_absolute_url()), 200)

    def add(self, product, quantity=1):
        self.browse(product)
        url = reverse("basket:add", kwargs={"pk": product.pk})
        return self.ok(self.client.post(url, {"quantity": quantity}), 302)

    def basket(self):
        return self.ok(self.client.get(reverse("basket:summary")), 200).context["basket"]

    def change_quantity(self, quantity, line=0, save_for_later=False):
        """The basket page's formset: a new quantity, or "save for later" for one line."""
        basket = self.basket()
        lines = list(basket.all_lines())
        data = {
            "form-TOTAL_FORMS": len(lines),
            "form-INITIAL_FORMS": len(lines),
            "form-MIN_NUM_FORMS": 0,
            "form-MAX_NUM_FORMS": 1000,
        }
        for index, each in enumerate(lines):
            data[f"form-{index}-id"] = each.pk
            data[f"form-{index}-quantity"] = quantity if index == line else each.quantity
        if save_for_later:
            data[f"form-{line}-save_for_later"] = "on"
        return self.ok(self.client.post(reverse("basket:summary"), data), 302)

    def start_guest_checkout(self, email, consent=False):
        self.ok(self.client.get(reverse("checkout:index")), 200)
        data = {"username": email, "options": "anonymous", **(CONSENT if consent else {})}
        self.ok(self.client.post(reverse("checkout:index"), data), 302)
        self.ok(self.client.post(reverse("checkout:shipping-address"), ADDRESS), 302)

    def start_user_checkout(self):
        self.ok(self.client.get(reverse("checkout:index")), 302)
        self.ok(self.client.post(reverse("checkout:shipping-address"), ADDRESS), 302)

    def place_order(self):
        """Oscar's default payment step takes no payment: the sandbox's dummy payment."""
        self.ok(self.client.get(reverse("checkout:shipping-method")), 302)
        self.ok(self.client.get(reverse("checkout:payment-details")), 200, 302)
        self.ok(self.client.get(reverse("checkout:preview")), 200)
        response = self.client.post(reverse("checkout:preview"), {"action": "place_order"})
        assert response.status_code == 302 and response["Location"].endswith(
            reverse("checkout:thank-you")
        ), response.status_code
        return self.client.get(reverse("checkout:thank-you")).context["order"]

    def register(self, email, consent=False):
        data = {
            "email": email,
            "password1": "a-Long-pass-123",
            "password2": "a-Long-pass-123",
            "registration_submit": "Register",
            **(CONSENT if consent else {}),
        }
        return self.ok(self.client.post(reverse("customer:register"), data), 302)

    def log_in(self, email):
        data = {
            "login-username": email,
            "login-password": "a-Long-pass-123",
            "login_submit": "Log in",
        }
        return self.ok(self.client.post(reverse("customer:login"), data), 302)

    def log_out(self):
        return self.client.get(reverse("customer:logout"))

    def open(self, url):
        """Open a link from a message (absolute, on the test server)."""
        return self.client.get(url.removeprefix("http://testserver"))
