"""Fills a database with realistic demo data for trying and measuring the reports at scale.

    python manage.py seed_demo --departments 5 --patients 20000 --assessments 1000000

Departments (each in its own time zone) with clinicians, an auditor and an admin; patients with
neuromuscular-junction conditions; assessments spread over the last months, their caution and
condition rows, acknowledgements and overrides; and a valid, chained audit event for every
create, acknowledgement and signature. Rows go in with COPY on PostgreSQL and large multi-row
INSERTs elsewhere, inside one transaction that holds the audit chain head, so a failed run
leaves nothing behind.

Each assessment stores the snapshots a real one does: the patient's recorded state at the
planned time as the assessment services build it (`recorded_state_build`, `inputs_to_dict`),
and the engine's evaluation of it on the active release with the department's tunings in
force, so a seeded assessment renders and replays "identical" on its release. The evaluation
depends on the planned time (time windows) and the weight (doses), which differ from one
assessment to the next, so every assessment is evaluated (about 0.15 ms each).
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from periop.accounts.models import Department, Membership, Role
from periop.assessments.models import (
    REASONS_NEEDING_COMMENT,
    Acknowledgement,
    Assessment,
    AssessmentCaution,
    AssessmentConditionCode,
    AssessmentFinding,
    Patient,
    PatientCondition,
    ReasonCode,
)
from periop.assessments.selectors import recorded_state_build
from periop.assessments.services.snapshots import (
    acknowledgement_required,
    canonical_json,
    digest,
    finding_keys,
    inputs_to_dict,
)
from periop.audit.chain import STORED_FIELDS, row_hash, signing_key
from periop.audit.chain import canonical_json as audit_json
from periop.audit.models import AuditChainHead, AuditEvent
from periop.drugs.engine.tuning import Tuning, evaluation_tune
from periop.drugs.presenters import evaluation_to_dict
from periop.drugs.services import cautions_evaluate
from periop.drugs.tunings import department_tunings

TIME_ZONES = (
    "Europe/London",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "America/Los_Angeles",
    "Asia/Tokyo",
)
# Conditions without required attributes, weighted roughly by how often anaesthetists meet them.
CONDITIONS = (
    ("myasthenia-gravis", 20),
    ("renal-impairment", 18),
    ("immobilization", 10),
    ("critical-illness", 8),
    ("stroke", 8),
    ("spinal-cord-injury", 5),
    ("burn", 5),
    ("malignant-hyperthermia-susceptibility", 4),
    ("myotonic-dystrophy", 3),
    ("lambert-eaton", 3),
    ("muscular-dystrophy", 3),
    ("epilepsy", 6),
    ("sepsis", 5),
    ("guillain-barre", 2),
)
DRUG_PLANS = (
    (("rocuronium", "sugammadex"), 30),
    (("succinylcholine", "rocuronium", "sugammadex"), 15),
    (("rocuronium", "neostigmine"), 12),
    (("cisatracurium", "neostigmine"), 10),
    (("atracurium", "neostigmine"), 6),
    (("vecuronium", "sugammadex", "gentamicin"), 6),
    (("succinylcholine",), 6),
    (("rocuronium", "sugammadex", "magnesium-sulfate"), 5),
    (("mivacurium",), 3),
    (("rocuronium", "sugammadex", "gentamicin", "colistin"), 3),
    (("succinylcholine", "cisatracurium", "neostigmine", "phenytoin"), 4),
)
PROCEDURES = (
    "Laparoscopic cholecystectomy",
    "Total hip replacement",
    "Thymectomy",
    "Emergency laparotomy",
    "Burns debridement and grafting",
    "Caesarean section",
    "Tracheostomy",
    "Appendicectomy",
)
REASONS = (
    (ReasonCode.BENEFIT_OUTWEIGHS_RISK, 40),
    (ReasonCode.NO_ALTERNATIVE, 25),
    (ReasonCode.ALREADY_TOLERATED, 20),
    (ReasonCode.CAUTION_NOT_APPLICABLE, 10),
    (ReasonCode.OTHER_DOCUMENTED, 5),
)
CLINICIANS_PER_DEPARTMENT = 12
CHUNK = 20_000


def _weighted(options: Sequence[tuple[Any, int]]) -> tuple[list[Any], list[int]]:
    return [option for option, _ in options], [weight for _, weight in options]


class Writer:
    """Appends rows to a table: COPY on PostgreSQL, multi-row INSERTs elsewhere."""

    def __init__(self) -> None:
        self.vendor = connection.vendor
        self.written: dict[str, int] = {}

    def write(self, model: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        table = model._meta.db_table
        self.written[table] = self.written.get(table, 0) + len(rows)
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                # Table and column names come from the models, never from input.
                statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
                with cursor.cursor.copy(statement) as copy:
                    for row in rows:
                        copy.write_row(row)
                return
            fields = {field.column: field for field in model._meta.concrete_fields}
            adapted = [
                tuple(
                    _adapt(fields[column], value)
                    for column, value in zip(columns, row, strict=True)
                )
                for row in rows
            ]
            per_statement = max(1, 900 // len(columns))  # SQLite's limit on parameters
            for start in range(0, len(adapted), per_statement):
                batch = adapted[start : start + per_statement]
                placeholders = ", ".join(
                    ["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(batch)
                )
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders}",  # noqa: S608
                    [value for row in batch for value in row],
                )


def _adapt(field: Any, value: Any) -> Any:
    if value is None:
        return None
    if field.get_internal_type() == "JSONField":
        # Already JSON text, stored as it is (encoding it again would store a JSON string).
        return value
    return field.get_db_prep_value(
        field.to_python(value) if isinstance(value, str) else value, connection
    )


class Command(BaseCommand):
    help = "Fill the database with realistic demo departments, patients and assessments."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--departments", type=int, default=5)
        parser.add_argument("--patients", type=int, default=20_000)
        parser.add_argument("--assessments", type=int, default=1_000_000)
        parser.add_argument("--months", type=int, default=12, help="History to spread over.")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (repeatable).")
        parser.add_argument(
            "--password", default="", help="Password of the demo users (none: they cannot log in)."
        )
        parser.add_argument(
            "--force", action="store_true", help="Seed even though patients already exist."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("departments", "patients", "assessments", "months"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1.")
        if not options["force"] and (Patient.objects.exists() or Assessment.objects.exists()):
            raise CommandError(
                "This database already holds patients or assessments. seed_demo adds made-up "
                "records and audit events beside them; run it on a scratch database, or pass "
                "--force if that is really what you want."
            )
        began = time.perf_counter()
        # Demo data, repeatable from a seed: no secrets come from this generator.
        self.random = random.Random(options["seed"])  # noqa: S311
        self.now = timezone.now().replace(microsecond=0)
        # Conditions begin before the history: an assessment never precedes an onset.
        self.last_onset = (self.now - dt.timedelta(days=30 * options["months"] + 1)).date()
        self.run_id = uuid.uuid4().hex[:8]
        self.writer = Writer()
        with transaction.atomic():
            # Creating users and memberships appends their own audit events (privilege
            # changes), so the head is read after them, and then held to the end: no other
            # appender can fork the chain while the seed writes it.
            departments = self._departments(options["departments"])
            clinicians = self._users(departments, options["password"])
            head = AuditChainHead.objects.select_for_update().get_or_create(id=1)[0]
            self.sequence, self.previous_hash = head.sequence, head.hash
            self.key_id, self.key = signing_key()
            patients = self._patients(departments, options["patients"])
            self._assessments(departments, clinicians, patients, options)
            AuditChainHead.objects.filter(id=1).update(
                sequence=self.sequence, hash=self.previous_hash
            )
            self._reset_sequences()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and not connection.in_atomic_block:
                # Outside the transaction (VACUUM cannot run in one): fresh statistics, and a
                # visibility map so index-only scans work at once, as after autovacuum.
                cursor.execute("VACUUM ANALYZE")
            elif connection.vendor == "postgresql":
                # Called inside someone's transaction (a test, a script): statistics only.
                cursor.execute("ANALYZE")
        elapsed = time.perf_counter() - began
        for table, count in sorted(self.writer.written.items()):
            self.stdout.write(f"  {table}: {count:,} rows")
        self.stdout.write(self.style.SUCCESS(f"Seeded in {elapsed:.1f} s."))

    # --- departments, users and patients -----------------------------------------------------

    def _departments(self, count: int) -> list[Department]:
        departments = []
        for number in range(1, count + 1):
            department, _ = Department.objects.get_or_create(
                code=f"demo-{number}",
                defaults={
                    "name": f"Demo department {number}",
                    "time_zone": TIME_ZONES[(number - 1) % len(TIME_ZONES)],
                },
            )
            departments.append(department)
        self.stdout.write(f"{len(departments)} departments")
        return departments

    def _users(self, departments: list[Department], password: str) -> dict[int, list[int]]:
        user_model = get_user_model()
        # One hash for every demo user: hashing is deliberately slow.
        hashed = make_password(password or None)
        clinicians: dict[int, list[int]] = {}
        for department in departments:
            names = [
                f"{department.code}-anaesthetist-{n}"
                for n in range(1, CLINICIANS_PER_DEPARTMENT + 1)
            ]
            roles = dict.fromkeys(names, Role.ANESTHETIST)
            roles[f"{department.code}-auditor"] = Role.AUDITOR
            roles[f"{department.code}-admin"] = Role.ADMIN
            for username, role in roles.items():
                user, _ = user_model.objects.get_or_create(
                    username=username, defaults={"password": hashed}
                )
                Membership.objects.get_or_create(
                    user=user, department=department, defaults={"role": role}
                )
                if role == Role.ANESTHETIST:
                    clinicians.setdefault(department.pk, []).append(user.pk)
        self.usernames = dict(
            user_model.objects.filter(username__startswith="demo-").values_list("pk", "username")
        )
        self.stdout.write(
            f"{len(self.usernames)} users (auditors: demo-<n>-auditor"
            + (")" if password else "; no password given, so they cannot log in)")
        )
        return clinicians

    def _next_id(self, model: Any) -> int:
        last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
        return int(last or 0) + 1

    def _patients(
        self, departments: list[Department], count: int
    ) -> dict[int, list[tuple[int, tuple[str, ...]]]]:
        """Patients per department, each with its condition codes."""
        codes, weights = _weighted(CONDITIONS)
        first_patient, first_condition = self._next_id(Patient), self._next_id(PatientCondition)
        patient_rows: list[tuple[Any, ...]] = []
        condition_rows: list[tuple[Any, ...]] = []
        by_department: dict[int, list[tuple[int, tuple[str, ...]]]] = {}
        # The rows as the assessment services read them, unsaved: what each snapshot is built
        # from.
        self.records: dict[int, tuple[Patient, list[PatientCondition]]] = {}
        for index in range(count):
            pk = first_patient + index
            department = departments[index % len(departments)]
            patient_rows.append(
                (
                    pk,
                    department.pk,
                    f"DEMO-{self.run_id}-{index:07d}",
                    f"Demo Patient {index}",
                    dt.date(1940, 1, 1) + dt.timedelta(days=self.random.randrange(0, 30_000)),
                    self.random.choice(("female", "male", "female", "male", "unknown")),
                    None,
                    self.now - dt.timedelta(days=400),
                )
            )
            patient = Patient(
                id=pk,
                department_id=department.pk,
                birth_date=patient_rows[-1][4],
                sex=patient_rows[-1][5],
            )
            self.records[pk] = (patient, [])
            roll = self.random.random()
            wanted = 0 if roll < 0.35 else 1 if roll < 0.8 else 2
            chosen = tuple(sorted(set(self.random.choices(codes, weights, k=wanted))))
            for code in chosen:
                condition_id = first_condition + len(condition_rows)
                onset = self.last_onset - dt.timedelta(days=self.random.randrange(0, 1500))
                condition_rows.append(
                    (
                        condition_id,
                        pk,
                        code,
                        onset,
                        uuid.uuid4(),
                        1,
                        "{}",
                        self.now - dt.timedelta(days=400),
                        "",
                        "",
                    )
                )
                self.records[pk][1].append(
                    PatientCondition(
                        id=condition_id,
                        patient=patient,
                        code=code,
                        onset_date=onset,
                        version=1,
                        attributes={},
                    )
                )
            by_department.setdefault(department.pk, []).append((pk, chosen))
        self.writer.write(
            Patient,
            (
                "id",
                "department_id",
                "mrn",
                "name",
                "birth_date",
                "sex",
                "created_by_id",
                "created_at",
            ),
            patient_rows,
        )
        self.writer.write(
            PatientCondition,
            (
                "id",
                "patient_id",
                "code",
                "onset_date",
                "lineage",
                "version",
                "attributes",
                "recorded_at",
                "removal_reason",
                "correction_reason",
            ),
            condition_rows,
        )
        self.stdout.write(f"{count:,} patients, {len(condition_rows):,} conditions")
        return by_department

    # --- assessments ---------------------------------------------------------------------------

    def _snapshots(
        self,
        patient_id: int,
        drugs: tuple[str, ...],
        at: dt.datetime,
        weight_kg: Decimal,
        tunings: dict[str, list[Tuning]],
    ) -> tuple[str, str, dict[str, Any]]:
        """The inputs and cautions snapshot texts of an assessment of the patient planned at
        `at`, built as `assessment_create` builds them, and the evaluation they hold."""
        patient, conditions = self.records[patient_id]
        recorded = recorded_state_build(
            patient=patient,
            conditions=conditions,
            medications=(),
            receptor_state=None,
            at=at,
            weight_kg=weight_kg,
        )
        evaluation = cautions_evaluate(state=recorded.state, drugs=drugs, at=at)
        body = evaluation_tune(evaluation_to_dict(evaluation), tunings)
        inputs = canonical_json(inputs_to_dict(recorded=recorded, drugs=drugs, at=at))
        return inputs, canonical_json(body), body

    def _assessments(
        self,
        departments: list[Department],
        clinicians: dict[int, list[int]],
        patients: dict[int, list[tuple[int, tuple[str, ...]]]],
        options: dict[str, Any],
    ) -> None:
        total = options["assessments"]
        self.tunings = {
            department.pk: department_tunings(department.pk) for department in departments
        }
        plans, plan_weights = _weighted(DRUG_PLANS)
        reasons, reason_weights = _weighted(REASONS)
        span = dt.timedelta(days=30 * options["months"]).total_seconds()
        start = self.now - dt.timedelta(seconds=span)
        # Creation times in order, so ids, audit sequence and time rise together.
        offsets = sorted(self.random.random() * span for _ in range(total))
        ids = {
            model: self._next_id(model)
            for model in (
                Assessment,
                AssessmentCaution,
                AssessmentFinding,
                AssessmentConditionCode,
                Acknowledgement,
                AuditEvent,
            )
        }
        started = time.perf_counter()
        for chunk_start in range(0, total, CHUNK):
            rows: dict[Any, list[tuple[Any, ...]]] = {
                Assessment: [],
                AssessmentCaution: [],
                AssessmentFinding: [],
                AssessmentConditionCode: [],
                Acknowledgement: [],
                AuditEvent: [],
            }
            for offset in offsets[chunk_start : chunk_start + CHUNK]:
                department = departments[self.random.randrange(len(departments))]
                patient_id, conditions = self.random.choice(patients[department.pk])
                drugs = self.random.choices(plans, plan_weights)[0]
                created_at = start + dt.timedelta(seconds=offset)
                clinician = self.random.choice(clinicians[department.pk])
                self._one(
                    rows,
                    ids,
                    department,
                    patient_id,
                    conditions,
                    drugs,
                    created_at,
                    clinician,
                    reasons,
                    reason_weights,
                )
            for model, columns in COLUMNS.items():
                self.writer.write(model, columns, rows[model])
            done = min(total, chunk_start + CHUNK)
            rate = done / (time.perf_counter() - started)
            self.stdout.write(
                f"\rassessments {done:,}/{total:,} ({100 * done // total}%, {rate:,.0f}/s)",
                ending="",
            )
            self.stdout.flush()
        self.stdout.write("")

    def _one(
        self,
        rows: dict[Any, list[tuple[Any, ...]]],
        ids: dict[Any, int],
        department: Department,
        patient_id: int,
        conditions: tuple[str, ...],
        drugs: tuple[str, ...],
        created_at: dt.datetime,
        clinician: int,
        reasons: list[Any],
        reason_weights: list[int],
    ) -> None:
        assessment_id = ids[Assessment]
        ids[Assessment] += 1
        age = (self.now - created_at).total_seconds()
        # Most assessments are signed; recent ones more often still drafts.
        signed = self.random.random() < (0.55 if age < 86_400 else 0.9)
        planned_at = (created_at + dt.timedelta(hours=self.random.randrange(2, 24 * 14))).replace(
            second=0, microsecond=0
        )
        weight_kg = Decimal(self.random.randrange(4000, 12000)).scaleb(-2)
        inputs, cautions_text, body = self._snapshots(
            patient_id, drugs, planned_at, weight_kg, self.tunings[department.pk]
        )
        cautions = body["cautions"]
        knowledge_base = body["knowledge_base"]
        highest_level = body["highest_level"]
        required = acknowledgement_required(cautions)
        username = self.usernames[clinician]
        self._event(
            rows,
            ids,
            created_at,
            patient_id,
            clinician,
            username,
            "create",
            "assessment",
            assessment_id,
            "pre-op-assessment",
            department.pk,
            planned_at,
            {
                # The payload `assessment_create` writes (`_snapshot_payload`).
                "revision": 1,
                "planned_at": planned_at,
                "drugs": list(drugs),
                "highest_level": highest_level,
                "acknowledgement_required": [item["drug"] for item in required],
                "inputs_digest": digest(inputs),
                "cautions_digest": digest(cautions_text),
                "knowledge_base": knowledge_base,
            },
        )
        moment = created_at
        for caution in cautions:
            rows[AssessmentCaution].append(
                (
                    ids[AssessmentCaution],
                    assessment_id,
                    caution["drug"],
                    caution["drug_class"],
                    caution["level"],
                    caution["conflict"],
                    department.pk,
                    created_at,
                )
            )
            ids[AssessmentCaution] += 1
        # The rows the assessment services write for the same cautions.
        for drug, rule, level, locally_tuned in finding_keys(cautions):
            rows[AssessmentFinding].append(
                (
                    ids[AssessmentFinding],
                    assessment_id,
                    rule,
                    drug,
                    level,
                    locally_tuned,
                    department.pk,
                    created_at,
                )
            )
            ids[AssessmentFinding] += 1
        for code in conditions:
            rows[AssessmentConditionCode].append(
                (ids[AssessmentConditionCode], assessment_id, code, department.pk, created_at)
            )
            ids[AssessmentConditionCode] += 1
        acknowledged = signed or self.random.random() < 0.5
        for caution in required if acknowledged else []:
            moment += dt.timedelta(seconds=self.random.randrange(20, 600))
            override_chance = 0.12 if caution["level"] == "contraindicated" else 0.35
            overridden = self.random.random() < override_chance
            reason = self.random.choices(reasons, reason_weights)[0] if overridden else ""
            comment = (
                "Discussed with the patient and the surgical team."
                if reason in REASONS_NEEDING_COMMENT
                else ""
            )
            decision = "overridden" if overridden else "accepted"
            ack_id = ids[Acknowledgement]
            ids[Acknowledgement] += 1
            rows[Acknowledgement].append(
                (
                    ack_id,
                    assessment_id,
                    1,
                    caution["drug"],
                    caution["level"],
                    decision,
                    reason,
                    comment,
                    "",  # no alternative drug
                    clinician,
                    moment,
                )
            )
            self._event(
                rows,
                ids,
                moment,
                patient_id,
                clinician,
                username,
                "override" if overridden else "create",
                "acknowledgement",
                ack_id,
                "caution-acknowledgement",
                department.pk,
                None,
                {
                    "assessment": assessment_id,
                    "revision": 1,
                    "drug": caution["drug"],
                    "level": caution["level"],
                    "decision": decision,
                    "reason_code": reason,
                    "comment": comment,
                },
            )
        signed_at, sign_hash = None, ""
        if signed:
            signed_at = moment + dt.timedelta(seconds=self.random.randrange(60, 7200))
            sign_hash = self._event(
                rows,
                ids,
                signed_at,
                patient_id,
                clinician,
                username,
                "sign",
                "assessment",
                assessment_id,
                "pre-op-assessment",
                department.pk,
                planned_at,
                {
                    "revision": 1,
                    "highest_level": highest_level,
                    "acknowledged": sorted(c["drug"] for c in required),
                },
            )
        receptor = body["receptor_state"]
        rows[Assessment].append(
            (
                assessment_id,
                patient_id,
                department.pk,
                planned_at,
                PROCEDURES[assessment_id % len(PROCEDURES)],
                weight_kg,
                canonical_json(list(drugs)),
                "signed" if signed else "draft",
                1,
                uuid.uuid4(),
                "",
                inputs,
                cautions_text,
                highest_level,
                canonical_json(required),
                receptor["value"],
                receptor["derived"],
                receptor["overridden"],
                canonical_json(receptor["sources"]),
                knowledge_base["version"],
                knowledge_base["digest"],
                clinician,
                created_at,
                signed_at or moment,
                clinician if signed else None,
                signed_at,
                sign_hash,
            )
        )

    def _event(
        self,
        rows: dict[Any, list[tuple[Any, ...]]],
        ids: dict[Any, int],
        occurred_at: dt.datetime,
        patient_id: int,
        user_id: int,
        username: str,
        action: str,
        resource_type: str,
        resource_id: int,
        category: str,
        department_id: int,
        data_time: dt.datetime | None,
        payload: dict[str, Any],
    ) -> str:
        """One chained audit event, hashed exactly as `audit_event_append` would."""
        self.sequence += 1
        fields = {
            "sequence": self.sequence,
            "occurred_at": occurred_at,
            "data_time": data_time,
            "patient_id": patient_id,
            "actor_user_id": user_id,
            "actor_username": username,
            "actor_kind": "user",
            "action": action,
            "resource_type": resource_type,
            "resource_id": str(resource_id),
            "data_category": category,
            "outcome": "success",
            "request_id": "",
            "department_id": department_id,
            "payload": audit_json(payload),
            "key_id": self.key_id,
        }
        hashed = row_hash(key=self.key, previous_hash=self.previous_hash, fields=fields)
        rows[AuditEvent].append((ids[AuditEvent], *fields.values(), self.previous_hash, hashed))
        ids[AuditEvent] += 1
        self.previous_hash = hashed
        return hashed

    def _reset_sequences(self) -> None:
        """After explicit ids, PostgreSQL's identity sequences must move past them."""
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for model in (Patient, PatientCondition, *COLUMNS):
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"GREATEST((SELECT MAX(id) FROM {table}), 1))"
                )


