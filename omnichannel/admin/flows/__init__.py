"""The flow builder in the admin."""

from . import flow  # noqa: F401  (registers the flow and step admins)
