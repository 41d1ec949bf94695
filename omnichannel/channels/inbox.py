"""The on-site inbox: the message itself is the inbox item, so nothing leaves the shop."""

from .base import BaseChannelBackend, SendResult


class InboxBackend(BaseChannelBackend):
    channel = "inbox"
    provider = "inbox"
    request_timeout = 1  # a row in our own database

    def address(self, message):
        return str(message.contact.uuid)

    def build_payload(self, message, rendered):
        return rendered

    def call_provider(self, payload, message):
        return payload

    def parse_response(self, response, message):
        return SendResult(provider_message_id=f"inbox-{message.uuid}", delivered=True)
