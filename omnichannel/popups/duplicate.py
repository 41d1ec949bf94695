"""A variant copied to start the next A/B arm or translation from."""

from django.utils.translation import gettext

from ..models import PopupVariant

NAME_LENGTH = PopupVariant._meta.get_field("name").max_length


def duplicate_variant(variant):
    """A saved copy of ``variant``'s content and look, named "<name> (copy)" (then
    "(copy 2)"...) in the staff member's language, in the variant's language, with weight
    0: it gets no traffic until staff give it a weight, so a copy never changes what
    visitors see by itself."""
    taken = set(
        PopupVariant.objects.filter(popup=variant.popup, locale=variant.locale).values_list(
            "name", flat=True
        )
    )
    number = 1
    while True:
        suffix = " " + (
            gettext("(copy)") if number == 1 else gettext("(copy %(n)d)") % {"n": number}
        )
        name = variant.name[: NAME_LENGTH - len(suffix)] + suffix
        if name not in taken:
            break
        number += 1
    copy = PopupVariant.objects.get(pk=variant.pk)
    copy.pk = copy.id = None
    copy._state.adding = True
    copy.uuid = PopupVariant._meta.get_field("uuid").get_default()
    copy.name = name
    copy.weight = 0
    copy.save()
    return copy
