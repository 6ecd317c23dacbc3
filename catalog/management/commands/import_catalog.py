"""`manage.py import_catalog FILE.csv`: import a shop's catalog, all rows or none."""

from django.core.management.base import BaseCommand, CommandError

from catalog.importer import REQUIRED_COLUMNS, CatalogImportError, import_catalog


class Command(BaseCommand):
    help = (
        "Import tires from a CSV file with a header row naming the columns "
        f"{', '.join(REQUIRED_COLUMNS)} (optional: studded, is_active). Every row is checked "
        "first; if any is bad, nothing is imported."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="Path of the CSV file.")
        parser.add_argument(
            "--encoding",
            default="utf-8-sig",
            help="Text encoding of the file (default UTF-8; e.g. cp1251).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and report what would change; write nothing.",
        )
        parser.add_argument(
            "--deactivate-missing",
            action="store_true",
            help="Stop offering active tires whose SKU is not in the file.",
        )

    def handle(self, *args, **options) -> None:
        try:
            result = import_catalog(
                options["file"],
                encoding=options["encoding"],
                dry_run=options["dry_run"],
                deactivate_missing=options["deactivate_missing"],
            )
        except FileNotFoundError as error:
            raise CommandError(f"No such file: {options['file']}") from error
        except CatalogImportError as error:
            raise CommandError(
                f"Nothing was imported: {len(error.errors)} problem(s) in {options['file']}:\n"
                + "\n".join(f"  {line}" for line in error.errors)
            ) from error
        verb = "would be" if options["dry_run"] else "were"
        summary = (
            f"{result.rows} row(s): {result.created} tires {verb} created, {result.updated} "
            f"updated, {result.unchanged} unchanged"
        )
        if result.brands_created:
            summary += f"; new brands: {', '.join(result.brands_created)}"
        if options["deactivate_missing"] and not options["dry_run"]:
            summary += f"; {result.deactivated} tires not in the file deactivated"
        self.stdout.write(self.style.SUCCESS(summary + "."))
