"""Who may do what in the admin.

Every action and every custom admin page checks a permission: Django's model permissions
(view, add, change, delete) and two of the app's own, where none of those says it:

- ``omnichannel.requeue_message``: send a failed or cancelled message again;
- ``omnichannel.export_contact``: download everything known about contacts (GDPR access);
- ``omnichannel.retry_webhookdelivery``: post an outgoing webhook delivery again now.

``MARKETING_PERMISSIONS`` is the group the README describes for the people who run the
campaigns: they build, test and switch flows, popups and segments, and read everything
else; requeueing, lifting suppressions, exports and erasure stay with whoever the shop
trusts with its customers' data.
"""

from django.contrib.auth.models import Group, Permission

APP_LABEL = "omnichannel"

# Built, tested and switched on and off by marketing.
_BUILT = (
    "flow", "step", "stepcontent", "stepvariant", "popup", "popupvariant", "segment", "brand",
)  # fmt: skip
# Read by marketing, written by the app (or by the people trusted with customer data).
_READ = (
    "contact", "consent", "consentevent", "suppression", "message", "deliveryevent",
    "cartsnapshot", "cartrecovery", "marketingresults", "trackedorder", "popupsignup",
    "channelcost", "pushsubscription", "inboundmessage", "webhookendpoint", "webhookdelivery",
    "productview", "productalert", "productevent",
)  # fmt: skip

MARKETING_PERMISSIONS = tuple(
    [f"{verb}_{model}" for model in _BUILT for verb in ("view", "add", "change", "delete")]
    + [f"view_{model}" for model in _READ]
)


def marketing_group(name="Marketing"):
    """The marketing group, created or brought up to date with ``MARKETING_PERMISSIONS``
    (run it again after an upgrade that adds models)."""
    group, _created = Group.objects.get_or_create(name=name)
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label=APP_LABEL, codename__in=MARKETING_PERMISSIONS
        )
    )
    return group


def may_view_contacts(request):
    """Whether the user may see real contacts: previews, dry runs and test sends for a
    chosen contact show their name, cart and recommendations."""
    return request.user.has_perm("omnichannel.view_contact")
