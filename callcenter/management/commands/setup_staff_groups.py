"""Creates or updates the Operators and Managers groups from callcenter.staff_groups."""

from django.core.management.base import BaseCommand, CommandError

from callcenter.staff_groups import PermissionsMissing, sync_staff_groups


class Command(BaseCommand):
    help = (
        "Create the staff groups (Operators, Managers) and give each exactly its listed "
        "permissions. Safe to run again: it only adds and removes the differences."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--database", default="default", help="Database alias to use.")

    def handle(self, *args, database: str, **options) -> None:
        try:
            changes = sync_staff_groups(database)
        except PermissionsMissing as error:
            raise CommandError(
                f"These permissions do not exist yet: {error}. Run 'manage.py migrate' first."
            ) from error
        for change in changes:
            verb = "Created" if change.created else "Checked"
            self.stdout.write(
                f"{verb} group {change.group}: {len(change.added)} permissions added, "
                f"{len(change.removed)} removed."
            )
