from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from periop.accounts.models import Department, Profession, Role
from periop.accounts.services import (
    api_token_issue,
    department_create,
    profession_set,
    random_password,
    user_create,
    user_privileges_set,
)

DEMO_DEPARTMENT = "demo"
# The ledger's actor for the accounts this command creates.
COMMAND_ACTOR = "command:demo_setup"


class Command(BaseCommand):
    help = (
        "Creates a demo department with one user per role and prints their random passwords "
        "once. Running it again changes nothing unless --reset-passwords is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Give the demo users new random passwords and print them.",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        department = Department.objects.filter(code=DEMO_DEPARTMENT).first()
        if department is None:
            department = department_create(code=DEMO_DEPARTMENT, name="Demo department")
        user_model = get_user_model()
        printed: list[tuple[str, str, str]] = []
        # One user per role; knowledge-base review takes two reviewers, one per profession.
        accounts = [(f"demo-{role}", role, "") for role in Role.values if role != Role.KB_REVIEWER]
        accounts += [
            ("demo-kb-anaesthetist", Role.KB_REVIEWER, Profession.CONSULTANT_ANAESTHETIST),
            ("demo-kb-pharmacist", Role.KB_REVIEWER, Profession.CLINICAL_PHARMACIST),
        ]
        for username, role, profession in accounts:
            existing = user_model.objects.filter(username=username).first()
            if existing is None:
                password = random_password(user_model(username=username))
                user = user_create(
                    actor=COMMAND_ACTOR,
                    username=username,
                    password=password,
                    role=role,
                    department=department,
                    # The department administrator also administers the site in the demo.
                    is_staff=role == Role.ADMIN,
                )
                if role == Role.ADMIN:
                    user_privileges_set(actor=COMMAND_ACTOR, user=user, is_superuser=True)
                if profession:
                    profession_set(actor=COMMAND_ACTOR, user=user, profession=profession)
                printed.append((username, role, password))
            elif options["reset_passwords"]:
                password = random_password(existing)
                existing.set_password(password)
                existing.save(update_fields=["password"])
                printed.append((username, role, password))
        if not printed:
            self.stdout.write(
                "Demo users already exist; their passwords were printed when they were created. "
                "Run `python manage.py demo_setup --reset-passwords` for new ones."
            )
            return
        self.stdout.write(
            "Demo department 'demo': sign in at http://127.0.0.1:8000/login "
            "(reports at /reports/, administration at /admin/)"
        )
        self.stdout.write("These passwords are shown once:")
        for username, role, password in printed:
            self.stdout.write(f"  {username:<20} {role:<12} {password}")
        pharmacist = user_model.objects.get(username="demo-pharmacist")
        if any(username == "demo-pharmacist" for username, _, _ in printed):
            key = api_token_issue(actor=COMMAND_ACTOR, user=pharmacist)
            self.stdout.write(f"API token for demo-pharmacist (shown once): {key}")
