"""The department report's figures, each section one aggregate query in the database.

Sections never loop over assessment rows in Python: every query groups and counts in SQL
(`COUNT(...) FILTER (WHERE ...)` on PostgreSQL), so the number of queries and the Python work
stay the same whether a month holds ten assessments or a hundred thousand. Python only folds
the few grouped rows each query returns (at most one per drug, reason, level or clinician).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connections, router
from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from periop.accounts.models import Department
from periop.assessments.models import (
    ACKNOWLEDGED_LEVELS,
    Acknowledgement,
    Assessment,
    AssessmentCaution,
    AssessmentConditionCode,
    AssessmentFinding,
    AssessmentStatus,
    Decision,
    Patient,
    ReasonCode,
)
from periop.audit import lanes
from periop.audit.chain import GENESIS_HASH
from periop.audit.models import AuditEvent
from periop.drugs.registry import get_knowledge_base
from periop.interop.models import CdsFeedback
from periop.replica import PRIMARY, ReadSource, read_source_unrouted
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


# A lineage (an assessment and its amendments) counts once, by its latest signed version: a
# signed assessment that a signed amendment replaced is left out, and so is an amendment still
# in draft (its lineage counts through the signed version it amends). Both sets are small
# (amendments only), so each is one hashed anti-join, and the caution and condition rows keep
# their own (department, created_at) indexes.
def _replaced_ids() -> QuerySet[Any, Any]:
    return Assessment.objects.filter(
        status=AssessmentStatus.SIGNED, supersedes__isnull=False
    ).values("supersedes_id")


def _draft_amendment_ids() -> QuerySet[Any, Any]:
    return Assessment.objects.filter(
        status=AssessmentStatus.DRAFT, supersedes__isnull=False
    ).values("id")


def _counted(prefix: str = "") -> Q:
    """The rows of assessments that count: each lineage once, by its latest signed version."""
    key = f"{prefix}id" if prefix else "id"
    return ~Q(**{f"{key}__in": _replaced_ids()}) & ~Q(**{f"{key}__in": _draft_amendment_ids()})


LINEAGE_NOTE = (
    "Each assessment counts once with its amendments, by its latest signed version: a signed "
    "assessment replaced by a signed amendment is counted through that amendment, and an "
    "amendment still in draft is not counted (the list of stale drafts shows every draft)."
)


def _assessments(department: Department, period: ReportPeriod) -> QuerySet[Assessment]:
    return Assessment.objects.filter(_in_period(department, period), _counted()).order_by()


def _assessment_groups(
    department: Department, period: ReportPeriod, stale_before: dt.datetime
) -> list[dict[str, Any]]:
    """The period's assessments counted by local day (or month), status, highest level,
    author, signer and knowledge-base version, in one query: the totals, the series, the
    clinicians and the knowledge-base versions all fold these groups (a few thousand at
    most, bounded by days x clinicians x levels), so the assessments are read once."""
    bucket = (
        TruncMonth("created_at", tzinfo=period.zone)
        if period.by_month
        else TruncDate("created_at", tzinfo=period.zone)
    )
    return list(
        _assessments(department, period)
        .annotate(bucket=bucket)
        .values(
            "bucket",
            "status",
            "highest_level",
            "created_by_id",
            "created_by__username",
            "signed_by_id",
            "signed_by__username",
            "knowledge_base_version",
            "knowledge_base_digest",
        )
        .annotate(
            count=Count("id"),
            amendments=Count("id", filter=Q(supersedes__isnull=False)),
            stale=Count("id", filter=Q(status=AssessmentStatus.DRAFT, created_at__lt=stale_before)),
            first=Min("created_at"),
            last=Max("created_at"),
        )
        .order_by()
    )


def _assessment_totals(groups: list[dict[str, Any]]) -> dict[str, Any]:
    by_status = {"draft": 0, "signed": 0}
    by_level = dict.fromkeys(LEVELS, 0)
    for group in groups:
        by_status[group["status"]] = by_status.get(group["status"], 0) + group["count"]
        by_level[group["highest_level"]] = by_level.get(group["highest_level"], 0) + group["count"]
    return {
        "total": sum(group["count"] for group in groups),
        "by_status": by_status,
        "amendments": sum(group["amendments"] for group in groups),
        "stale_drafts": sum(group["stale"] for group in groups),
        "by_highest_level": by_level,
    }


def _assessment_series(groups: list[dict[str, Any]], period: ReportPeriod) -> list[dict[str, Any]]:
    """Assessments per local day (per month for long periods), with the empty days filled in."""
    found: dict[dt.date, dict[str, int]] = {}
    for group in groups:
        value = group["bucket"]
        day = value.astimezone(period.zone).date() if isinstance(value, dt.datetime) else value
        counts = found.setdefault(day, {"total": 0, "signed": 0, "needing_acknowledgement": 0})
        counts["total"] += group["count"]
        if group["status"] == AssessmentStatus.SIGNED:
            counts["signed"] += group["count"]
        if group["highest_level"] in ACKNOWLEDGED_LEVELS:
            counts["needing_acknowledgement"] += group["count"]
    empty = {"total": 0, "signed": 0, "needing_acknowledgement": 0}
    return [{"date": day.isoformat(), **found.get(day, empty)} for day in _buckets(period)]


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
    # One row per drug and class; the totals are their sums.
    cautions = AssessmentCaution.objects.filter(
        _in_period(department, period), _counted("assessment_")
    )
    by_drug_rows = (
        cautions.values("drug", "drug_class")
        .annotate(rows=Count("id"), conflicts=Count("id", filter=Q(conflict=True)))
        .annotate(**_level_counts())
        .order_by("drug_class", "drug")
    )
    by_drug = []
    classes: dict[str, dict[str, Any]] = {}
    totals = {"rows": 0, "conflicts": 0, **{f"level_{level}": 0 for level in LEVELS}}
    for row in by_drug_rows:
        for key in totals:
            totals[key] += row[key]
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


# The one section in SQL: the ORM can only join condition codes to cautions through their
# assessment, a third table it would read row by row. Here the cautions are first summed per
# assessment, then joined to the condition codes (one row per assessment and code, so a plain
# count is the number of assessments) and summed per code: integer keys and hash aggregates,
# no sort. Both sides are restricted to the same department and period (an assessment's
# caution rows share its department and creation time), so each is read through its own
# (department, created_at) index.
_CAUTIONS_BY_CONDITION = """
SELECT condition.code, COUNT(*), {sums}
FROM {conditions} condition
LEFT JOIN (
    SELECT caution.assessment_id, {counts}
    FROM {cautions} caution
    WHERE caution.department_id = %s AND caution.created_at >= %s AND caution.created_at < %s
      AND caution.assessment_id NOT IN ({replaced})
      AND caution.assessment_id NOT IN ({draft_amendments})
    GROUP BY caution.assessment_id
) per_assessment ON per_assessment.assessment_id = condition.assessment_id
WHERE condition.department_id = %s AND condition.created_at >= %s AND condition.created_at < %s
  AND condition.assessment_id NOT IN ({replaced})
  AND condition.assessment_id NOT IN ({draft_amendments})
