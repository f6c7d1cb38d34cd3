"""Database guards for the rows a signed record rests on, on SQLite and PostgreSQL.

A signed assessment is already immutable (`periop.assessments.guards`). So are, here:
- the decisions (acknowledgements) of a signed assessment;
- the caution, finding and condition-code rows that index a signed assessment for the reports;
- a condition version once it was replaced by a correction or removed.
Whatever the code path (ORM, raw SQL, a shell), the database rejects UPDATE and DELETE of
those rows; the records' digests in the ledger then show any change made around the guards.
"""

from __future__ import annotations

from periop.audit.triggers import TriggerGuard

SIGNED = "SELECT status FROM assessments_assessment WHERE id = OLD.assessment_id"


def _child_of_signed(table: str, name: str, message: str) -> TriggerGuard:
    """UPDATE and DELETE refused on a row whose assessment is signed."""
    function = f"{name}_reject_change"
    return TriggerGuard(
        table,
        {
            f"{name}_signed_no_update": (
                f"CREATE TRIGGER IF NOT EXISTS {name}_signed_no_update BEFORE UPDATE ON {table} "
                f"WHEN ({SIGNED}) = 'signed' BEGIN SELECT RAISE(ABORT, '{message}'); END;"
            ),
            f"{name}_signed_no_delete": (
                f"CREATE TRIGGER IF NOT EXISTS {name}_signed_no_delete BEFORE DELETE ON {table} "
                f"WHEN ({SIGNED}) = 'signed' BEGIN SELECT RAISE(ABORT, '{message}'); END;"
            ),
        },
        # Built from this module's constants only, never from input.
        f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM assessments_assessment
               WHERE id = OLD.assessment_id AND status = 'signed') THEN
        RAISE EXCEPTION '{message}' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""",  # noqa: S608
        {
            f"{name}_signed_immutable": (
                f"CREATE TRIGGER {name}_signed_immutable BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}();"
            ),
        },
    )


ACKNOWLEDGEMENTS = _child_of_signed(
    "assessments_acknowledgement",
    "acknowledgement",
    "decisions of a signed assessment are immutable",
)
CAUTIONS = _child_of_signed(
    "assessments_assessmentcaution",
    "assessment_caution",
    "report rows of a signed assessment are immutable",
)
FINDINGS = _child_of_signed(
    "assessments_assessmentfinding",
    "assessment_finding",
    "report rows of a signed assessment are immutable",
)
CONDITION_CODES = _child_of_signed(
    "assessments_assessmentconditioncode",
    "assessment_condition_code",
    "report rows of a signed assessment are immutable",
)

CONDITION_TABLE = "assessments_patientcondition"
CONDITION_MESSAGE = "replaced or removed condition versions are immutable"
CONDITION_FINAL = "OLD.replaced_by_id IS NOT NULL OR OLD.removed_at IS NOT NULL"
CONDITION_VERSIONS = TriggerGuard(
    CONDITION_TABLE,
    {
        "condition_version_no_update": (
            "CREATE TRIGGER IF NOT EXISTS condition_version_no_update BEFORE UPDATE ON "
            f"{CONDITION_TABLE} WHEN {CONDITION_FINAL} "
            f"BEGIN SELECT RAISE(ABORT, '{CONDITION_MESSAGE}'); END;"
        ),
        "condition_version_no_delete": (
            "CREATE TRIGGER IF NOT EXISTS condition_version_no_delete BEFORE DELETE ON "
            f"{CONDITION_TABLE} WHEN {CONDITION_FINAL} "
            f"BEGIN SELECT RAISE(ABORT, '{CONDITION_MESSAGE}'); END;"
        ),
    },
    f"""
CREATE OR REPLACE FUNCTION condition_version_reject_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{CONDITION_MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
""",
    {
        "condition_version_immutable": (
            f"CREATE TRIGGER condition_version_immutable BEFORE UPDATE OR DELETE ON "
            f"{CONDITION_TABLE} FOR EACH ROW WHEN ({CONDITION_FINAL}) "
            "EXECUTE FUNCTION condition_version_reject_change();"
        ),
    },
)

GUARDS = (ACKNOWLEDGEMENTS, CAUTIONS, FINDINGS, CONDITION_CODES, CONDITION_VERSIONS)
