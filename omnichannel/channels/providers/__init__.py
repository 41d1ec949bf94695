"""Reading what providers answer and report, shared by the backends and the webhooks."""
