"""The flow engine: triggers, conditions, enrolment, advancing, exits.

Shops start custom flows with ``track_event``; everything else is triggered by the
app's own signals (signup, popup subscription, first order, abandoned cart).
"""