GROUP BY condition.code
"""


def _cautions_by_condition(department: Department, period: ReportPeriod) -> list[dict[str, Any]]:
    """For each recorded condition: how many assessments had it, and the cautions they got."""
    assessments = Assessment._meta.db_table
    sql = _CAUTIONS_BY_CONDITION.format(
        sums=", ".join(f"SUM(per_assessment.level_{index})" for index in range(len(LEVELS))),
        counts=", ".join(
            f"SUM(CASE WHEN caution.level = %s THEN 1 ELSE 0 END) AS level_{index}"
            for index in range(len(LEVELS))
        ),
        conditions=AssessmentConditionCode._meta.db_table,
        cautions=AssessmentCaution._meta.db_table,
        # The amendment sets of `_counted`, in SQL (their status is a parameter).
        replaced=f"SELECT supersedes_id FROM {assessments} "  # noqa: S608 (a table name)
        "WHERE status = %s AND supersedes_id IS NOT NULL",
        draft_amendments=f"SELECT id FROM {assessments} "  # noqa: S608 (a table name)
        "WHERE status = %s AND supersedes_id IS NOT NULL",
    )
    # Raw SQL bypasses the router: ask it which database the report reads.
    database = connections[router.db_for_read(AssessmentConditionCode)]
    adapt = database.ops.adapt_datetimefield_value
    bounds = [department.pk, adapt(period.start), adapt(period.end)]
    with database.cursor() as cursor:
        lineage = [AssessmentStatus.SIGNED.value, AssessmentStatus.DRAFT.value]
        cursor.execute(sql, [*LEVELS, *bounds, *lineage, *bounds, *lineage])
        rows = sorted(cursor.fetchall())
    result = []
    for code, assessments, *counts in rows:
        # An assessment without caution rows adds NULL sums.
        levels = {level: int(count or 0) for level, count in zip(LEVELS, counts, strict=True)}
        result.append(
            {
                "code": code,
                "assessments": assessments,
                "cautions": sum(levels[level] for level in CAUTION_LEVELS),
                "by_level": levels,
            }
        )
    return result


def _decisions_counted(department: Department, period: ReportPeriod) -> QuerySet[Acknowledgement]:
    """The decisions the reports count: of the period's counted assessments, their current
    revision, in force, on contraindicated and avoid cautions."""
    return Acknowledgement.objects.filter(
        _in_period(department, period, "assessment__"),
        _counted("assessment_"),
        revision=F("assessment__revision"),
        # Only the decision in force: one replaced before signing is history, not counted.
        replaced_at__isnull=True,
        # The reports count acknowledgements of contraindicated and avoid cautions; the
        # plan's decisions on lower levels (give, give adjusted) are not acknowledgements.
        level__in=ACKNOWLEDGED_LEVELS,
        # Redundant but cheap: nothing is acknowledged before its assessment exists, and
        # this bound lets PostgreSQL skip older rows through a BRIN index.
        acknowledged_at__gte=period.start,
    )


def _acknowledgements(department: Department, period: ReportPeriod) -> list[dict[str, Any]]:
    """Acknowledgements counted by level, decision, reason, drug and clinician: one query for
    both the override section and the clinicians' section (a few hundred groups at most).
    Only those of the current revision count: an edit voids earlier ones."""
    return list(
        _decisions_counted(department, period)
        .values(
            "level",
            "decision",
            "reason_code",
            "drug",
            "acknowledged_by_id",
            "acknowledged_by__username",
        )
        .annotate(count=Count("id"))
        .order_by()
    )


def _cds_feedback(department: Department, period: ReportPeriod) -> list[dict[str, Any]]:
    """Feedback from CDS Hooks clients on contraindicated and avoid cards, received in the
    period, counted by level, outcome, reason and drug in one query (rows shaped like the
    acknowledgements', so the override section folds both)."""
    return list(
        CdsFeedback.objects.filter(
            department=department,
            received_at__gte=period.start,
            received_at__lt=period.end,
            card__level__in=ACKNOWLEDGED_LEVELS,
        )
        .values("reason_code")
        .annotate(level=F("card__level"), decision=F("outcome"), drug=F("card__drug"))
        .annotate(count=Count("id"))
        .order_by()
    )


# The label of an override fed back by a CDS client without a reason of Periop's list.
NO_LISTED_REASON = "No reason from Periop's list (fed back by the EHR)"


def _overrides(
    rows: list[dict[str, Any]],
    cautions_by_level: dict[str, int],
    cds_rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """Overrides and acceptances of contraindicated and avoid cautions: the assessments'
    acknowledgements and the feedback of CDS Hooks clients, counted together (the rate per
    level divides the assessments' own overrides by their cautions, the only cautions whose
    number the report knows)."""
    by_reason = dict.fromkeys(ReasonCode.values, 0)
    by_level = {level: {"accepted": 0, "overridden": 0} for level in ACKNOWLEDGED_LEVELS}
    by_drug: dict[str, int] = {}
    from_cds = {"accepted": 0, "overridden": 0}
    cds_by_level = dict.fromkeys(ACKNOWLEDGED_LEVELS, 0)
    for row in cds_rows:
        key = "overridden" if row["decision"] == Decision.OVERRIDDEN else "accepted"
        from_cds[key] += int(row["count"])
        if key == "overridden":
            cds_by_level[row["level"]] = cds_by_level.get(row["level"], 0) + int(row["count"])
    for row in [*rows, *cds_rows]:
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
            {
                "reason_code": code,
                "label": ReasonCode(code).label if code else NO_LISTED_REASON,
                "count": n,
            }
            for code, n in by_reason.items()
        ],
        "by_level": [
            {
                "level": level,
                "cautions": cautions_by_level.get(level, 0),
                "accepted": counts["accepted"],
                "overridden": counts["overridden"],
                # Share of this level's cautions that a clinician overrode in an assessment.
                "override_rate": _rate(
                    counts["overridden"] - cds_by_level.get(level, 0),
                    cautions_by_level.get(level, 0),
                ),
            }
            for level, counts in by_level.items()
        ],
        "by_drug": [
            {"drug": drug, "count": count}
            for drug, count in sorted(by_drug.items(), key=lambda item: (-item[1], item[0]))
        ],
        # Of the counts above, those fed back by CDS Hooks clients (the EHR's order screens).
        "from_cds_hooks": from_cds,
    }


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


