"""Citations that hold: every source a rule names is cited, no grade exceeds the reference's, every
link is a link.

The grade table below is data taken from clinical-reference.md: §0.1 (what each grade means), the
grades the §2-§8 tables and §6 text give each source, and §12.1-§12.9 (the Grade column of each
row) for the sources listed in §12.10. A source that no table grades maps to None: a rule may cite
it but must not give it a grade.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from periop.drugs.engine import KnowledgeBase

from .conftest import KNOWLEDGE_DIRECTORY

SOURCE_ID = re.compile(r"\bS\d{2,3}[a-z]?\b")
GRADE_LABEL = re.compile(r"\b([ABCU](?:/[ABCU])?)(?: \([^()]*\))?:")
# §0.1: A primary source read; B review, guideline or label; C teaching page only; U unconfirmed.
GRADE_ORDER = "ABCU"

# The highest grade clinical-reference.md gives each source.
REFERENCE_GRADES: dict[str, str | None] = {
    # §2 "Up-regulation (S01, grade A)"; §5 also gives it B for "toxins".
    "S01": "A",
    "S02": "A",  # §4.1, §5 burns
    "S03": "A",  # §4.1, §5 burns
    "S04": None,  # §10: title page only; no table grades it
    "S05": "A",  # §4.1, §5
    "S06": "B",  # §5 (GBS, critical illness)
    "S07": "A",  # §4.1, §5, §6.4
    "S08": "A",  # §4.1
    "S09": "A",  # §5, §6.4
    "S09b": None,  # §6.4 describes it without a grade
    "S10": "A",  # §5, §6.4, §7
    "S11": "C",  # §2, §4.1, §5
    "S12": "C",  # §4.1
    "S13": "B",  # §4.1, §5, §8
    "S14": "A",  # §4.1, §5, §6.5
    "S15": "A",  # §4.1, §5
    "S16": "A",  # §5, §6.5
    "S16b": "A",  # §4.1 (animal)
    "S17": "A",  # §6.5
    "S18": "A",  # §4.1, §5 (animal)
    "S19": "A",  # §5, §6.1, §7
    "S20": "A",  # §5, §6.1
    "S21": "A",  # §5, §6.1, §7
    "S22": "A",  # §5, §7
    "S23": "B",  # §5, §7, §8
    "S24": "A",  # §5 MG sugammadex "A: S24"; B elsewhere
    "S25": "B",  # §5
    "S26": "B",  # §2, §5
    "S27": None,  # §10: dosing content not read
    "S28": "C",  # §5, §6.1, §11
    "S29": "A",  # §5, §5.1
    "S30": None,  # §3 only, no grade
    "S31": "A",  # §5, §5.1 (read only as a summary: the reference's own §0.1 conflict)
    "S32": "A",  # §5, §6.2
    # §6.2 "(S33, C)" and §0.1: a teaching page is C. §5 writes "B: S33", against both.
    "S33": "C",
    "S34": "B",  # §6.2
    "S34b": "B",  # §6.2
    "S35": "A",  # §5, §6.3
    "S36": "A",  # §5, §6.3
    "S37": "A",  # §5, §7
    "S38": "A",  # §5, §7
    "S39": "A",  # §7
    "S39b": "A",  # §5, §6.3
    "S39c": "A",  # §5, §6.3
    "S40": "A",  # §5
    "S41a": "B",  # §5
    "S41b": "B",  # §5
    "S42": "A",  # §5
    "S43": "A",  # §5, §6.1
    "S45": "A",  # §5, §7 (animal)
    "S46": "B",  # §5, §7, §8
    "S47a": "B",  # §5, §7, §8
    "S47b": "B",  # §7, §8
    # §6.1 "(S47c, C, BNF-derived summary)" and §0.1. §5 writes "B: S47c", against both.
    "S47c": "C",
    "S48": None,  # §7: title only, detail U
    "S49": None,  # §10 only
    "S50": "A",  # §7
    "S51": "B",  # §5, §5.1
    "S52": "A",  # §5, §6.10
    "S53": "A",  # §5, §6.10
    "S54": "A",  # §6.10
    "S55": "A",  # §6.10, §7
    "S56": "B",  # §6.10, §7
    "S57": "A",  # §5, §6.7
    "S58": None,  # §6.7 cites it without a grade
    "S59": "A",  # §5
    "S60": None,  # §10 only
    "S61": "B",  # §5, §6.5, §6.6
    "S62": "C",  # §5, §6.6
    "S62b": "C",  # §8
    "S63": "A",  # §6.6
    "S64": "B",  # §5
    "S65": "B",  # §5, §6.8
    "S66": "A",  # §5, §6.9
    "S67": "A",  # §5, §6.9
    "S68": "A",  # §5, §6.9
    "S69": None,  # §3 only
    "S70": "B",  # §5, §6.9
    "S71": "B",  # §5, §6.9, §7
    "S72": "A",  # §5
    "S73": "A",  # §5, §6.11, §7
    "S74": None,  # §3 only, no grade
    "S74b": "C",  # §5
    "S75": "A",  # §5, §6.11 (animal)
    "S76a": None,  # §10 only
    "S76b": "A",  # §5 "A/B" (§5.1 and §6.11: B)
    "S76c": "A",  # §5 "A/B" (§5.1 and §6.11: B)
    "S76d": "A",  # §5, §6.11
    "S77a": "A",  # §5.1, §7
    "S77b": "A",  # §5, §6.11
    "S77c": "A",  # §5.1
    "S78a": "A",  # §5, §6.11
    "S78b": "A",  # §5
    "S78c": None,  # §6.11 without a grade
    "S79a": "A",  # §5, §6.11
    "S79b": "C",  # §5, §6.11
    "S80": "C",  # §3, §4.1
    "S81": "B",  # §5
    "S82a": "A",  # §5 (animal)
    "S82b": "A",  # §5 (animal)
    "S83": "B",  # §6.1, §8
    "S84": None,  # §10 only
    "S85": "B",  # §5, §7, §8
    "S86": "B",  # §5, §8
    "S87": "B",  # §5, §7 (C in §6.7 and the §5 DMD row; "C/B" in §6.1)
    "S88": "B",  # §7, §8
    "S89": "B",  # §5.1, §7, §8
    "S90": None,  # §10 only
    "S91": None,  # §10 only
    "S92": "C",  # §4.1
    "S93": None,  # §3 only, no grade
    "S94": "A",  # §5
    "S95": "A",  # §6.1 (animal)
    "S96": "A",  # §7 (animal)
    # §12.1-§12.9: the Grade column of each row; where a row mixes grades, the §12 label rule
    # (manufacturer or regulator site A, third-party mirror B, database summary or copy C).
    "S97": "B",
    "S98": "B",
    "S99": "A",
    "S100": "B",
    "S101": "C",
    "S102": "A",
    "S103": "A",
    "S104": "A",
    "S105": "A",
    "S106": "A",
    "S107": "A",
    "S108": "A",
    "S109": "A",
    "S110": "A",
    "S111": "B",
    "S112": "B",
    "S113": "B",
    "S114": "B",
    "S115": "A",
    "S116": "B",
    "S117": "B",
    "S118": "A",
    "S119": "A",
    "S120": "A",
    "S121": "A",
    "S121b": "A",
    "S122": "A",
    "S123": None,  # §12.5: titles only, U
    "S124": None,  # §12.5: results not read, U
    "S125": "A",
    "S126": "A",
    "S127": "B",  # BMJ Best Practice
    "S128": "A",
    "S129": "B",  # MGFA list
    "S129b": "B",
    "S130": "A",
    "S131": "B",
    "S132": "A",
    "S133": "C",  # copy of a commercial point-of-care table
    "S134": "B",
    "S135": "B",
    "S136": "B",
    "S137": "B",
    "S138": "B",
    "S139": "A",
    "S140": "A",
    "S141": "A",
    "S142": "B",  # ASCO guideline table
    "S143": "B",  # §12.6 LEMS class statement
    "S144": "A",
    "S145": "B",
    "S146": "B",
    "S147": "A",
    "S148": "A",
    "S149": "C",
    "S150": "B",
    "S151": "C",
    "S152": "A",
    "S153": "B",
    "S154": "B",
    "S155": "A",
    "S156": "A",
    "S157": "A",
    "S158": "C",
    "S159": "B",
    "S160": "C",
    "S161": "B",
}


def _rule_texts(rule) -> list[str]:
    """Every text of a rule a clinician reads on the card."""
    texts = [rule.summary, rule.rationale, rule.monitoring or "", rule.reversal or ""]
    texts += [phase.summary for phase in rule.phases]
    texts += [dose.text for dose in rule.doses]
    return texts


def graded_ids(evidence: str) -> dict[str, str]:
    """Each source id the evidence string grades, with the highest grade it gives it.

    Segments are separated by ";"; in "A: S19; B: S24" S19 is A. An id after no grade label in its
    segment ("S09b: no grade given") is ungraded.
    """
    grades: dict[str, str] = {}
    for segment in evidence.split(";"):
        current: str | None = None
        for match in re.finditer(f"{GRADE_LABEL.pattern}|{SOURCE_ID.pattern}", segment):
            if match.group(1):
                current = min(match.group(1).split("/"), key=GRADE_ORDER.index)
            elif current is not None:
                source = match.group(0)
                previous = grades.get(source, "U")
                grades[source] = min(previous, current, key=GRADE_ORDER.index)
    return grades


def test_the_evidence_parser_reads_the_knowledge_base_notation():
    assert graded_ids("A: S07, S09; S09b: no grade given (§6.4); U: beyond 2 years") == {
        "S07": "A",
        "S09": "A",
    }
    assert graded_ids("U: no mivacurium data; A: S32 and B: S33 for the class") == {
        "S32": "A",
        "S33": "B",
    }
    assert graded_ids("B: S86; C/B: S87") == {"S86": "B", "S87": "B"}
    assert graded_ids("A (animal): S45; B: S23") == {"S45": "A", "S23": "B"}


def test_the_grade_table_covers_every_listed_reference(kb: KnowledgeBase):
    # clinical-reference.md §10 and §12.10: every source the knowledge base lists has a row.
    assert set(kb.references) <= set(REFERENCE_GRADES)


def pytest_generate_tests(metafunc):
    if "rule" in metafunc.fixturenames:
        from periop.drugs.engine import load_knowledge_base

        rules = load_knowledge_base(KNOWLEDGE_DIRECTORY).rules
        metafunc.parametrize("rule", rules, ids=[rule.id for rule in rules])


def test_every_source_named_in_a_rule_text_is_cited(rule):
    # Audit 2026-11-29, MISSING: the card lists only `references`, so an id named in the text
    # (rationale, summary, monitoring, reversal, phase or dose text) must be in that list.
    named = {source for text in _rule_texts(rule) for source in SOURCE_ID.findall(text)}
    assert named <= set(rule.references), sorted(named - set(rule.references))


def test_every_graded_source_is_cited(rule):
    assert set(graded_ids(rule.evidence)) <= set(rule.references)


def test_no_rule_grades_a_source_above_the_reference(rule):
    # §0.1 grades; the table above gives the highest grade the reference gives each source.
    for source, grade in graded_ids(rule.evidence).items():
        highest = REFERENCE_GRADES.get(source)
        assert highest is not None, f"{source}: the reference gives it no grade; rule gives {grade}"
        assert GRADE_ORDER.index(grade) >= GRADE_ORDER.index(highest), (
            f"{source}: rule gives {grade}, the reference at most {highest}"
        )


RATIONALE_GRADE = re.compile(r"\b(S\d{2,3}[a-z]?),? (?:[a-z ,]*?)grade ([ABC])\b")


def test_no_rationale_grades_a_source_above_the_reference(rule):
    # The rationale names grades in prose ("(S19, grade A)"); the same check as the evidence.
    for match in RATIONALE_GRADE.finditer(rule.rationale.replace("\n", " ")):
        source, grade = match.groups()
        highest = REFERENCE_GRADES.get(source)
        assert highest is not None, f"{source}: the reference gives it no grade; text gives {grade}"
        assert GRADE_ORDER.index(grade) >= GRADE_ORDER.index(highest), match.group(0)


def test_every_cited_source_is_named_in_the_evidence(rule):
    # Audit 2026-11-29: 34 rules cited sources their evidence string did not grade or name.
    unnamed = [
        source for source in rule.references if not re.search(rf"\b{source}\b", rule.evidence)
    ]
    assert not unnamed, unnamed


# Each structured dose figure and the source the reference gives it (§6.1, §6.4, §6.9, §8).
DOSE_SOURCES = {
    ("rocuronium", "per_kg", "1.2", "1.2"): "S09",  # §6.4: major burns
    ("rocuronium", "per_kg", "0.5", "0.6"): "S28",  # §6.1: teaching page, MG
    ("succinylcholine", "per_kg", "1.5", "2.0"): "S28",  # §6.1: teaching dose, MG
    ("succinylcholine", "fixed", "5", "10"): "S13",  # §6.9, §8: label test dose
    ("neostigmine", "per_kg", "0.03", "0.07"): "S86",  # §8: Bloxiverz label, max 5 mg
    ("sugammadex", "per_kg", "2", "16"): "S85",  # §8: Bridion label, 2/4/16 mg/kg
    ("rocuronium", "per_kg", "0.075", "0.1"): "S113",  # §12.4: Esmeron SmPC, long volatile use
}


def _dose_figures(rule):
    for dose in rule.doses:
        drugs = dose.drug_codes or rule.target_drugs
        for kind, value in (("per_kg", dose.per_kg_mg), ("fixed", dose.fixed_mg)):
            if value is not None:
                for drug in drugs:
                    yield (drug, kind, str(value.minimum), str(value.maximum))


def test_every_dose_figure_cites_its_source(rule):
    # Audit 2026-11-29: three neostigmine label doses were shown without S86.
    for figure in _dose_figures(rule):
        assert figure in DOSE_SOURCES, f"{figure}: add the figure and its source to DOSE_SOURCES"
        assert DOSE_SOURCES[figure] in rule.references, figure


def test_a_rule_with_a_grade_u_evidence_item_says_so_or_keeps_it_outside_its_level(rule):
    # README: `unconfirmed = true` when the rule rests on a grade-U item. A rule that grades
    # nothing but U rests on U items only.
    if set(graded_ids(rule.evidence).values()) <= {"U"}:
        assert rule.unconfirmed, rule.evidence


def is_link(url: str) -> bool:
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and bool(parts.hostname)
        and not parts.hostname.endswith(".")
        and not any(character.isspace() for character in url)
    )


def test_every_reference_url_is_an_https_link_or_empty(kb: KnowledgeBase):
    # Audit 2026-11-29, URL shape: `url` goes straight into the card's link and the print view.
    for reference in kb.references.values():
        assert reference.url == "" or is_link(reference.url), (reference.id, reference.url)


def test_a_reference_without_a_link_says_what_identifies_it(kb: KnowledgeBase):
    for reference in kb.references.values():
        if not reference.url:
            assert reference.identifier, reference.id


DOI = re.compile(r"doi:(\S+?)(?:;|$)")
PMID = re.compile(r"PMID (\d+)")


def test_a_doi_or_pmid_identifier_is_linked(kb: KnowledgeBase):
    # clinical-reference.md §10 gives some sources as "doi:..." or "PMID ..." only; each has a
    # resolvable form, https://doi.org/<doi> or https://pubmed.ncbi.nlm.nih.gov/<pmid>/.
    for reference in kb.references.values():
        identifier = reference.identifier
        links = {f"https://doi.org/{doi}" for doi in DOI.findall(identifier)}
        links |= {f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" for pmid in PMID.findall(identifier)}
        if links:
            assert reference.url in links, (reference.id, reference.url)


@pytest.mark.parametrize(
    ("source", "url"),
    [
        ("S05", "https://doi.org/10.1097/00000542-197507000-00018"),
        ("S07", "https://doi.org/10.1016/s0750-7658(05)80728-2"),
        ("S15", "https://pubmed.ncbi.nlm.nih.gov/9019786/"),
        ("S19", "https://doi.org/10.1007/BF03005579"),
        ("S83", "https://doi.org/10.1097/ALN.0000000000004379"),
        ("S48", ""),
    ],
)
def test_identifiers_of_the_audit_become_links(kb: KnowledgeBase, source, url):
    assert kb.references[source].url == url
