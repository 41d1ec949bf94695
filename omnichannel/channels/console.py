"""A backend that prints messages, for the demo and for development."""

import sys

from .locmem import LocmemBackend


class ConsoleBackend(LocmemBackend):
    provider = "console"
    supports_lookup = False
    stream = sys.stdout

    def call_provider(self, payload, message):
        channel, address, rendered, message_id = payload
        lines = [f"--- omnichannel {channel} message {message_id} to {address}"]
        lines += [f"{name}: {value}" for name, value in rendered.items()]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        return payload