RULES_NOTE = (
    "A rule counts each time it fired for a planned drug, at the level the assessment showed "
    "(after the department's tunings). A decision on a drug's contraindicated or avoid caution "
    "counts for every rule that fired for that drug at the level decided, the rules that set "
    "the caution's level; a rule that fired at a lower level for the same drug is not counted. "
    "A decision can so count for more than one rule. Feedback from the EHR's order screens "
    "names no rule and is not counted here."
)


def _rules_fired(department: Department, period: ReportPeriod) -> list[dict[str, Any]]:
    """Per rule: the times it fired, by level, the assessments it fired in and the findings a
    tuning marked. One grouped query on the finding rows, which carry their assessment's
    department and creation time: no join."""
    return list(
        AssessmentFinding.objects.filter(_in_period(department, period), _counted("assessment_"))
        .values("rule")
        .annotate(
            fired=Count("id"),
            assessments=Count("assessment_id", distinct=True),
            locally_tuned=Count("id", filter=Q(locally_tuned=True)),
            **_level_counts(),
        )
        .order_by()
    )


def _rule_decisions(department: Department, period: ReportPeriod) -> list[dict[str, Any]]:
    """The decisions in force on contraindicated and avoid cautions (as `_acknowledgements`
    counts them), each matched to the rules that fired for its drug at its level, counted by
    rule, decision and reason. Driven from the decisions, which are few; each finds its rules
    through the finding rows' unique index on assessment, drug and rule."""
    return list(
        _decisions_counted(department, period)
        .filter(
            # One filter call: the rule is one that fired for this drug at this level.
            assessment__findings__drug=F("drug"),
            assessment__findings__level=F("level"),
        )
        .values("decision", "reason_code", rule=F("assessment__findings__rule"))
        .annotate(count=Count("id"))
        .order_by()
    )


