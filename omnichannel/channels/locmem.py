"""A backend that keeps messages in memory, like Django's locmem email backend.

    from omnichannel.channels import locmem
    locmem.outbox  # [(channel, address, rendered, message uuid), ...]

Configure it for any channel in tests: ``CHANNEL_BACKENDS = {"sms": "...LocmemBackend"}``.
"""

from .base import BaseChannelBackend, SendResult

outbox = []


def clear():
    outbox.clear()


class LocmemBackend(BaseChannelBackend):
    provider = "locmem"
    supports_lookup = True
    request_timeout = 1  # no network: a call is a list append

    def address(self, message):
        contact = message.contact
        if message.channel == "email":
            return contact.email
        if message.channel in ("sms", "whatsapp"):
            return contact.phone
        return str(contact.uuid)

    def build_payload(self, message, rendered):
        return (message.channel, message.to, rendered, str(message.uuid))

    def call_provider(self, payload, message):
        outbox.append(payload)
        return payload

    def parse_response(self, response, message):
        return SendResult(provider_message_id=f"locmem-{message.uuid}")

    def lookup(self, message):
        sent = any(entry[3] == str(message.uuid) for entry in outbox)
        return f"locmem-{message.uuid}" if sent else None
