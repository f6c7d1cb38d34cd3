from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from periop.accounts.models import MAXIMUM_API_TOKEN_LIFETIME_DAYS, ApiToken
from periop.accounts.services import api_token_issue, api_token_revoke

# The ledger's actor for the tokens this command issues or revokes.
COMMAND_ACTOR = "command:api_token"


class Command(BaseCommand):
    help = (
        "Issues a new API token for an existing user and prints its key once (any token they "
        "held is revoked), or with --revoke revokes their tokens. Both are audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--revoke", action="store_true", help="Revoke the user's tokens; issue none."
        )
        parser.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            help="Days until the new token expires (1 to "
            f"{MAXIMUM_API_TOKEN_LIFETIME_DAYS}; by default API_TOKEN_LIFETIME_DAYS).",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        if options["revoke"]:
            tokens = list(ApiToken.objects.select_for_update().filter(user=user))
            for token in tokens:
                api_token_revoke(actor=COMMAND_ACTOR, token=token)
            self.stdout.write(f"Revoked {len(tokens)} API token(s) of {user.username}.")
            return
        try:
            key = api_token_issue(
                actor=COMMAND_ACTOR, user=user, lifetime_days=options["expires_in_days"]
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        expires_at = ApiToken.objects.get(user=user).expires_at
        # Only the key's digest is stored: this line is the one chance to copy it.
        self.stdout.write(f"API token (shown once): {key}")
        self.stdout.write(f"It expires at {expires_at.isoformat(timespec='seconds')}.")
