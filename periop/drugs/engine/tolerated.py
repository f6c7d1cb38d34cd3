"""A chronic medication the patient already tolerates is not made more cautious by an unknown
attribute.

An unknown attribute value (an antibody or a gene not recorded) fits every constraint: the
cautious reading for a drug that would be new to the patient. For a drug the patient is recorded
as already taking, long enough to count as chronic, that reading harms: "avoid pyridostigmine"
for a myasthenic patient of unknown antibody who has taken it for years invites withholding it
and a myasthenic crisis (clinical-reference.md §5.1: continue; "avoid unless already
tolerated" for MuSK disease). So a rule that fires for such a drug only through an unknown choice
attribute (what kind of disease it is: an antibody, a gene, a genotype) is left out, and an
assumption says so. A rule that a known value satisfies still fires, so the caution is never
below what the least cautious known value gives. An unknown number or boolean (a serum level, a
clearance, a deficit) measures a state that changes, which tolerance says nothing about: it
stays cautious (matching.py, `_unknown_kind`).
"""

from __future__ import annotations

from collections.abc import Iterable

from periop.drugs.engine.timeline import MedicationCourse, duration_text, hours_to_microseconds

# How long a medication must have been taken to count as chronic, in the knowledge base's own
# terms: its only chronic threshold is the 240 hours of `chronic-anticonvulsant-resistance`
# (interactions.toml; clinical-reference.md §7, "about 10-14 days"). A test keeps the two equal.
CHRONIC_MEDICATION_HOURS = 240
_CHRONIC_US = hours_to_microseconds(CHRONIC_MEDICATION_HOURS)


def chronic_course(drug: str, medications: Iterable[MedicationCourse]) -> MedicationCourse | None:
    """The recorded course of `drug` when it is certainly being taken at the evaluation time, not
    stopped, and certainly for at least CHRONIC_MEDICATION_HOURS; else None."""
    for medication in medications:
        if medication.definition.code != drug:
            continue
        exposure = medication.exposure
        if (
            medication.certainly_active
            and medication.since_stop is None
            and not medication.aftermath_notes
            and exposure is not None
            and exposure.within(_CHRONIC_US, None)
        ):
            return medication
    return None


def tolerated_note(medication: MedicationCourse, rule_summary: str) -> str:
    """The assumption shown when a rule is left out for a tolerated chronic medication."""
    return (
        f"{medication.definition.name}: taken for at least "
        f"{duration_text(CHRONIC_MEDICATION_HOURS)} and still taken, so it is continued; an "
        "unknown attribute is not read the most cautious way for a medication the patient "
        f'already tolerates, and "{rule_summary}" is not applied.'
    )
