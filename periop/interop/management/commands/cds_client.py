from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from periop.accounts.models import Department
from periop.audit.services import Actor
from periop.interop.models import CdsClient
from periop.interop.services import cds_client_remove, cds_client_save

# The ledger's actor for the registrations this command makes.
COMMAND_ACTOR = Actor.system("command:cds_client")


def _public_key(path: str) -> str:
    """The PEM text of an EC P-384 or RSA public key; anything else is refused."""
    try:
        text = Path(path).read_text(encoding="ascii")
        key = load_pem_public_key(text.encode())
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise CommandError(f"{path} is not a readable PEM public key: {error}") from error
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1":
        return text
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048:
        return text
    raise CommandError(f"{path} is neither an EC P-384 key (ES384) nor an RSA key (RS384).")


class Command(BaseCommand):
    help = (
        "Registers, lists or removes the CDS clients allowed to call /cds-services. "
        "add ISSUER --department CODE (--public-key PEM_FILE | --jwks-url URL); list; "
        "remove ISSUER. Every change is audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        add = commands.add_parser("add", help="Register a client (or change its key).")
        add.add_argument("issuer", help="The iss of the client's JWTs, exactly.")
        add.add_argument("--department", required=True, help="Department code.")
        key = add.add_mutually_exclusive_group(required=True)
        key.add_argument("--public-key", help="PEM file of the client's public key.")
        key.add_argument("--jwks-url", help="https URL of the client's JWK Set.")
        commands.add_parser("list", help="List the registered clients.")
        remove = commands.add_parser("remove", help="Remove (or deactivate) a client.")
        remove.add_argument("issuer")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            for client in CdsClient.objects.select_related("department"):
                key = f"jwks {client.jwks_url}" if client.jwks_url else "public key"
                state = "active" if client.active else "inactive"
                self.stdout.write(f"{client.issuer}\t{client.department.code}\t{key}\t{state}")
            return
        if action == "remove":
            found = CdsClient.objects.filter(issuer=options["issuer"]).first()
            if found is None:
                raise CommandError(f"No client with issuer {options['issuer']!r}.")
            cds_client_remove(actor=COMMAND_ACTOR, client=found)
            self.stdout.write(f"Removed {options['issuer']}.")
            return
        department = Department.objects.filter(code=options["department"]).first()
        if department is None:
            raise CommandError(f"No department with code {options['department']!r}.")
        client = CdsClient.objects.filter(issuer=options["issuer"]).first() or CdsClient(
            issuer=options["issuer"]
        )
        client.department = department
        client.active = True
        client.public_key_pem = _public_key(options["public_key"]) if options["public_key"] else ""
        client.jwks_url = options["jwks_url"] or ""
        try:
            cds_client_save(actor=COMMAND_ACTOR, client=client)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"Registered {client.issuer} for {department.code}.")
