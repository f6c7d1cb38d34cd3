"""Fills the caution and condition-code rows of assessments stored before they existed.

Reads each stored snapshot text (the record) in batches; the parsing is copied here, not
imported, so this migration keeps working whatever later becomes of the service code.
"""

import json

from django.db import migrations

BATCH = 2000


def rows_for(assessment_id, department_id, created_at, cautions_snapshot, inputs_snapshot):
    cautions = []
    seen = set()
    for caution in json.loads(cautions_snapshot or "{}").get("cautions", []):
        if caution["drug"] in seen:
            continue
        seen.add(caution["drug"])
        cautions.append(
            {
                "assessment_id": assessment_id,
                "drug": caution["drug"],
                "drug_class": caution.get("drug_class") or "",
                "level": caution["level"],
                "conflict": bool(caution.get("conflict")),
                "department_id": department_id,
                "created_at": created_at,
            }
        )
    codes = sorted(
        {condition["code"] for condition in json.loads(inputs_snapshot or "{}").get("conditions", [])}
    )
    return cautions, [
        {
            "assessment_id": assessment_id,
            "code": code,
            "department_id": department_id,
            "created_at": created_at,
        }
        for code in codes
    ]


def backfill(apps, schema_editor):
    assessment_model = apps.get_model("assessments", "Assessment")
    caution_model = apps.get_model("assessments", "AssessmentCaution")
    code_model = apps.get_model("assessments", "AssessmentConditionCode")
    alias = schema_editor.connection.alias
    rows = (
        assessment_model.objects.using(alias)
        .order_by("pk")
        .values_list("pk", "department_id", "created_at", "cautions_snapshot", "inputs_snapshot")
    )
    cautions, codes = [], []
    for row in rows.iterator(chunk_size=BATCH):
        more_cautions, more_codes = rows_for(*row)
        cautions += [caution_model(**row) for row in more_cautions]
        codes += [code_model(**row) for row in more_codes]
        if len(cautions) >= BATCH:
            caution_model.objects.using(alias).bulk_create(cautions, batch_size=BATCH)
            code_model.objects.using(alias).bulk_create(codes, batch_size=BATCH)
            cautions, codes = [], []
    caution_model.objects.using(alias).bulk_create(cautions, batch_size=BATCH)
    code_model.objects.using(alias).bulk_create(codes, batch_size=BATCH)


def forget(apps, schema_editor):
    apps.get_model("assessments", "AssessmentCaution").objects.all().delete()
    apps.get_model("assessments", "AssessmentConditionCode").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("assessments", "0003_assessment_cautions")]

    operations = [migrations.RunPython(backfill, forget)]
