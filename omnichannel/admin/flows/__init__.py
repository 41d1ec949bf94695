"""The flow builder in the admin.

widgets.py  the conditions editor (flows, steps and segments use it)
forms.py    the flow, step, content, period, dry-run and test-send forms
flow.py     the flow's page: steps, status actions (through ``flows.lifecycle``), figures,
            dry run
step.py     a step's page: contents, variants, conditions, preview, test send
"""

from . import flow, step  # noqa: F401  (registers the flow and step admins)
