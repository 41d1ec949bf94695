"""What the API's serializers share: the ids pages send, and the limits of the columns.

A limit a serializer states must be the column's: a value the serializer lets through but
the column cannot hold fails only when it is saved, where the visitor hears "try again"
for an input that will never fit. So limits are read from the model fields, never typed.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


def column_length(model, name):
    """The ``max_length`` of ``model``'s field ``name``."""
    return model._meta.get_field(name).max_length


class PublicIdField(serializers.UUIDField):
    """The UUID of a popup or variant, as a string, as the page's configuration gives it.

    DRF's ``UUIDField`` also reads integers (``12`` is ``00000000-...-00000000000c``), so a
    number would validate to an id no popup has and be answered "no longer available",
    which sends the visitor reloading a page that is not at fault.
    """

    default_error_messages = {
        "invalid": _("Not a valid id: send the id the page was given, unchanged."),
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