COLUMNS: dict[Any, tuple[str, ...]] = {
    Assessment: (
        "id",
        "patient_id",
        "department_id",
        "planned_at",
        "procedure",
        "weight_kg",
        "drugs",
        "status",
        "revision",
        "lineage",
        "amendment_reason",
        "inputs_snapshot",
        "cautions_snapshot",
        "highest_level",
        "acknowledgement_required",
        "receptor_state",
        "receptor_state_derived",
        "receptor_state_overridden",
        "receptor_state_sources",
        "knowledge_base_version",
        "knowledge_base_digest",
        "created_by_id",
        "created_at",
        "updated_at",
        "signed_by_id",
        "signed_at",
        "sign_event_hash",
    ),
    AssessmentCaution: (
        "id",
        "assessment_id",
        "drug",
        "drug_class",
        "level",
        "conflict",
        "department_id",
        "created_at",
    ),
    AssessmentFinding: (
        "id",
        "assessment_id",
        "rule",
        "drug",
        "level",
        "locally_tuned",
        "department_id",
        "created_at",
    ),
    AssessmentConditionCode: ("id", "assessment_id", "code", "department_id", "created_at"),
    Acknowledgement: (
        "id",
        "assessment_id",
        "revision",
        "drug",
        "level",
        "decision",
        "reason_code",
        "comment",
        "alternative",
        "acknowledged_by_id",
        "acknowledged_at",
    ),
    # The ledger's own list of stored fields, so a seeded row is what an append writes.
    AuditEvent: ("id", *STORED_FIELDS),
}
