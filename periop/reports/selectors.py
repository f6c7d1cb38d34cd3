"""The department report's figures, each section one aggregate query in the database.

Sections never loop over assessment rows in Python: every query groups and counts in SQL
(`COUNT(...) FILTER (WHERE ...)` on PostgreSQL), so the number of queries and the Python work
stay the same whether a month holds ten assessments or a hundred thousand. Python only folds
the few grouped rows each query returns (at most one per drug, reason, level or clinician).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from periop.accounts.models import Department
from periop.assessments.models import (
    ACKNOWLEDGED_LEVELS,
    Acknowledgement,
    Assessment,
    AssessmentCaution,
    AssessmentConditionCode,
    AssessmentStatus,
    Decision,
    ReasonCode,
)
from periop.audit.models import AuditChainHead
from periop.reports.periods import ReportPeriod

LEVELS = ("contraindicated", "avoid", "adjust", "monitor", "none")
# Levels that count as a caution (everything but "none").
CAUTION_LEVELS = LEVELS[:-1]
STALE_DRAFT_HOURS = 24
STALE_DRAFTS_LISTED = 20


def _level_counts(prefix: str = "") -> dict[str, Count]:
    """One conditional count per level, on the field `<prefix>level`."""
    return {
        f"level_{level}": Count("id", filter=Q(**{f"{prefix}level": level})) for level in LEVELS
    }


def _levels(row: dict[str, Any]) -> dict[str, int]:
    return {level: int(row[f"level_{level}"]) for level in LEVELS}


def _in_period(department: Department, period: ReportPeriod, prefix: str = "") -> Q:
    """Assessments of the department created in the period (the index on department and
    created_at serves every section)."""
    return Q(
        **{
            f"{prefix}department": department,
            f"{prefix}created_at__gte": period.start,
            f"{prefix}created_at__lt": period.end,
        }
    )


def _assessments(department: Department, period: ReportPeriod) -> QuerySet[Assessment]:
    return Assessment.objects.filter(_in_period(department, period)).order_by()


def _assessment_totals(
    department: Department, period: ReportPeriod, stale_before: dt.datetime
) -> dict[str, Any]:
    draft = Q(status=AssessmentStatus.DRAFT)
    row = _assessments(department, period).aggregate(
        total=Count("id"),
        draft=Count("id", filter=draft),
        signed=Count("id", filter=Q(status=AssessmentStatus.SIGNED)),
        amendments=Count("id", filter=Q(supersedes__isnull=False)),
        stale_drafts=Count("id", filter=draft & Q(created_at__lt=stale_before)),
        **{f"highest_{level}": Count("id", filter=Q(highest_level=level)) for level in LEVELS},
    )
    return {
        "total": row["total"],
        "by_status": {"draft": row["draft"], "signed": row["signed"]},
        "amendments": row["amendments"],
        "stale_drafts": row["stale_drafts"],
        "by_highest_level": {level: row[f"highest_{level}"] for level in LEVELS},
    }


def _assessment_series(department: Department, period: ReportPeriod) -> list[dict[str, Any]]:
    """Assessments per local day (per month for long periods), with the empty days filled in."""
    bucket = (
        TruncMonth("created_at", tzinfo=period.zone)
        if period.by_month
        else TruncDate("created_at", tzinfo=period.zone)
    )
    rows = (
        _assessments(department, period)
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(
            total=Count("id"),
            signed=Count("id", filter=Q(status=AssessmentStatus.SIGNED)),
            needing_acknowledgement=Count("id", filter=Q(highest_level__in=ACKNOWLEDGED_LEVELS)),
        )
        .order_by("bucket")
    )
    found: dict[dt.date, dict[str, Any]] = {}
    for row in rows:
        value = row["bucket"]
        day = value.astimezone(period.zone).date() if isinstance(value, dt.datetime) else value
        found[day] = row
    series = []
    for day in _buckets(period):
        row = found.get(day, {})
        series.append(
            {
                "date": day.isoformat(),
                "total": int(row.get("total", 0)),
                "signed": int(row.get("signed", 0)),
                "needing_acknowledgement": int(row.get("needing_acknowledgement", 0)),
            }
        )
    return series


def _buckets(period: ReportPeriod) -> Iterable[dt.date]:
    day = period.first_day.replace(day=1) if period.by_month else period.first_day
    while day <= period.last_day:
        yield day
        if period.by_month:
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        else:
            day += dt.timedelta(days=1)


def _cautions(department: Department, period: ReportPeriod) -> dict[str, Any]:
    # The caution rows carry their assessment's department and creation time: no join.
    cautions = AssessmentCaution.objects.filter(_in_period(department, period))
    totals = cautions.order_by().aggregate(
        rows=Count("id"), conflicts=Count("id", filter=Q(conflict=True)), **_level_counts()
    )
    by_drug_rows = (
        cautions.values("drug", "drug_class")
        .annotate(rows=Count("id"), conflicts=Count("id", filter=Q(conflict=True)))
        .annotate(**_level_counts())
        .order_by("drug_class", "drug")
    )
    by_drug = []
    classes: dict[str, dict[str, Any]] = {}
    for row in by_drug_rows:
        levels = _levels(row)
        by_drug.append(
            {
                "drug": row["drug"],
                "drug_class": row["drug_class"],
                "planned": row["rows"],
                "cautions": row["rows"] - levels["none"],
                "conflicts": row["conflicts"],
                "by_level": levels,
            }
        )
        group = classes.setdefault(
            row["drug_class"],
            {
                "drug_class": row["drug_class"],
                "planned": 0,
                "cautions": 0,
                "by_level": dict.fromkeys(LEVELS, 0),
            },
        )
        group["planned"] += row["rows"]
        group["cautions"] += row["rows"] - levels["none"]
        for level, count in levels.items():
            group["by_level"][level] += count
    levels = _levels(totals)
    return {
        "planned_drugs": totals["rows"],
        "total": totals["rows"] - levels["none"],
        "conflicts": totals["conflicts"],
        "by_level": levels,
        "by_drug": by_drug,
        "by_drug_class": sorted(classes.values(), key=lambda group: group["drug_class"]),
    }


def _cautions_by_condition(department: Department, period: ReportPeriod) -> list[dict[str, Any]]:
    """For each recorded condition: how many assessments had it, and the cautions they got."""
    rows = (
        AssessmentConditionCode.objects.filter(_in_period(department, period))
        .values("code")
        .annotate(
            assessments=Count("assessment", distinct=True),
            **{
                f"level_{level}": Count(
                    "assessment__cautions", filter=Q(assessment__cautions__level=level)
                )
                for level in LEVELS
            },
        )
        .order_by("code")
    )
    result = []
    for row in rows:
        levels = _levels(row)
        result.append(
            {
                "code": row["code"],
                "assessments": row["assessments"],
                "cautions": sum(levels[level] for level in CAUTION_LEVELS),
                "by_level": levels,
            }
        )
    return result


def _overrides(
    department: Department, period: ReportPeriod, cautions_by_level: dict[str, int]
) -> dict[str, Any]:
    """Acknowledgements of the current revision only: an edit voids earlier ones."""
    rows = (
        Acknowledgement.objects.filter(
            _in_period(department, period, "assessment__"), revision=F("assessment__revision")
        )
        .values("level", "decision", "reason_code", "drug")
        .annotate(count=Count("id"))
        .order_by()
    )
    by_reason = dict.fromkeys(ReasonCode.values, 0)
    by_level = {level: {"accepted": 0, "overridden": 0} for level in ACKNOWLEDGED_LEVELS}
    by_drug: dict[str, int] = {}
    for row in rows:
        count = int(row["count"])
        level_counts = by_level.setdefault(row["level"], {"accepted": 0, "overridden": 0})
        if row["decision"] == Decision.OVERRIDDEN:
            level_counts["overridden"] += count
            by_reason[row["reason_code"]] = by_reason.get(row["reason_code"], 0) + count
            by_drug[row["drug"]] = by_drug.get(row["drug"], 0) + count
        else:
            level_counts["accepted"] += count
    total = sum(counts["overridden"] for counts in by_level.values())
    return {
        "total": total,
        "by_reason": [
            {"reason_code": code, "label": ReasonCode(code).label if code else "", "count": n}
            for code, n in by_reason.items()
        ],
        "by_level": [
            {
                "level": level,
                "cautions": cautions_by_level.get(level, 0),
                "accepted": counts["accepted"],
                "overridden": counts["overridden"],
                # Share of this level's cautions that a clinician overrode.
                "override_rate": _rate(counts["overridden"], cautions_by_level.get(level, 0)),
            }
            for level, counts in by_level.items()
        ],
        "by_drug": [
            {"drug": drug, "count": count}
            for drug, count in sorted(by_drug.items(), key=lambda item: (-item[1], item[0]))
        ],
    }


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _clinicians(department: Department, period: ReportPeriod) -> list[dict[str, Any]]:
    """Per clinician: assessments created and signed, cautions accepted and overridden. Three
    grouped queries (by creator, by signer, by acknowledger), each one row per clinician."""
    people: dict[int | None, dict[str, Any]] = {}

    def person(user_id: int | None, username: str | None) -> dict[str, Any]:
        return people.setdefault(
            user_id,
            {
                "user_id": user_id,
                "username": username or "(system)",
                "assessments_created": 0,
                "assessments_signed": 0,
                "drafts_open": 0,
                "cautions_accepted": 0,
                "cautions_overridden": 0,
            },
        )

    created = (
        _assessments(department, period)
        .values("created_by_id", "created_by__username")
        .annotate(
            created=Count("id"),
            drafts=Count("id", filter=Q(status=AssessmentStatus.DRAFT)),
        )
    )
    for row in created:
        entry = person(row["created_by_id"], row["created_by__username"])
        entry["assessments_created"] = row["created"]
        entry["drafts_open"] = row["drafts"]
    signed = (
        _assessments(department, period)
        .filter(status=AssessmentStatus.SIGNED)
        .values("signed_by_id", "signed_by__username")
        .annotate(signed=Count("id"))
    )
    for row in signed:
        person(row["signed_by_id"], row["signed_by__username"])["assessments_signed"] = row[
            "signed"
        ]
    acknowledged = (
        Acknowledgement.objects.filter(
            _in_period(department, period, "assessment__"), revision=F("assessment__revision")
        )
        .values("acknowledged_by_id", "acknowledged_by__username")
        .annotate(
            accepted=Count("id", filter=Q(decision=Decision.ACCEPTED)),
            overridden=Count("id", filter=Q(decision=Decision.OVERRIDDEN)),
        )
        .order_by()
    )
    for row in acknowledged:
        entry = person(row["acknowledged_by_id"], row["acknowledged_by__username"])
        entry["cautions_accepted"] = row["accepted"]
        entry["cautions_overridden"] = row["overridden"]
    return sorted(
        people.values(), key=lambda entry: (-entry["cautions_overridden"], entry["username"])
    )


def _stale_drafts(
    department: Department, period: ReportPeriod, stale_before: dt.datetime
) -> list[dict[str, Any]]:
    """The oldest drafts left unsigned for more than a day (ids only: no patient names)."""
    rows = (
        _assessments(department, period)
        .filter(status=AssessmentStatus.DRAFT, created_at__lt=stale_before)
        .order_by("created_at", "id")
        .values("id", "patient_id", "created_at", "created_by__username", "highest_level")[
            :STALE_DRAFTS_LISTED
        ]
    )
    return [
        {
            "assessment": row["id"],
            "patient": row["patient_id"],
            "created_at": row["created_at"].astimezone(period.zone).isoformat(),
            "created_by": row["created_by__username"] or "(system)",
            "highest_level": row["highest_level"],
        }
        for row in rows
    ]


def _knowledge_base_versions(department: Department, period: ReportPeriod) -> list[dict[str, Any]]:
    rows = (
        _assessments(department, period)
        .values("knowledge_base_version", "knowledge_base_digest")
        .annotate(assessments=Count("id"), first=Min("created_at"), last=Max("created_at"))
        .order_by("first")
    )
    return [
        {
            "version": row["knowledge_base_version"],
            "digest": row["knowledge_base_digest"],
            "assessments": row["assessments"],
            "first_used": row["first"].astimezone(period.zone).isoformat(),
            "last_used": row["last"].astimezone(period.zone).isoformat(),
        }
        for row in rows
    ]


def audit_chain_head() -> dict[str, Any]:
    """The ledger's head now: a printed report quoting it pins the history it was made from."""
    head = AuditChainHead.objects.filter(id=1).values_list("sequence", "hash").first()
    sequence, digest = head or (0, "0" * 64)
    return {"sequence": sequence, "hash": digest}


