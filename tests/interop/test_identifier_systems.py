"""One list of Periop's `urn:periop:` systems (periop.interop.systems), shared by the CDS Hooks
service and the FHIR export: no other module spells one, and no two names share a value."""

from __future__ import annotations

from pathlib import Path

from periop.interop import systems

PACKAGE = Path(systems.__file__).resolve().parents[1]


def _spells_a_system(source: str) -> bool:
    # A string literal (plain or f-string) that starts with the prefix; prose may name it.
    return '"urn:periop:' in source or "'urn:periop:" in source


def test_no_module_but_the_list_spells_a_periop_system():
    spelled = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.name != "systems.py" and _spells_a_system(path.read_text(encoding="utf-8"))
    ]

    assert spelled == []


def test_each_system_has_one_name_and_the_cds_hooks_and_fhir_names_agree():
    from periop.interop.cds_hooks import cards
    from periop.interop.fhir import coding

    values = [
        value
        for name, value in vars(systems).items()
        if name.isupper() and isinstance(value, str) and value.startswith("urn:periop:")
    ]
    assert len(values) == len(set(values))
    assert cards.OVERRIDE_REASON_SYSTEM == systems.OVERRIDE_REASON
    assert coding.PATIENT_ID == systems.PATIENT_ID
    assert coding.SNOMED_CT == systems.SNOMED
