"""Outgoing webhooks: the app's events, signed and POSTed to the integrator's endpoints.

``events`` turns the app's signals into event payloads, ``queueing`` writes one delivery
row per subscribed endpoint, ``delivery`` is the beat-driven sweeper that POSTs them with
retries, ``signing`` signs them (and verifies, for receivers written in Python), and
``erasure`` scrubs an erased contact from what is still stored.
"""
