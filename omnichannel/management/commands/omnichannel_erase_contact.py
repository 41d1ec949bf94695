"""Erase one contact on request (GDPR art. 17); see ``omnichannel.contacts.privacy.erasure``.

Name the contact as for ``omnichannel_export_contact``. It asks for confirmation unless
``--yes`` is given, and refuses to run unattended without it. Prints what was done.
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from ...contacts.privacy import IDENTIFIERS, find_contact
from ...contacts.privacy.erasure import describe, erase_contact


class Command(BaseCommand):
    help = "Erase one contact: anonymise their history, delete their data, keep the figures."

    def add_arguments(self, parser):
        for name in IDENTIFIERS:
            parser.add_argument(f"--{name}", help=f"The contact's {name}.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")
        parser.add_argument(
            "--by",
            default="manage.py",
            help="Who asked, recorded in the erasure log (e.g. a staff username).",
        )

    def handle(self, *args, yes=False, by="manage.py", **options):
        try:
            contact = find_contact(**{name: options[name] for name in IDENTIFIERS})
        except LookupError as exc:
            raise CommandError(exc.args[0]) from exc
        if not yes:
            self.confirm(contact)
        erasure = erase_contact(contact, by=by)
        self.stdout.write(self.style.SUCCESS(f"Erased contact {erasure.contact_uuid}."))
        for line in describe(erasure.counts):
            self.stdout.write(f"  {line}")

    def confirm(self, contact):
        if not sys.stdin.isatty():
            raise CommandError("Not asking without a terminal: add --yes to erase.")
        answer = input(
            f"Erase {contact} (contact {contact.uuid})? This cannot be undone. Type 'yes': "
        )
        if answer.strip().lower() != "yes":
            raise CommandError("Nothing erased.")
