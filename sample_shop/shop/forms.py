import phonenumbers
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from omnichannel.contacts.consent import grant_consent
from omnichannel.forms import ProfileFieldsMixin

from .cart import MAX_QUANTITY
from .models import DiscountCode


class AddToCartForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, initial=1)


class CartLineForm(forms.Form):
    """Change one line's quantity; zero removes it."""

    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY)


class DiscountCodeForm(forms.Form):
    code = forms.CharField(max_length=32, label="Discount code")

    def clean_code(self):
        code = self.cleaned_data["code"].strip().upper()
        if not DiscountCode.objects.usable().filter(code=code).exists():
            raise forms.ValidationError("This code does not exist, has expired or was used.")
        return code


class PaymentMethod:
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    CHOICES = [
        (CARD, "Card (the demo marks the order paid at once)"),
        (BANK_TRANSFER, "Bank transfer (the order waits until staff mark it paid)"),
    ]


def discount_email_error(discount, email, fix="use that address"):
    """Why ``discount`` cannot go with ``email`` (bound to another customer), or ''."""
    if discount is None or discount.allows_email(email):
        return ""
    return (
        f"The code {discount.code} was issued for another email address: {fix} or remove "
        "the code from your cart."
    )


class CheckoutDetailsForm(forms.Form):
    """Checkout, step 1: who is buying, and the marketing opt-ins. No order yet.

    The buyer's email is given here, before any payment, so an unfinished checkout still
    leaves a cart that can be recovered. Each opt-in box is unticked by default and its
    label is the wording stored in the consent ledger.
    """

    name = forms.CharField(max_length=150)
    email = forms.EmailField()
    phone = forms.CharField(
        max_length=32,
        required=False,
        help_text="With the country code, e.g. +33 6 12 34 56 78.",
    )
    email_offers = forms.BooleanField(
        required=False,
        label="Email me news and offers. I can unsubscribe at any time.",
    )
    sms_offers = forms.BooleanField(
        required=False,
        label="Text me offers (needs the phone number above). Reply STOP to opt out.",
    )
    # Opt-in box -> the channel it grants.
    OPT_INS = {"email_offers": "email", "sms_offers": "sms"}

    def __init__(self, *args, user=None, discount=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user if user is not None and user.is_authenticated else None
        self.discount = discount
        if self.user is not None:
            self.fields["name"].initial = self.user.get_full_name() or self.user.get_username()
            if self.user.email:
                # A signed-in customer may leave it empty: their account email is used.
                self.fields["email"].required = False
                self.fields["email"].initial = self.user.email

    def clean_email(self):
        email = self.cleaned_data["email"] or (self.user.email if self.user else "")
        error = discount_email_error(self.discount, email)
        if error:
            raise forms.ValidationError(error)
        return email

    def clean_phone(self):
        raw = self.cleaned_data["phone"].strip()
        if not raw:
            return ""
        try:
            number = phonenumbers.parse(raw, None)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise forms.ValidationError(
                "Enter a valid phone number with its country code, e.g. +33 6 12 34 56 78."
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def clean(self):
        cleaned = super().clean()
        number_missing = not cleaned.get("phone") and "phone" not in self.errors
        if cleaned.get("sms_offers") and number_missing:
            self.add_error("sms_offers", "Give your mobile number to receive texts.")
        return cleaned

    @property
    def first_name(self):
        name = self.cleaned_data["name"].split(maxsplit=1)
        return name[0] if name else ""

    @property
    def last_name(self):
        name = self.cleaned_data["name"].split(maxsplit=1)
        return name[1] if len(name) > 1 else ""

    @property
    def details(self):
        """What the payment step needs, as JSON for the session."""
        return {
            "user": self.user.pk if self.user else None,
            "name": self.cleaned_data["name"],
            "email": self.cleaned_data["email"],
            "phone": self.cleaned_data["phone"],
        }

    def save_consents(self, request, contact):
        """Record the ticked opt-ins, with the wording shown, in the consent ledger."""
        for name, channel in self.OPT_INS.items():
            if self.cleaned_data.get(name):
                grant_consent(
                    contact,
                    channel,
                    source="checkout",
                    wording=str(self.fields[name].label),
                    request=request,
                )


class PaymentForm(forms.Form):
    """Checkout, step 2: how to pay, for the details given in step 1."""

    payment_method = forms.ChoiceField(
        choices=PaymentMethod.CHOICES, initial=PaymentMethod.CARD, widget=forms.RadioSelect
    )

    def __init__(self, *args, email="", discount=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email
        self.discount = discount

    def clean(self):
        cleaned = super().clean()
        # The cart's code may have changed since step 1 (a restore link applies one).
        error = discount_email_error(self.discount, self.email, fix="change your details")
        if error:
            raise forms.ValidationError(error)
        return cleaned


class SignupForm(ProfileFieldsMixin, UserCreationForm):
    """The account form, the optional profile fields the shop chose
    (``OMNICHANNEL["SIGNUP_PROFILE_FIELDS"]``), and the marketing opt-ins.

    Each opt-in box is unticked by default and its label is the wording stored in the
    consent ledger, so what the customer agreed to can be shown later.
    """

    email = forms.EmailField(help_text="For order confirmations.")
    email_offers = forms.BooleanField(
        required=False,
        label="Email me news and offers, starting with a welcome gift. "
        "I can unsubscribe at any time.",
    )
    sms_offers = forms.BooleanField(
        required=False,
        label="Also text me offers (needs a mobile number). Reply STOP to opt out.",
    )
    # The countries the shop ships to.
    country_choices = [
        ("BE", "Belgium"),
        ("DE", "Germany"),
        ("ES", "Spain"),
        ("FR", "France"),
        ("IT", "Italy"),
        ("NL", "Netherlands"),
        ("GB", "United Kingdom"),
        ("US", "United States"),
    ]
    # Opt-in box -> the channel it grants.
    OPT_INS = {"email_offers": "email", "sms_offers": "sms"}

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "phone" not in self.fields:
            del self.fields["sms_offers"]  # texts need a number to go to
        # The opt-ins last, after the profile fields the mixin added.
        self.order_fields([name for name in self.fields if name not in self.OPT_INS])

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email

    def clean(self):
        cleaned = super().clean()
        number_missing = not cleaned.get("phone") and "phone" not in self.errors
        if cleaned.get("sms_offers") and number_missing:
            self.add_error("sms_offers", "Give your mobile number to receive texts.")
        return cleaned

    def save_consents(self, request, contact):
        """Record the ticked opt-ins, with the wording shown, in the consent ledger."""
        for name, channel in self.OPT_INS.items():
            if self.cleaned_data.get(name):
                grant_consent(
                    contact,
                    channel,
                    source="signup",
                    wording=str(self.fields[name].label),
                    request=request,
                )
