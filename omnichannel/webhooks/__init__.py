"""Endpoints that providers call: delivery reports and customers' replies.

Each one proves the request comes from its provider (a signature, a shared secret) before
it reads or stores anything.
"""
