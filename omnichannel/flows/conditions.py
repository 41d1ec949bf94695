"""Named, typed conditions that staff pick and parametrise for flows and steps.

No free-text ORM lookups: every condition is a Python function registered here with a
label and its parameters (Django form fields), so the admin can offer a list, validate
what staff typed, and explain it. Integrators add their own:

    from django import forms
    from omnichannel.flows.conditions import register

    @register("vip", "Is a VIP", params={"level": forms.IntegerField(min_value=1)})
    def is_vip(contact, facts, level):
        return contact.attributes.get("vip_level", 0) >= level

A condition receives the contact, a ``Facts`` object (what the engine already knows:
the cart, orders), and its parameters; it returns True when the contact meets it.
Stored form: ``[{"name": "country_in", "params": {"countries": ["FR", "BE"]}}, ...]``.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..models.channels import Channel
from ..models.consent import ConsentStatus


@dataclass(frozen=True)
class Condition:
    name: str
    label: str
    check: object
    params: dict = field(default_factory=dict)

    def clean_params(self, raw):
        """Validated parameters, or ValidationError naming the field to fix."""
        raw = raw or {}
        unknown = set(raw) - set(self.params)
        if unknown:
            raise ValidationError(
                _("%(condition)s does not take %(names)s.")
                % {"condition": self.label, "names": ", ".join(sorted(unknown))}
            )
        cleaned = {}
        for name, form_field in self.params.items():
            try:
                cleaned[name] = form_field.clean(raw.get(name))
            except ValidationError as exc:
                raise ValidationError(
                    f"{self.label}, {form_field.label or name}: {' '.join(exc.messages)}"
                ) from exc
        return cleaned


@dataclass
class Facts:
    """What conditions may read without querying: filled by the engine per batch."""

    cart_value: Decimal | None = None
    purchases: int = 0
    consents: dict = field(default_factory=dict)  # channel -> status


_registry = {}


def register(name, label, params=None):
    """Decorator registering ``check(contact, facts, **params)`` as condition ``name``."""

    def decorator(check):
        _registry[name] = Condition(name, label, check, params or {})
        return check

    return decorator


def get(name):
    return _registry[name]


def choices():
    return sorted(((c.name, c.label) for c in _registry.values()), key=lambda item: item[1])


def validate(entries):
    """Clean a stored list of conditions; raises ValidationError with every problem."""
    if not isinstance(entries, list):
        raise ValidationError(_("Conditions are a list of {name, params} objects."))
    cleaned, problems = [], []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("name") not in _registry:
            name = entry.get("name") if isinstance(entry, dict) else entry
            known = ", ".join(name for name, _label in choices())
            problems.append(
                _("Unknown condition %(name)s. Known conditions: %(known)s.")
                % {"name": repr(name), "known": known}
            )
            continue
        try:
            params = get(entry["name"]).clean_params(entry.get("params"))
        except ValidationError as exc:
            problems.extend(exc.messages)
            continue
        cleaned.append({"name": entry["name"], "params": _jsonable(params)})
    if problems:
        raise ValidationError(problems)
    return cleaned


def _jsonable(params):
    return {
        key: str(value) if isinstance(value, Decimal) else value for key, value in params.items()
    }


def met(entries, contact, facts):
    """True when ``contact`` meets every condition in ``entries`` (an empty list: yes)."""
    for entry in entries or ():
        condition = get(entry["name"])
        if not condition.check(contact, facts, **condition.clean_params(entry.get("params"))):
            return False
    return True


# --- built-in conditions -----------------------------------------------------------------


@register("has_ordered", _("Has ordered"))
def has_ordered(contact, facts):
    return facts.purchases > 0


@register("has_not_ordered", _("Has not ordered yet"))
def has_not_ordered(contact, facts):
    return facts.purchases == 0


@register(
    "consent_for",
    _("Agreed to marketing on a channel"),
    {"channel": forms.ChoiceField(choices=Channel.choices, label=_("channel"))},
)
def consent_for(contact, facts, channel):
    return facts.consents.get(channel) == ConsentStatus.GRANTED


class CountryListField(forms.CharField):
    """ "FR, BE" or ["FR", "BE"] -> ["FR", "BE"]."""

    def clean(self, value):
        if isinstance(value, list | tuple):
            value = ",".join(value)
        codes = [code.strip().upper() for code in str(super().clean(value)).split(",")]
        codes = [code for code in codes if code]
        bad = [code for code in codes if len(code) != 2 or not code.isalpha()]
        if bad or not codes:
            raise ValidationError(_("Give two-letter country codes, e.g. FR, BE."))
        return codes


@register("country_in", _("Lives in one of these countries"), {"countries": CountryListField()})
def country_in(contact, facts, countries):
    return (contact.country or contact.phone_region) in countries


@register(
    "cart_value_at_least",
    _("Cart worth at least"),
    {"amount": forms.DecimalField(min_value=0, label=_("amount"))},
)
def cart_value_at_least(contact, facts, amount):
    return facts.cart_value is not None and facts.cart_value >= amount


@register(
    "customer_is",
    _("Customer is new or returning"),
    {"which": forms.ChoiceField(choices=[("new", _("new")), ("returning", _("returning"))])},
)
def customer_is(contact, facts, which):
    return (facts.purchases > 0) == (which == "returning")


@register("has_tag", _("Has a tag"), {"tag": forms.CharField(max_length=50, label=_("tag"))})
def has_tag(contact, facts, tag):
    return tag in (contact.attributes.get("tags") or [])
