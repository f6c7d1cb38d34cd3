from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from periop.accounts.services import department_create


class Command(BaseCommand):
    help = "Creates a department (the unit of access control and of reports)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="Short identifier, for example main-theatres.")
        parser.add_argument("--name", required=True, help="Display name.")
        parser.add_argument("--time-zone", default="UTC", help="IANA time zone for reports.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            department = department_create(
                code=options["code"], name=options["name"], time_zone=options["time_zone"]
            )
        except ValidationError as error:
            raise CommandError(_messages(error)) from None
        self.stdout.write(f"Created department {department.code} ({department.name}).")


def _messages(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)
