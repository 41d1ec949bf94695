"""Install the ready-made flows (the welcome series) as drafts to edit in the admin."""

from django.core.management.base import BaseCommand

from omnichannel.flows import validation
from omnichannel.flows.defaults import install_defaults
from omnichannel.models.flows import FlowStatus


class Command(BaseCommand):
    help = (
        "Create the shipped flows that do not exist yet (looked up by slug; existing ones "
        "are left as they are). New flows are drafts unless --activate is given and they "
        "pass their validation."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--activate",
            action="store_true",
            help="Make the new flows active at once (default: draft, for staff to review).",
        )
        parser.add_argument(
            "--fast",
            action="store_true",
            help="A day of each series takes a minute: for demos and trying flows out.",
        )

    def handle(self, *args, activate, fast, **options):
        for flow, created in install_defaults(activate=activate, fast=fast):
            if created:
                state = flow.get_status_display().lower()
                self.stdout.write(self.style.SUCCESS(f"Created flow {flow.slug!r} ({state})."))
                if activate and flow.status != FlowStatus.ACTIVE:
                    problem = validation.blocking(flow)[0].text
                    self.stderr.write(f"Flow {flow.slug!r} was not activated: {problem}")
            else:
                self.stdout.write(f"Flow {flow.slug!r} exists: left as it is.")
