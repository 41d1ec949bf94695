"""Export everything the app holds about one contact as JSON (a GDPR access request).

Name the contact by ``--email``, ``--phone`` (international form, or national with
``DEFAULT_PHONE_REGION`` set) or ``--uuid``; several must name the same contact. The JSON
goes to stdout (nothing else does), or with ``--output`` to a new file readable by its
owner only: it is personal data.
"""

import os

from django.core.management.base import BaseCommand, CommandError

from ...contacts.privacy import IDENTIFIERS, find_contact
from ...contacts.privacy.export import dumps, export_contacts


class Command(BaseCommand):
    help = "Export everything about one contact as JSON (by --email, --phone or --uuid)."

    def add_arguments(self, parser):
        for name in IDENTIFIERS:
            parser.add_argument(f"--{name}", help=f"The contact's {name}.")
        parser.add_argument(
            "--output",
            metavar="FILE",
            help="Write the JSON to FILE (which must not exist) instead of stdout.",
        )

    def handle(self, *args, output=None, **options):
        try:
            contact = find_contact(**{name: options[name] for name in IDENTIFIERS})
        except LookupError as exc:
            raise CommandError(exc.args[0]) from exc
        text = dumps(export_contacts([contact])) + "\n"
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise CommandError(f"Cannot create {output}: {exc.strerror}.") from exc
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        self.stderr.write(f"Wrote the data of contact {contact.uuid} to {output}.")
