"""Fills the finding rows (one per rule fired for a planned drug) of assessments stored before
they existed, from each stored snapshot text (the record), in batches.

A snapshot whose cautions carry no findings (the abbreviated snapshots of demo data seeded
before findings were kept in them) gives no rows: nothing is guessed. The parsing is copied
here, not imported, so this migration keeps working whatever later becomes of the service code.
"""

import json

from django.db import migrations

BATCH = 2000


def rows_for(assessment_id, department_id, created_at, cautions_snapshot):
    rows = []
    drugs, seen = set(), set()
    for caution in json.loads(cautions_snapshot or "{}").get("cautions", []):
        drug = caution.get("drug")
        if not drug or drug in drugs:
            continue
        drugs.add(drug)
        for finding in caution.get("findings") or []:
            rule = finding.get("rule")
            if not rule or not finding.get("level") or (drug, rule) in seen:
                continue
            seen.add((drug, rule))
            rows.append(
                {
                    "assessment_id": assessment_id,
                    "rule": rule,
                    "drug": drug,
                    "level": finding["level"],
                    "locally_tuned": bool(finding.get("locally_tuned")),
                    "department_id": department_id,
                    "created_at": created_at,
                }
            )
    return rows


def backfill(apps, schema_editor):
    assessment_model = apps.get_model("assessments", "Assessment")
    finding_model = apps.get_model("assessments", "AssessmentFinding")
    alias = schema_editor.connection.alias
    rows = (
        assessment_model.objects.using(alias)
        .order_by("pk")
        .values_list("pk", "department_id", "created_at", "cautions_snapshot")
    )
    findings = []
    for row in rows.iterator(chunk_size=BATCH):
        findings += [finding_model(**values) for values in rows_for(*row)]
        if len(findings) >= BATCH:
            finding_model.objects.using(alias).bulk_create(findings, batch_size=BATCH)
            findings = []
    finding_model.objects.using(alias).bulk_create(findings, batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [("assessments", "0012_assessment_findings")]

    # Backwards, the previous migration drops the table (and its guard) with the rows.
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
