import getpass
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from periop.accounts.management.commands.create_department import _messages
from periop.accounts.models import Department, Profession, Role
from periop.accounts.services import api_token_issue, profession_set, user_create

# The ledger's actor for what this command changes: whoever runs it has shell access, not a user.
COMMAND_ACTOR = "command:create_user"
PASSWORD_VARIABLE = "PERIOP_USER_PASSWORD"  # noqa: S105 (the name of a variable, not a password)


class Command(BaseCommand):
    help = (
        "Creates a user with a role in a department. The password comes from the "
        f"{PASSWORD_VARIABLE} environment variable or an interactive prompt, never an argument "
        "(arguments end up in shell history and process lists)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--department", required=True, help="Department code.")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--profession",
            default="",
            choices=["", *Profession.values],
            help="For a kb-reviewer: the sign-off they give.",
        )
        parser.add_argument(
            "--api-token",
            action="store_true",
            help="Also issue an API token (for pharmacy systems) and print it once.",
        )
        parser.add_argument("--no-input", action="store_true", help="Never prompt.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            department = Department.objects.get(code=options["department"])
        except Department.DoesNotExist:
            raise CommandError(
                f"No department with code {options['department']!r}. "
                "Create it first with create_department."
            ) from None
        password = self._password(no_input=options["no_input"])
        try:
            with transaction.atomic():
                user = user_create(
                    actor=COMMAND_ACTOR,
                    username=options["username"],
                    password=password,
                    role=options["role"],
                    department=department,
                    email=options["email"],
                )
                if options["profession"]:
                    profession_set(actor=COMMAND_ACTOR, user=user, profession=options["profession"])
        except ValidationError as error:
            raise CommandError(_messages(error)) from None
        self.stdout.write(
            f"Created user {user.username} as {options['role']} in {department.code}."
        )
        if options["api_token"]:
            self.stdout.write(
                f"API token (shown once): {api_token_issue(actor=COMMAND_ACTOR, user=user)}"
            )

    def _password(self, *, no_input: bool) -> str:
        password = os.environ.get(PASSWORD_VARIABLE, "")
        if password:
            return password
        if no_input:
            raise CommandError(
                f"No password: set {PASSWORD_VARIABLE} or run without --no-input to be prompted."
            )
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password (again): ")
        if first != second:
            raise CommandError("The two passwords differ.")
        if not first:
            raise CommandError("The password must not be empty.")
        return first
