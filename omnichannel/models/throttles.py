"""Pacing per sender, so bursts wait their turn instead of failing at the provider."""

from django.db import models


class SenderSlot(models.Model):
    """The next moment a sender (a long code, a WhatsApp number) may send again."""

    sender = models.CharField(max_length=200, unique=True)
    next_slot_at = models.DateTimeField()

    def __str__(self):
        return f"{self.sender} free at {self.next_slot_at}"
