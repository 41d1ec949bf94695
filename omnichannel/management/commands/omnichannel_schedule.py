from django.core.management.base import BaseCommand

from ...schedule import install_periodic_tasks, periodic_tasks


class Command(BaseCommand):
    help = "Install omnichannel's periodic tasks into django-celery-beat (idempotent)."

    def handle(self, *args, **options):
        created = install_periodic_tasks()
        for name in created:
            self.stdout.write(f"Installed {name!r}.")
        kept = len(periodic_tasks()) - len(created)
        self.stdout.write(
            self.style.SUCCESS(f"{len(created)} periodic task(s) installed, {kept} already there.")
        )