def _rules(fired: list[dict[str, Any]], decisions: list[dict[str, Any]]) -> dict[str, Any]:
    """Per rule: fired by level, assessments, decisions on the cautions it set and the reasons
    of its overrides; most fired first. Each rule is named with its summary in the active
    knowledge base ("" for a rule it no longer has)."""
    summaries = {rule.id: rule.summary for rule in get_knowledge_base().rules}
    rules: dict[str, dict[str, Any]] = {}

    def entry(rule: str) -> dict[str, Any]:
        return rules.setdefault(
            rule,
            {
                "rule": rule,
                "summary": summaries.get(rule, ""),
                "fired": 0,
                "assessments": 0,
                "by_level": dict.fromkeys(LEVELS, 0),
                "locally_tuned": 0,
                "accepted": 0,
                "overridden": 0,
                "override_reasons": {},
            },
        )

    for row in fired:
        item = entry(row["rule"])
        item["fired"] = int(row["fired"])
        item["assessments"] = int(row["assessments"])
        item["by_level"] = _levels(row)
        item["locally_tuned"] = int(row["locally_tuned"])
    for row in decisions:
        item = entry(row["rule"])
        count = int(row["count"])
        if row["decision"] == Decision.OVERRIDDEN:
            item["overridden"] += count
            reasons = item["override_reasons"]
            reasons[row["reason_code"]] = reasons.get(row["reason_code"], 0) + count
        else:
            item["accepted"] += count
    for item in rules.values():
        item["override_rate"] = _rate(item["overridden"], item["accepted"] + item["overridden"])
        item["override_reasons"] = [
            {"reason_code": code, "label": ReasonCode(code).label, "count": count}
            for code, count in sorted(
                item["override_reasons"].items(), key=lambda pair: (-pair[1], pair[0])
            )
        ]
    return {
        "attribution": RULES_NOTE,
        "by_rule": sorted(rules.values(), key=lambda item: (-item["fired"], item["rule"])),
    }


