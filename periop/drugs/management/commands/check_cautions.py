"""The pharmacy check from the command line, for anaesthetists without the web pages."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from periop.api import DomainError
from periop.drugs.presenters import evaluation_to_dict
from periop.drugs.serializers import CheckInput
from periop.drugs.services import cautions_evaluate, patient_state_from_input

TIME_KEYS = {"onset", "resolved", "started", "stopped"}


def _value(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    if lowered in {"null", "none", "unknown-time"}:
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


class Command(BaseCommand):
    help = (
        "Checks planned drugs against a patient's conditions and prints the cautions. "
        "Example: check_cautions --condition burn:onset=2026-11-17,tbsa_percent=30 "
        "--drug succinylcholine --at 2026-11-22T08:00"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--condition",
            action="append",
            default=[],
            metavar="CODE[:KEY=VALUE,...]",
            help="A condition; keys onset, resolved, or any attribute. Repeatable.",
        )
        parser.add_argument(
            "--medication",
            action="append",
            default=[],
            metavar="CODE[:started=...,stopped=...]",
            help="A current or recent medication. Repeatable.",
        )
        parser.add_argument(
            "--drug", action="append", default=[], help="A planned drug. Repeatable."
        )
        parser.add_argument("--at", help="Planned time (default now).")
        parser.add_argument("--weight", help="Weight in kg (dose in mg as well as mg/kg).")
        parser.add_argument("--age", type=int, help="Age in years.")
        parser.add_argument("--receptor-state", choices=["up", "down", "mixed", "normal"])
        parser.add_argument(
            "--time-zone",
            default=settings.TIME_ZONE,
            help="Time zone for times given without an offset (default %(default)s).",
        )
        parser.add_argument("--json", action="store_true", help="Print the API's JSON instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            zone = zoneinfo.ZoneInfo(options["time_zone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise CommandError(f"Unknown time zone {options['time_zone']!r}.") from None
        payload: dict[str, Any] = {
            "conditions": [self._entry(raw, zone, "condition") for raw in options["condition"]],
            "medications": [
                self._entry(raw, zone, "medication", attributes=False)
                for raw in options["medication"]
            ],
            "drugs": options["drug"],
        }
        if options["at"]:
            payload["at"] = self._time(options["at"], zone, exact=True)
        patient: dict[str, Any] = {}
        if options["weight"] is not None:
            patient["weight_kg"] = options["weight"]
        if options["age"] is not None:
            patient["age_years"] = options["age"]
        if patient:
            payload["patient"] = patient
        if options["receptor_state"]:
            payload["receptor_state"] = options["receptor_state"]

        serializer = CheckInput(data=payload)
        if not serializer.is_valid():
            raise CommandError("Invalid input:\n" + _format_errors(serializer.errors))
        data = serializer.validated_data
        try:
            evaluation = cautions_evaluate(
                state=patient_state_from_input(data), drugs=data["drugs"], at=data["at"]
            )
        except DomainError as error:
            raise CommandError(f"Invalid input: {error.message}") from None
        result = evaluation_to_dict(evaluation)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(render_table(result))

    def _entry(
        self, raw: str, zone: dt.tzinfo, kind: str, *, attributes: bool = True
    ) -> dict[str, Any]:
        code, _, rest = raw.partition(":")
        entry: dict[str, Any] = {"code": code.strip()}
        extra: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in rest.split(","))):
            key, separator, value = item.partition("=")
            if not separator:
                raise CommandError(f"In --{kind} {raw!r}: expected KEY=VALUE, got {item!r}.")
            key = key.strip()
            if key in TIME_KEYS:
                entry[key] = None if value.lower() in {"", "unknown"} else self._time(value, zone)
            elif attributes:
                extra[key] = _value(value.strip())
            else:
                raise CommandError(f"In --{kind} {raw!r}: unknown key {key!r}.")
        if attributes:
            entry["attributes"] = extra
        return entry

    @staticmethod
    def _time(raw: str, zone: dt.tzinfo, *, exact: bool = False) -> str:
        """Dates stay dates; a time without an offset is read in the chosen time zone."""
        raw = raw.strip()
        if "T" not in raw and not exact:
            return raw
        try:
            parsed = dt.datetime.fromisoformat(raw)
        except ValueError:
            return raw  # the serializer reports it with the standard message
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return parsed.isoformat()


def _format_errors(errors: Any, prefix: str = "") -> str:
    lines: list[str] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            lines.append(
                _format_errors(value, f"{prefix}{key}" if not prefix else f"{prefix}.{key}")
            )
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            if isinstance(value, dict | list):
                if value:
                    lines.append(_format_errors(value, f"{prefix}[{index}]"))
            else:
                lines.append(f"  {prefix}: {value}")
    else:
        lines.append(f"  {prefix}: {errors}")
    return "\n".join(line for line in lines if line)


def render_table(result: dict[str, Any]) -> str:
    """A readable summary table, then the detail of each drug."""
    receptor = result["receptor_state"]
    overridden = " (clinician override)" if receptor["overridden"] else ""
    knowledge_base = result["knowledge_base"]
    lines = [
        f"Knowledge base {knowledge_base['version']} ({knowledge_base['digest']})",
        f"Planned time:   {result['at']}",
        f"Receptor state: {receptor['value']}{overridden}",
        f"Highest level:  {result['highest_level'].upper()}",
        *(_wrap("Assumed: " + assumption) for assumption in result["assumptions"]),
        "",
        f"{'DRUG':<20} {'LEVEL':<16} {'EFFECTS':<40} CONFLICT",
    ]
    for caution in result["cautions"]:
        effects = ", ".join(caution["effects"]) or "-"
        lines.append(
            f"{caution['drug']:<20} {caution['level'].upper():<16} {effects:<40} "
            f"{'yes' if caution['conflict'] else 'no'}"
        )
    for caution in result["cautions"]:
        lines += [
            "",
            f"== {caution['drug']}: {caution['level'].upper()}",
        ]
        if caution.get("instead"):
            lines.append(_wrap(caution["instead"]))
        lines.append(_wrap(caution["summary"]))
        for finding in caution["findings"]:
            lines.append(
                f"  - [{finding['level']}] {finding['rule']} "
                f"(triggered by {', '.join(finding['triggered_by']) or 'the drug itself'}; "
                f"references {', '.join(finding['references'])})"
            )
        # On an avoid or contraindicated caution these apply only after an override.
        when = " (only if given after an override)" if caution.get("only_after_override") else ""
        if caution["dose"]:
            lines.append(_wrap(f"Dose{when}: " + _dose_text(caution["dose"])))
        if caution["monitoring"]:
            lines.append(_wrap(f"Monitoring{when}: " + caution["monitoring"]))
        if caution["reversal"]:
            lines.append(_wrap(f"Reversal{when}: " + caution["reversal"]))
        for assumption in caution["assumptions"]:
            lines.append(_wrap("Assumed: " + assumption))
    return "\n".join(lines)


def _dose_text(dose: dict[str, Any]) -> str:
    parts = [dose["text"]]
    if dose["per_kg_mg"]:
        parts.append(f"[{dose['per_kg_mg']['min']}-{dose['per_kg_mg']['max']} mg/kg]")
    if dose["total_mg"]:
        parts.append(f"[{dose['total_mg']['min']}-{dose['total_mg']['max']} mg for this patient]")
    return " ".join(parts)


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=100, initial_indent="  ", subsequent_indent="    ")
