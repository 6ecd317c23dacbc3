"""`manage.py load_sample_catalog`: a realistic sample catalog for a first run or a demo."""

from django.core.management.base import BaseCommand

from catalog.sample_catalog import load_sample_catalog


class Command(BaseCommand):
    help = "Load a sample catalog of several hundred tires (idempotent: safe to run again)."

    def handle(self, *args, **options) -> None:
        result = load_sample_catalog()
        self.stdout.write(
            self.style.SUCCESS(
                f"Sample catalog loaded: {result.tires_created} tires created, "
                f"{result.tires_updated} updated, {result.brands_created} new brands."
            )
        )
