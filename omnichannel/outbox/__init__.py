"""The outbox: queueing messages, and the dispatcher that decides, renders, paces and sends
them through the channel backends."""
