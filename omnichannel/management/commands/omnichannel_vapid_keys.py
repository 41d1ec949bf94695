"""Generate the VAPID key pair web push is signed with.

Prints two lines to paste into ``OMNICHANNEL`` (stdout holds nothing else, so it can be
redirected); ``--output`` writes them to a new file readable by its owner only. Keep the
private key secret and stable: browsers subscribe with the public key, and a new pair
orphans every subscription made with the old one.
"""

import os

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Generate a VAPID key pair for web push and print it as OMNICHANNEL settings."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            metavar="FILE",
            help="Write the settings lines to FILE (which must not exist) instead of stdout.",
        )

    def handle(self, *args, output=None, **options):
        try:
            from py_vapid import Vapid
            from py_vapid.utils import b64urlencode

            from ...push.vapid import public_key
        except ImportError as exc:
            raise CommandError(
                "Web push needs pywebpush: pip install django-omnichannel[webpush]"
            ) from exc
        vapid = Vapid()
        vapid.generate_keys()
        private_number = vapid.private_key.private_numbers().private_value
        lines = (
            f'"VAPID_PUBLIC_KEY": "{public_key(vapid)}",\n'
            f'"VAPID_PRIVATE_KEY": "{b64urlencode(private_number.to_bytes(32, "big"))}",\n'
        )
        if output:
            try:
                descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except OSError as exc:
                raise CommandError(f"Cannot create {output}: {exc.strerror}.") from exc
            with os.fdopen(descriptor, "w") as file:
                file.write(lines)
            self.stderr.write(f"Wrote VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY to {output}.")
        else:
            self.stdout.write(lines, ending="")
        self.stderr.write(
            'Add these to OMNICHANNEL with "VAPID_SUBJECT": "mailto:<an address you read>". '
            "Keep the private key secret; a new pair orphans every existing subscription."
        )
