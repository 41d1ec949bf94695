"""What the privacy tools leave behind: a record of each erasure, naming no one."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

# The contact that keeps the messages of erased contacts, anonymised, so that figures per
# channel and status stay whole after the person's own row is deleted. It holds no
# identifier (no email, phone or user), so nothing can ever be matched or merged into it.
ERASED_CONTACT_UUID = uuid.UUID(int=0)


class Erasure(models.Model):
    """One contact erased on request: when, by whom, and how much was removed.

    It keeps the contact's uuid, never an address or a name: enough to show that a request
    was honoured (and to erase the contact again after restoring a backup), while holding
    nothing that identifies the person.
    """

    contact_uuid = models.UUIDField(_("contact"), db_index=True)
    erased_by = models.CharField(
        _("erased by"), max_length=150, help_text=_('A staff username, or "the contact".')
    )
    erased_at = models.DateTimeField(_("erased"), auto_now_add=True, db_index=True)
    counts = models.JSONField(
        _("what was done"),
        default=dict,
        blank=True,
        help_text=_("Rows per model, by what was done to them (anonymised, deleted, ...)."),
    )

    class Meta:
        verbose_name = _("erasure")
        verbose_name_plural = _("erasure log")
        ordering = ["-erased_at", "-id"]

    def __str__(self):
        return f"contact {self.contact_uuid} erased by {self.erased_by}"
