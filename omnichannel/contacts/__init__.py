"""Contacts: identity, the consent ledger, segments, the timeline, privacy requests."""