def _clinicians(
    groups: list[dict[str, Any]], acknowledgements: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per clinician: assessments created and signed, drafts still open, cautions accepted
    and overridden, folded from the grouped assessments and acknowledgements."""
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

    for group in groups:
        author = person(group["created_by_id"], group["created_by__username"])
        author["assessments_created"] += group["count"]
        if group["status"] == AssessmentStatus.SIGNED:
            signer = person(group["signed_by_id"], group["signed_by__username"])
            signer["assessments_signed"] += group["count"]
        else:
            author["drafts_open"] += group["count"]
    for row in acknowledgements:
        entry = person(row["acknowledged_by_id"], row["acknowledged_by__username"])
        if row["decision"] == Decision.OVERRIDDEN:
            entry["cautions_overridden"] += row["count"]
        else:
            entry["cautions_accepted"] += row["count"]
    return sorted(
        people.values(), key=lambda entry: (-entry["cautions_overridden"], entry["username"])
    )


def _stale_drafts(
    department: Department, period: ReportPeriod, stale_before: dt.datetime
) -> list[dict[str, Any]]:
    """The oldest drafts left unsigned for more than a day (ids only: no patient names)."""
    rows = (
        Assessment.objects.filter(_in_period(department, period))
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


def _knowledge_base_versions(
    groups: list[dict[str, Any]], period: ReportPeriod
) -> list[dict[str, Any]]:
    versions: dict[tuple[str, str], dict[str, Any]] = {}
    for group in groups:
        key = (group["knowledge_base_version"], group["knowledge_base_digest"])
        entry = versions.setdefault(
            key, {"assessments": 0, "first": group["first"], "last": group["last"]}
        )
        entry["assessments"] += group["count"]
        entry["first"] = min(entry["first"], group["first"])
        entry["last"] = max(entry["last"], group["last"])
    return [
        {
            "version": version,
            "digest": digest,
            "assessments": entry["assessments"],
            "first_used": entry["first"].astimezone(period.zone).isoformat(),
            "last_used": entry["last"].astimezone(period.zone).isoformat(),
        }
        for (version, digest), entry in sorted(versions.items(), key=lambda item: item[1]["first"])
    ]


def audit_chain_head() -> dict[str, Any]:
    """The ledger's head now, always read from the primary (a replica may lag): a printed
    report quoting it pins the history it was made from. `sequence` and `hash` are the first
    chain's (lane 0); a ledger in several lanes (`AUDIT_LANES`) adds `lanes`, every lane's
    head, and the report pins all of them."""
    heads = [
        {"lane": lane, "sequence": sequence, "hash": digest}
        for lane, sequence, digest in lanes.lane_heads(using=PRIMARY)
    ]
    first = next((head for head in heads if head["lane"] == 0), None)
    result: dict[str, Any] = {
        "sequence": first["sequence"] if first else 0,
        "hash": first["hash"] if first else GENESIS_HASH,
    }
    if any(head["lane"] != 0 for head in heads):
        result["lanes"] = heads
    return result


HEAD_KEYS = ("sequence", "hash", "lanes")


def audit_head_lanes(head: Mapping[str, Any]) -> dict[int, int]:
    """The pinned head of every lane, {lane: sequence}, of a head from `audit_chain_head`."""
    if "lanes" in head:
        return {int(entry["lane"]): int(entry["sequence"]) for entry in head["lanes"]}
    return {0: int(head["sequence"])}


def department_report(
    *,
    department: Department,
    period: ReportPeriod,
    now: dt.datetime | None = None,
    head: dict[str, Any] | None = None,
    read_source: ReadSource | None = None,
) -> dict[str, Any]:
    """Every figure of the department report for the period, as plain JSON-ready data.
    `head` is the chain head pinned before the reads (read now when not given);
    `read_source` says which database the figures were read from."""
    now = now or timezone.now()
    stale_before = now - dt.timedelta(hours=STALE_DRAFT_HOURS)
    head = head or audit_chain_head()
    source = read_source or read_source_unrouted()
    groups = _assessment_groups(department, period, stale_before)
    assessments = _assessment_totals(groups)
    assessments["series"] = _assessment_series(groups, period)
    assessments["series_unit"] = "month" if period.by_month else "day"
    cautions = _cautions(department, period)
    cautions["by_condition"] = _cautions_by_condition(department, period)
    acknowledgements = _acknowledgements(department, period)
    return {
        "department": {
            "id": department.pk,
            "code": department.code,
            "name": department.name,
            "time_zone": department.time_zone,
        },
        "period": period.as_dict(),
        "generated_at": now.astimezone(period.zone).isoformat(),
        "audit_chain_head": {key: head[key] for key in HEAD_KEYS if key in head},
        "read_from": source.as_dict(),
        "counting": LINEAGE_NOTE,
        "assessments": assessments,
        "cautions": cautions,
        "overrides": _overrides(
            acknowledgements, cautions["by_level"], _cds_feedback(department, period)
        ),
        "rules": _rules(_rules_fired(department, period), _rule_decisions(department, period)),
        "clinicians": _clinicians(groups, acknowledgements),
        "stale_drafts": {
            "threshold_hours": STALE_DRAFT_HOURS,
            "count": assessments.pop("stale_drafts"),
            "oldest": _stale_drafts(department, period, stale_before),
        },
        "knowledge_base_versions": _knowledge_base_versions(groups, period),
    }


def audit_log_with_mrns(
    events: QuerySet[AuditEvent], *, department_id: int
) -> QuerySet[AuditEvent]:
    """Annotates each event with its patient's MRN (`patient_mrn`), for the department's own
    patients only: its auditors identify patients by MRN, and another department's patient
    stays an id. A subquery in the same statement, so the log's query count does not grow."""
    mrn = Patient.objects.filter(pk=OuterRef("patient_id"), department_id=department_id)
    return events.annotate(patient_mrn=Subquery(mrn.values("mrn")[:1]))