def department_report(
    *, department: Department, period: ReportPeriod, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Every figure of the department report for the period, as plain JSON-ready data."""
    now = now or timezone.now()
    stale_before = now - dt.timedelta(hours=STALE_DRAFT_HOURS)
    head = audit_chain_head()
    assessments = _assessment_totals(department, period, stale_before)
    assessments["series"] = _assessment_series(department, period)
    assessments["series_unit"] = "month" if period.by_month else "day"
    cautions = _cautions(department, period)
    cautions["by_condition"] = _cautions_by_condition(department, period)
    return {
        "department": {
            "id": department.pk,
            "code": department.code,
            "name": department.name,
            "time_zone": department.time_zone,
        },
        "period": period.as_dict(),
        "generated_at": now.astimezone(period.zone).isoformat(),
        "audit_chain_head": {"sequence": head["sequence"], "hash": head["hash"]},
        "assessments": assessments,
        "cautions": cautions,
        "overrides": _overrides(department, period, cautions["by_level"]),
        "clinicians": _clinicians(department, period),
        "stale_drafts": {
            "threshold_hours": STALE_DRAFT_HOURS,
            "count": assessments.pop("stale_drafts"),
            "oldest": _stale_drafts(department, period, stale_before),
        },
        "knowledge_base_versions": _knowledge_base_versions(department, period),
    }
