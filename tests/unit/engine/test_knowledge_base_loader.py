"""Loading, validating and compiling the knowledge-base files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from periop.drugs.engine import KnowledgeBaseError, Level
from tests.unit.engine.builders import KnowledgeFiles

RULES = "knowledge/rules/base.toml"


def test_it_loads_release_metadata_references_conditions_and_drugs(kb_files: KnowledgeFiles):
    kb = kb_files.load()

    assert kb.version == "2026.11.0"
    assert kb.release.released_on == dt.date(2026, 11, 22)
    assert kb.release.revised_on is None
    assert kb.release.funding_source == "Test funding"
    assert kb.references["R2"].url == "doi:10.0/2"
    assert kb.guidance.neuromuscular_monitoring.references == ("R1",)
    burn = kb.conditions["burn"]
    assert burn.receptor_effect == "up"
    assert burn.receptor_effect_from_hours == 24
    assert burn.attributes["tbsa_percent"].maximum == 100
    assert burn.attributes["tbsa_percent"].unit == "%"
    assert kb.conditions["myasthenia-gravis"].attributes["antibody"].unknown == "unknown"
    assert kb.conditions["stroke"].receptor_effect_overrides[0].effect == "none"
    assert list(kb.drugs)[:3] == ["succinylcholine", "rocuronium", "vecuronium"]
    assert kb.drugs["rocuronium"].atc == "M03AC09"
    assert kb.drugs["vecuronium"].atc is None
    assert kb.groups["aminosteroid"] == "Aminosteroids"


def test_it_loads_every_field_of_a_rule(kb_files: KnowledgeFiles):
    kb_files.add_rule(
        "full-rule",
        drugs=["group:aminosteroid"],
        level="adjust",
        effects=["prolonged", "increased_sensitivity"],
        unconfirmed=True,
        monitoring="Watch.",
        reversal="Sugammadex.",
        uses_demographics=["weight"],
        when={
            "conditions": ["myasthenia-gravis"],
            "attributes": {"antibody": ["achr"]},
            "condition_status": "any",
            "medications": ["pyridostigmine"],
            "medication_hours": {"min": 240},
            "present": ["group:aminoglycoside"],
            "also_present": ["magnesium-sulfate"],
            "receptor_state": ["down"],
        },
        doses=[
            {
                "drugs": ["rocuronium"],
                "text": "Half.",
                "per_kg_mg": {"min": "0.3", "max": "0.5"},
                "max_mg": "50",
            }
        ],
    )

    rule = kb_files.load().rule("full-rule")

    assert rule.level is Level.ADJUST
    assert rule.effects == ("increased_sensitivity", "prolonged")  # vocabulary order
    assert rule.target_drugs == {"rocuronium", "vecuronium"}
    assert rule.unconfirmed is True
    assert rule.when.condition_status == "any"
    assert rule.when.medication_hours is not None
    assert rule.when.medication_hours.minimum == 240
    assert rule.when.present_codes == {"gentamicin", "tobramycin"}
    assert rule.doses[0].per_kg_mg is not None
    assert rule.doses[0].per_kg_mg.minimum == Decimal("0.3")
    assert rule.doses[0].max_mg == Decimal("50")
    assert rule.source_file == "rules/base.toml"


def test_it_loads_a_rule_s_alternatives(kb_files: KnowledgeFiles):
    kb_files.add_rule(
        "with-alternatives",
        drugs=["succinylcholine"],
        alternatives=[
            {"drug": "rocuronium", "references": ["R1"]},
            {"drug": "sugammadex", "references": ["R1", "R2"], "present": ["group:aminosteroid"]},
        ],
    )
    kb_files.add_rule("without-alternatives")

    kb = kb_files.load()

    first, second = kb.index.rules_by_id["with-alternatives"].alternatives
    assert (first.drug, first.references, first.present_codes) == (
        "rocuronium",
        ("R1",),
        frozenset(),
    )
    assert second.drug == "sugammadex"
    assert second.references == ("R1", "R2")
    assert second.present == ("group:aminosteroid",)
    assert second.present_codes == frozenset({"rocuronium", "vecuronium"})
    assert kb.index.rules_by_id["without-alternatives"].alternatives == ()


def test_it_resolves_drug_codes_groups_and_classes_as_selectors(kb_files: KnowledgeFiles):
    kb = kb_files.load()

    assert kb.drug_codes_for("rocuronium") == {"rocuronium"}
    assert kb.drug_codes_for("group:aminosteroid") == {"rocuronium", "vecuronium"}
    assert kb.drug_codes_for("group:nondepolarizing-blocker") == {"rocuronium", "vecuronium"}
    with pytest.raises(KeyError, match="group:steroid"):
        kb.drug_codes_for("group:steroid")


def test_it_indexes_rules_by_target_drug_after_expanding_groups(kb_files: KnowledgeFiles):
    kb_files.add_rule("a-general", drugs=["group:nmba"])
    kb_files.add_rule("b-burn", drugs=["succinylcholine"], when={"conditions": ["burn"]})
    kb = kb_files.load()

    assert [kb.rules[i].id for i in kb.index.unconditional_by_drug["succinylcholine"]] == [
        "a-general"
    ]
    assert kb.index.conditional_by_drug["succinylcholine"]["burn"] == (1,)
    assert "burn" not in kb.index.conditional_by_drug["rocuronium"]
    assert kb.index.unconditional_by_drug["gentamicin"] == ()
    assert [rule.id for rule in kb.index.rules_by_condition["burn"]] == ["b-burn"]


def test_it_reads_rule_files_in_sorted_order(kb_files: KnowledgeFiles):
    kb_files.add_rule("from-zebra", file="rules/zebra.toml")
    kb_files.add_rule("from-alpha", file="rules/alpha.toml")

    kb = kb_files.load()

    assert [rule.id for rule in kb.rules] == ["from-alpha", "from-zebra"]
    assert kb.rules[0].source_file == "rules/alpha.toml"


def test_its_digest_is_stable_and_changes_with_any_content(kb_files: KnowledgeFiles):
    first = kb_files.load().digest
    assert first.startswith("sha256:")
    assert len(first) == len("sha256:") + 64
    assert kb_files.load().digest == first

    kb_files.documents["references.toml"]["references"][0]["what_read"] = "Only the abstract."
    assert kb_files.load().digest != first


def test_its_digest_changes_with_a_date(kb_files: KnowledgeFiles):
    # The digest identifies the release on every evaluation and assessment: a date is content.
    first = kb_files.load().digest
    kb_files.documents["release.toml"]["release"]["released_on"] = dt.date(2026, 11, 23)

    assert kb_files.load().digest != first


def test_the_canonical_form_writes_dates_times_and_decimals_as_text():
    from periop.drugs.engine.toml_checks import canonical_json

    value = {"b": Decimal("0.30"), "a": [dt.date(2026, 11, 22), dt.time(8, 30)], "c": "Sjögren"}

    # Text is kept as written, not escaped: stored releases were digested that way.
    assert canonical_json(value) == '{"a":["2026-11-22","08:30:00"],"b":"0.30","c":"Sjögren"}'
    with pytest.raises(TypeError):
        canonical_json({"a": {1, 2}})


def test_its_digest_ignores_key_order_and_layout_within_a_file(kb_files: KnowledgeFiles):
    first = kb_files.load().digest
    release = kb_files.documents["release.toml"]["release"]
    kb_files.documents["release.toml"]["release"] = dict(reversed(list(release.items())))

    assert kb_files.load().digest == first


def test_it_allows_phases_with_the_same_window_for_different_statuses(kb_files: KnowledgeFiles):
    kb_files.add_rule(
        "by-status",
        drugs=["succinylcholine"],
        when={"conditions": ["burn"]},
        phases=[
            {"from_hours": 0, "status": "ongoing", "level": "avoid", "summary": "Open."},
            {"from_hours": 0, "status": "resolved", "level": "monitor", "summary": "Healed."},
        ],
    )

    assert kb_files.load().rule("by-status").phases[1].level is Level.MONITOR


def test_a_phase_may_flag_itself_unconfirmed_and_otherwise_follows_the_rule(
    kb_files: KnowledgeFiles,
):
    kb_files.add_rule(
        "by-phase",
        drugs=["succinylcholine"],
        when={"conditions": ["burn"]},
        phases=[{**_phase(0, 24), "unconfirmed": True, "summary": "Early."}, _phase(24)],
    )

    phases = kb_files.load().rule("by-phase").phases
    assert [phase.unconfirmed for phase in phases] == [True, None]


def test_a_reference_may_have_no_link_but_an_identifier(kb_files: KnowledgeFiles):
    reference = kb_files.documents["references.toml"]["references"][0]
    reference["url"] = ""
    reference["identifier"] = "PMID 123"

    loaded = kb_files.load().references[reference["id"]]
    assert (loaded.url, loaded.identifier) == ("", "PMID 123")


def test_a_snomed_concept_narrower_than_its_condition_stands_for_matching_records_only(
    kb_files: KnowledgeFiles,
):
    kb_files.condition("myasthenia-gravis")["snomed_when"] = {"antibody": ["achr", "musk"]}

    definition = kb_files.load().conditions["myasthenia-gravis"]

    assert definition.snomed_for({"antibody": "achr"}) == "91637004"
    assert definition.snomed_for({"antibody": "musk", "distribution": "ocular"}) == "91637004"
    assert definition.snomed_for({"antibody": "seronegative"}) is None
    assert definition.snomed_for({}) is None
    assert kb_files.load().conditions["burn"].snomed_for({}) is None


def test_a_snomed_concept_without_snomed_when_stands_for_every_record(kb_files: KnowledgeFiles):
    definition = kb_files.load().conditions["myasthenia-gravis"]

    assert definition.snomed_for({}) == definition.snomed_for({"antibody": "musk"}) == "91637004"


def _set(
    document: str, path: tuple[object, ...], value: object
) -> Callable[[KnowledgeFiles], None]:
    def change(files: KnowledgeFiles) -> None:
        target = files.documents[document]
        for key in path[:-1]:
            target = target[key]  # type: ignore[index]
        if value is _DELETE:
            del target[path[-1]]  # type: ignore[attr-defined]
        else:
            target[path[-1]] = value  # type: ignore[index]

    return change


def _rule(**fields: object) -> Callable[[KnowledgeFiles], None]:
    def change(files: KnowledgeFiles) -> None:
        files.add_rule("bad-rule", **fields)

    return change


_DELETE = object()
_BURN_WINDOW = {"conditions": ["burn"]}


def _phase(start: float, end: float | None = None, status: str = "any") -> dict[str, object]:
    phase: dict[str, object] = {
        "from_hours": start,
        "status": status,
        "level": "avoid",
        "summary": "A phase.",
    }
    if end is not None:
        phase["to_hours"] = end
    return phase


INVALID = {
    "a snomed_when without a snomed code": (
        _set("conditions.toml", ("conditions", 2, "snomed_when"), {"motor_deficit": ["x"]}),
        "knowledge/conditions.toml",
        "condition 'stroke'",
        "snomed_when needs a snomed code",
    ),
    "a snomed_when on an attribute that is not a choice": (
        _set("conditions.toml", ("conditions", 1, "snomed_when"), {"in_remission": ["true"]}),
        "knowledge/conditions.toml",
        "condition 'myasthenia-gravis'",
        "snomed_when names 'in_remission', which is not a choice attribute",
    ),
    "a snomed_when value outside the attribute's choices": (
        _set("conditions.toml", ("conditions", 1, "snomed_when"), {"antibody": ["lrp4"]}),
        "knowledge/conditions.toml",
        "condition 'myasthenia-gravis'",
        "antibody: 'lrp4' is not one of achr, musk, seronegative, unknown",
    ),
    "an empty snomed_when": (
        _set("conditions.toml", ("conditions", 1, "snomed_when"), {}),
        "knowledge/conditions.toml",
        "condition 'myasthenia-gravis'",
        "snomed_when must name at least one attribute",
    ),
    "an unknown key in the release": (
        _set("release.toml", ("release", "versoin"), "1"),
        "knowledge/release.toml",
        "[release]",
        "unknown key 'versoin'",
    ),
    "missing release metadata": (
        _set("release.toml", ("release", "developer"), _DELETE),
        "knowledge/release.toml",
        "[release]",
        "missing required key 'developer'",
    ),
    "a version that is not a calendar version": (
        _set("release.toml", ("release", "version"), "v1"),
        "knowledge/release.toml",
        "[release]",
        "version 'v1'",
    ),
    "a release date that is not a date": (
        _set("release.toml", ("release", "released_on"), "2026-11-22"),
        "knowledge/release.toml",
        "[release]",
        "released_on must be a TOML date",
    ),
    "a guidance reference that does not exist": (
        _set("release.toml", ("guidance", "neuromuscular_monitoring", "references"), ["S404"]),
        "knowledge/release.toml",
        "[guidance.neuromuscular_monitoring]",
        "unknown reference id 'S404'",
    ),
    "monitoring guidance without a reference": (
        _set("release.toml", ("guidance", "neuromuscular_monitoring", "references"), []),
        "knowledge/release.toml",
        "[guidance.neuromuscular_monitoring]",
        "references must not be empty",
    ),
    "a duplicate reference id": (
        _set("references.toml", ("references", 1, "id"), "R1"),
        "knowledge/references.toml",
        "reference 'R1'",
        "duplicate reference id 'R1'",
    ),
    "a reference without a citation": (
        _set("references.toml", ("references", 0, "citation"), ""),
        "knowledge/references.toml",
        "reference 'R1'",
        "citation must be a non-empty string",
    ),
    "a reference url that is not a string": (
        _set("references.toml", ("references", 0, "url"), 7),
        "knowledge/references.toml",
        "reference 'R1'",
        "url must be a string (empty when there is no link)",
    ),
    "an empty reference identifier": (
        _set("references.toml", ("references", 0, "identifier"), ""),
        "knowledge/references.toml",
        "reference 'R1'",
        "identifier must be a non-empty string",
    ),
    "a phase unconfirmed flag that is not a boolean": (
        _rule(when=_BURN_WINDOW, phases=[{**_phase(0), "unconfirmed": "yes"}], level=None),
        RULES,
        "rule 'bad-rule' phase #1",
        "unconfirmed must be true or false",
    ),
    "phases alike but for their unconfirmed flag": (
        _rule(when=_BURN_WINDOW, phases=[{**_phase(0, 24), "unconfirmed": True}, _phase(24)]),
        RULES,
        "rule 'bad-rule'",
        "phases #1 and #2 share level, effects and summary but not unconfirmed",
    ),
    "a drug in an undeclared group": (
        _set("drugs.toml", ("drugs", 1, "groups"), ["nmba", "steroid"]),
        "knowledge/drugs.toml",
        "drug 'rocuronium'",
        "unknown group 'steroid'",
    ),
    "a drug class outside the vocabulary": (
        _set("drugs.toml", ("drugs", 0, "drug_class"), "blocker"),
        "knowledge/drugs.toml",
        "drug 'succinylcholine'",
        "drug_class 'blocker' is not one of",
    ),
    "a duplicate drug code": (
        _set("drugs.toml", ("drugs", 2, "code"), "rocuronium"),
        "knowledge/drugs.toml",
        "drug 'rocuronium'",
        "duplicate drug code 'rocuronium'",
    ),
    "a group named like a drug class": (
        _set("drugs.toml", ("groups", 0, "code"), "antibiotic"),
        "knowledge/drugs.toml",
        "group 'antibiotic'",
        "already a group or a drug class",
    ),
    "a duplicate condition code": (
        _set("conditions.toml", ("conditions", 1, "code"), "burn"),
        "knowledge/conditions.toml",
        "condition 'burn'",
        "duplicate condition code 'burn'",
    ),
    "a mechanism site outside the vocabulary": (
        _set("conditions.toml", ("conditions", 0, "mechanism_site"), "elbow"),
        "knowledge/conditions.toml",
        "condition 'burn'",
        "mechanism_site 'elbow'",
    ),
    "a receptor effect outside the vocabulary": (
        _set("conditions.toml", ("conditions", 0, "receptor_effect"), "sideways"),
        "knowledge/conditions.toml",
        "condition 'burn'",
        "receptor_effect 'sideways'",
    ),
    "a condition citing an unknown reference": (
        _set("conditions.toml", ("conditions", 0, "references"), ["S404"]),
        "knowledge/conditions.toml",
        "condition 'burn'",
        "unknown reference id 'S404'",
    ),
    "an attribute default outside its range": (
        _set("conditions.toml", ("conditions", 0, "attributes", "tbsa_percent", "default"), 150),
        "knowledge/conditions.toml",
        "condition 'burn' attribute 'tbsa_percent'",
        "default: 150 is above the maximum of 100 %",
    ),
    "an unknown marker that is not a choice": (
        _set("conditions.toml", ("conditions", 1, "attributes", "antibody", "unknown"), "n/a"),
        "knowledge/conditions.toml",
        "condition 'myasthenia-gravis' attribute 'antibody'",
        "unknown marker 'n/a'",
    ),
    "an attribute type outside the vocabulary": (
        _set("conditions.toml", ("conditions", 0, "attributes", "tbsa_percent", "type"), "text"),
        "knowledge/conditions.toml",
        "condition 'burn' attribute 'tbsa_percent'",
        "type 'text'",
    ),
    "synonyms written as one string, not a list": (
        _set("drugs.toml", ("drugs", 0, "synonyms"), "suxamethonium"),
        "knowledge/drugs.toml",
        "drug 'succinylcholine'",
        "synonyms must be a list of non-empty strings, not 'suxamethonium'",
    ),
    "a receptor-effect delay written as a string": (
        _set("conditions.toml", ("conditions", 0, "receptor_effect_from_hours"), "24"),
        "knowledge/conditions.toml",
        "condition 'burn'",
        "receptor_effect_from_hours must be a number, not '24'",
    ),
    "a condition that cites no reference": (
        _set("conditions.toml", ("conditions", 1, "references"), []),
        "knowledge/conditions.toml",
        "condition 'myasthenia-gravis'",
        "references must not be empty",
    ),
    "a choice attribute without choices": (
        _set("conditions.toml", ("conditions", 1, "attributes", "antibody", "choices"), []),
        "knowledge/conditions.toml",
        "condition 'myasthenia-gravis' attribute 'antibody'",
        "choices must not be empty",
    ),
    "a receptor effect that starts before onset": (
        _set("conditions.toml", ("conditions", 0, "receptor_effect_from_hours"), -1),
        "knowledge/conditions.toml",
        "condition 'burn'",
        "receptor_effect_from_hours -1 must not be below 0",
    ),
    "an attribute minimum above its maximum": (
        _set("conditions.toml", ("conditions", 0, "attributes", "tbsa_percent", "min"), 101),
        "knowledge/conditions.toml",
        "condition 'burn' attribute 'tbsa_percent'",
        "min 101 is above max 100",
    ),
    # An entry without a valid id is named by its position in its list, counted from 1, so
    # that the author can find it.
    "a reference without an id, named by its position": (
        _set("references.toml", ("references", 1, "id"), _DELETE),
        "knowledge/references.toml",
        "reference #2",
        "missing required key 'id'",
    ),
    "a group without a code, named by its position": (
        _set("drugs.toml", ("groups", 1, "code"), 7),
        "knowledge/drugs.toml",
        "group #2",
        "code must be a non-empty string, not 7",
    ),
    "a drug without a code, named by its position": (
        _set("drugs.toml", ("drugs", 1, "code"), _DELETE),
        "knowledge/drugs.toml",
        "drug #2",
        "missing required key 'code'",
    ),
    "a condition without a code, named by its position": (
        _set("conditions.toml", ("conditions", 1, "code"), ""),
        "knowledge/conditions.toml",
        "condition #2",
        "code must be a non-empty string",
    ),
    "a key that does not belong to the attribute type": (
        _set("conditions.toml", ("conditions", 2, "attributes", "motor_deficit", "min"), 0),
        "knowledge/conditions.toml",
        "condition 'stroke' attribute 'motor_deficit'",
        "unknown key 'min'",
    ),
    "a receptor override on an unknown attribute": (
        _set(
            "conditions.toml",
            ("conditions", 2, "receptor_effect_overrides"),
            [{"attributes": {"deficit": [False]}, "effect": "none"}],
        ),
        "knowledge/conditions.toml",
        "condition 'stroke' receptor_effect_overrides #1",
        "unknown attribute 'deficit'",
    ),
    "an unknown key in a rule": (
        _rule(referneces=["R1"]),
        RULES,
        "rule 'bad-rule'",
        "unknown key 'referneces'",
    ),
    "a rule id that is not a slug": (
        _rule(id="Bad Rule"),
        RULES,
        "rule 'Bad Rule'",
        "is not a lowercase slug",
    ),
    "an unknown target drug": (
        _rule(drugs=["suxx"]),
        RULES,
        "rule 'bad-rule'",
        "drugs: unknown drug 'suxx'",
    ),
    "an unknown target group": (
        _rule(drugs=["group:steroid"]),
        RULES,
        "rule 'bad-rule'",
        "drugs: unknown group 'steroid'",
    ),
    "an empty target list": (
        _rule(drugs=[]),
        RULES,
        "rule 'bad-rule'",
        "drugs must not be empty",
    ),
    "a level outside the vocabulary": (
        _rule(level="severe"),
        RULES,
        "rule 'bad-rule'",
        # Most restrictive first, as the card and the contract order them.
        "level 'severe' is not one of contraindicated, avoid, adjust, monitor, none",
    ),
    "an effect outside the vocabulary": (
        _rule(effects=["sleepy"]),
        RULES,
        "rule 'bad-rule'",
        "effects: 'sleepy' is not one of",
    ),
    "a rule with neither level nor phases": (
        _rule(level=None),
        RULES,
        "rule 'bad-rule'",
        "neither a level nor phases",
    ),
    "a rule with both level and phases": (
        _rule(when=_BURN_WINDOW, phases=[_phase(0)], level="avoid"),
        RULES,
        "rule 'bad-rule'",
        "takes its level and effects from the phases",
    ),
    "an empty rationale": (
        _rule(rationale="  "),
        RULES,
        "rule 'bad-rule'",
        "rationale must be a non-empty string",
    ),
    "an empty reference list": (
        _rule(references=[]),
        RULES,
        "rule 'bad-rule'",
        "references must not be empty",
    ),
    "a rule citing an unknown reference": (
        _rule(references=["R1", "S404"]),
        RULES,
        "rule 'bad-rule'",
        "unknown reference id 'S404'",
    ),
    "an unknown key in when": (
        _rule(when={"medication": ["phenytoin"]}),
        RULES,
        "rule 'bad-rule'",
        "unknown key 'medication'",
    ),
    "an unknown condition": (
        _rule(when={"conditions": ["brun"]}),
        RULES,
        "rule 'bad-rule'",
        "conditions: unknown condition 'brun'",
    ),
    "an attribute none of the rule's conditions has": (
        _rule(when={"conditions": ["burn"], "attributes": {"antibody": ["achr"]}}),
        RULES,
        "rule 'bad-rule'",
        "unknown attribute 'antibody'",
    ),
    "an attribute value outside the choices": (
        _rule(when={"conditions": ["myasthenia-gravis"], "attributes": {"antibody": ["xyz"]}}),
        RULES,
        "rule 'bad-rule'",
        "attribute 'antibody': 'xyz' is not one of achr",
    ),
    # An empty list would allow no value: a rule that could never fire, silently.
    "an attribute constraint that allows no value": (
        _rule(when={"conditions": ["myasthenia-gravis"], "attributes": {"antibody": []}}),
        RULES,
        "rule 'bad-rule'",
        "attribute 'antibody' must list its allowed values, not []",
    ),
    "an attribute constraint given as one value, not a list": (
        _rule(when={"conditions": ["myasthenia-gravis"], "attributes": {"antibody": "achr"}}),
        RULES,
        "rule 'bad-rule'",
        "attribute 'antibody' must list its allowed values, not 'achr'",
    ),
    "a boolean attribute given as text": (
        _rule(when={"conditions": ["stroke"], "attributes": {"motor_deficit": ["yes"]}}),
        RULES,
        "rule 'bad-rule'",
        "'yes' is not true or false",
    ),
    "a number constraint whose minimum is above its maximum": (
        _rule(
            when={"conditions": ["burn"], "attributes": {"tbsa_percent": {"min": 20, "max": 10}}}
        ),
        RULES,
        "rule 'bad-rule'",
        "attribute 'tbsa_percent': min 20 is above max 10",
    ),
    "a number attribute given as a list": (
        _rule(when={"conditions": ["burn"], "attributes": {"tbsa_percent": [10]}}),
        RULES,
        "rule 'bad-rule'",
        "attribute 'tbsa_percent' (a number) must be a table",
    ),
    "a condition status outside the vocabulary": (
        _rule(when={"conditions": ["burn"], "condition_status": "resolved"}),
        RULES,
        "rule 'bad-rule'",
        "condition_status 'resolved' is not one of active, any",
    ),
    "an unknown medication selector": (
        _rule(when={"medications": ["group:antihistamine"]}),
        RULES,
        "rule 'bad-rule'",
        "medications: unknown group 'antihistamine'",
    ),
    "medication hours without a medication": (
        _rule(when={"medication_hours": {"min": 1}}),
        RULES,
        "rule 'bad-rule'",
        "medication_hours needs when.medications",
    ),
    "medication hours whose minimum is not below the maximum": (
        _rule(when={"medications": ["phenytoin"], "medication_hours": {"min": 9, "max": 9}}),
        RULES,
        "rule 'bad-rule'",
        "medication_hours min 9 is not below max 9",
    ),
    "medication hours before the start": (
        _rule(when={"medications": ["phenytoin"], "medication_hours": {"min": -1}}),
        RULES,
        "rule 'bad-rule'",
        "min -1 must not be below 0",
    ),
    "an unknown present selector": (
        _rule(when={"present": ["gentamycin"]}),
        RULES,
        "rule 'bad-rule'",
        "present: unknown drug 'gentamycin'",
    ),
    "a receptor state outside the vocabulary": (
        _rule(when={"receptor_state": ["sideways"]}),
        RULES,
        "rule 'bad-rule'",
        "receptor_state: 'sideways' is not one of up, down, mixed, normal",
    ),
    "a phase whose start is not before its end": (
        _rule(when=_BURN_WINDOW, phases=[_phase(72, 24)]),
        "knowledge/rules/base.toml",
        "rule 'bad-rule' phase #1",
        "from_hours 72 is not before to_hours 24",
    ),
    "a phase of no length": (
        _rule(when=_BURN_WINDOW, phases=[_phase(24, 24)]),
        RULES,
        "rule 'bad-rule' phase #1",
        "from_hours 24 is not before to_hours 24",
    ),
    "overlapping phases with the same status": (
        _rule(when=_BURN_WINDOW, phases=[_phase(0, 48), _phase(24, 72)]),
        RULES,
        "rule 'bad-rule'",
        "phases #1 and #2 overlap for the same status",
    ),
    "overlapping phases after a pair on different clocks": (
        _rule(
            when=_BURN_WINDOW,
            phases=[
                _phase(0),
                {**_phase(0, None, "resolved"), "since": "resolution", "summary": "Healed."},
                _phase(24, 48),
            ],
        ),
        RULES,
        "rule 'bad-rule'",
        "phases #1 and #3 overlap for the same status",
    ),
    "a phase for any status overlapping an ongoing one": (
        _rule(when=_BURN_WINDOW, phases=[_phase(0), _phase(72, None, "ongoing")]),
        RULES,
        "rule 'bad-rule'",
        "phases #1 and #2 overlap",
    ),
    "a phase status outside the vocabulary": (
        _rule(when=_BURN_WINDOW, phases=[_phase(0, None, "healed")]),
        RULES,
        "rule 'bad-rule' phase #1",
        "status 'healed' is not one of any, ongoing, resolved",
    ),
    "phases without a condition to count from": (
        _rule(phases=[_phase(0)]),
        RULES,
        "rule 'bad-rule'",
        "when.conditions is empty",
    ),
    "a dose written as a float": (
        _rule(doses=[{"text": "Less.", "per_kg_mg": {"min": 0.5, "max": "0.6"}}]),
        RULES,
        "rule 'bad-rule' dose #1",
        "per_kg_mg min must be a decimal written as a string",
    ),
    "a dose range whose minimum is above its maximum": (
        _rule(doses=[{"text": "Less.", "fixed_mg": {"min": "10", "max": "5"}}]),
        RULES,
        "rule 'bad-rule' dose #1",
        "fixed_mg min 10 is above max 5",
    ),
    "a negative dose": (
        _rule(doses=[{"text": "Less.", "fixed_mg": {"min": "-5", "max": "5"}}]),
        RULES,
        "rule 'bad-rule' dose #1",
        "fixed_mg min '-5' must be a finite number of at least 0",
    ),
    "an infinite dose": (
        _rule(doses=[{"text": "Less.", "fixed_mg": {"min": "5", "max": "Infinity"}}]),
        RULES,
        "rule 'bad-rule' dose #1",
        "fixed_mg max 'Infinity' must be a finite number of at least 0",
    ),
    "a dose for a drug the rule does not target": (
        _rule(doses=[{"text": "Less.", "drugs": ["gentamicin"]}]),
        RULES,
        "rule 'bad-rule' dose #1",
        "none of the rule's target drugs",
    ),
    "a demographic outside the vocabulary": (
        _rule(uses_demographics=["height"]),
        RULES,
        "rule 'bad-rule'",
        "uses_demographics: 'height' is not one of age, sex, weight",
    ),
    "supersession of an unknown rule": (
        _rule(supersedes=["ghost-rule"]),
        RULES,
        "rule 'bad-rule'",
        "supersedes unknown rule 'ghost-rule'",
    ),
    "supersession of itself": (
        _rule(supersedes=["bad-rule"]),
        RULES,
        "rule 'bad-rule'",
        "cannot supersede itself",
    ),
    "an alternative that is not a drug code": (
        _rule(alternatives=[{"drug": "suxamethonium", "references": ["R1"]}]),
        RULES,
        "rule 'bad-rule' alternative #1",
        "drug: unknown drug 'suxamethonium'",
    ),
    "an alternative that is a group": (
        _rule(alternatives=[{"drug": "group:nmba", "references": ["R1"]}]),
        RULES,
        "rule 'bad-rule' alternative #1",
        "drug: unknown drug 'group:nmba' (an alternative is one drug code)",
    ),
    "an alternative that is the rule's own target": (
        _rule(alternatives=[{"drug": "rocuronium", "references": ["R1"]}]),
        RULES,
        "rule 'bad-rule' alternative #1",
        "drug: 'rocuronium' is a target of the rule itself",
    ),
    "an alternative without references": (
        _rule(alternatives=[{"drug": "vecuronium", "references": []}]),
        RULES,
        "rule 'bad-rule' alternative #1",
        "references must not be empty",
    ),
    "an alternative with an unknown reference": (
        _rule(alternatives=[{"drug": "vecuronium", "references": ["R9"]}]),
        RULES,
        "rule 'bad-rule' alternative #1",
        "unknown reference id 'R9'",
    ),
    "an alternative with no drug": (
        _rule(alternatives=[{"references": ["R1"]}]),
        RULES,
        "rule 'bad-rule' alternative #1",
        "missing required key 'drug'",
    ),
    "an alternative with an unknown key": (
        _rule(alternatives=[{"drug": "vecuronium", "references": ["R1"], "dose": "1 mg"}]),
        RULES,
        "rule 'bad-rule' alternative #1",
        "unknown key 'dose'",
    ),
    "an alternative needing an unknown drug present": (
        _rule(alternatives=[{"drug": "vecuronium", "references": ["R1"], "present": ["ghost"]}]),
        RULES,
        "rule 'bad-rule' alternative #1",
        "present: unknown drug 'ghost'",
    ),
    "an alternative needing nothing listed present": (
        _rule(alternatives=[{"drug": "vecuronium", "references": ["R1"], "present": []}]),
        RULES,
        "rule 'bad-rule' alternative #1",
        "present must not be empty",
    ),
    "alternatives that are not a list of tables": (
        _rule(alternatives="vecuronium"),
        RULES,
        "rule 'bad-rule'",
        "alternatives must be an array of tables",
    ),
}


@pytest.mark.parametrize(
    ("change", "path", "entry", "message"), INVALID.values(), ids=list(INVALID)
)
def test_it_rejects_with_the_file_entry_and_bad_value_named(
    kb_files: KnowledgeFiles,
    change: Callable[[KnowledgeFiles], None],
    path: str,
    entry: str,
    message: str,
):
    change(kb_files)

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert raised.value.path == path
    assert raised.value.entry == entry
    assert message in raised.value.message
    assert str(raised.value).startswith(f"{path}: {entry}: ")


def test_it_rejects_a_duplicate_rule_id_naming_both_files(kb_files: KnowledgeFiles):
    kb_files.add_rule("twice", file="rules/a.toml")
    kb_files.add_rule("twice", file="rules/b.toml")

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert raised.value.path == "knowledge/rules/b.toml"
    assert raised.value.message == "duplicate rule id 'twice' (also in knowledge/rules/a.toml)."


def test_it_rejects_supersession_that_forms_a_cycle(kb_files: KnowledgeFiles):
    kb_files.add_rule("first", supersedes=["second"])
    kb_files.add_rule("second", supersedes=["first"])

    with pytest.raises(KnowledgeBaseError, match="cycle"):
        kb_files.load()


def test_it_rejects_supersession_of_a_rule_for_other_drugs(kb_files: KnowledgeFiles):
    kb_files.add_rule("for-gentamicin", drugs=["gentamicin"])
    kb_files.add_rule("for-rocuronium", supersedes=["for-gentamicin"])

    with pytest.raises(KnowledgeBaseError, match="cautions none of its drugs"):
        kb_files.load()


def test_it_rejects_a_file_that_is_not_toml(kb_files: KnowledgeFiles):
    kb_files.write()
    (kb_files.directory / "rules" / "broken.toml").write_text("[[rules]\nid = ", encoding="utf-8")

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert raised.value.path == "knowledge/rules/broken.toml"
    assert "not valid TOML" in raised.value.message


def test_it_rejects_a_missing_file(kb_files: KnowledgeFiles):
    del kb_files.documents["references.toml"]

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert raised.value.path == "knowledge/references.toml"
    assert raised.value.message == "the file is missing."


@pytest.mark.parametrize(
    ("bounds", "minimum", "maximum"),
    [
        ({"min": 40}, 40, None),
        ({"max": 40}, None, 40),
        ({"min": 40, "max": 40}, 40, 40),
        ({}, None, None),
    ],
    ids=["a minimum only", "a maximum only", "equal bounds", "no bounds"],
)
def test_a_number_attribute_may_have_either_bound_alone_or_equal_bounds(
    kb_files: KnowledgeFiles, bounds: dict[str, int], minimum: int | None, maximum: int | None
):
    attribute = kb_files.condition("burn")["attributes"]["tbsa_percent"]
    del attribute["min"], attribute["max"]
    attribute.update(bounds)

    loaded = kb_files.load().conditions["burn"].attributes["tbsa_percent"]

    assert (loaded.minimum, loaded.maximum) == (minimum, maximum)


@pytest.mark.parametrize(("hours", "loaded"), [(0, 0), (0.5, 0.5), (_DELETE, 0)])
def test_a_receptor_effect_starts_at_onset_unless_delayed(
    kb_files: KnowledgeFiles, hours: object, loaded: float
):
    _set("conditions.toml", ("conditions", 0, "receptor_effect_from_hours"), hours)(kb_files)

    assert kb_files.load().conditions["burn"].receptor_effect_from_hours == loaded


def test_it_rejects_an_attribute_constraint_over_conditions_that_type_it_differently(
    kb_files: KnowledgeFiles,
):
    # One constraint cannot read a choice in one condition and a yes/no in another.
    kb_files.condition("stroke")["attributes"]["antibody"] = {
        "type": "boolean",
        "label": "Antibody found",
    }
    kb_files.add_rule(
        "bad-rule",
        when={"conditions": ["myasthenia-gravis", "stroke"], "attributes": {"antibody": ["achr"]}},
    )

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert raised.value.entry == "rule 'bad-rule'"
    assert "attribute 'antibody' has different types in the rule's conditions" in str(raised.value)


def test_a_number_constraint_may_name_one_value_and_a_phase_may_be_shorter_than_an_hour(
    kb_files: KnowledgeFiles,
):
    kb_files.add_rule(
        "exact",
        drugs=["succinylcholine"],
        when={"conditions": ["burn"], "attributes": {"tbsa_percent": {"min": 10, "max": 10}}},
        phases=[{"from_hours": 0, "to_hours": 0.5, "level": "avoid", "summary": "Half an hour."}],
    )

    rule = kb_files.load().rule("exact")

    constraint = rule.when.attributes["tbsa_percent"]
    assert (constraint.minimum, constraint.maximum) == (10, 10)
    assert (rule.phases[0].from_hours, rule.phases[0].to_hours) == (0, 0.5)


def test_phases_alike_load_when_one_states_the_rules_unconfirmed_flag_and_one_inherits_it(
    kb_files: KnowledgeFiles,
):
    kb_files.add_rule(
        "alike",
        drugs=["succinylcholine"],
        unconfirmed=True,
        when=_BURN_WINDOW,
        phases=[{**_phase(0, 24), "unconfirmed": True}, _phase(48)],
    )

    rule = kb_files.load().rule("alike")

    assert [phase.unconfirmed for phase in rule.phases] == [True, None]


def test_a_rule_without_a_valid_id_is_named_by_its_position_in_its_file(kb_files: KnowledgeFiles):
    kb_files.add_rule("first")
    kb_files.add_rule("second")["id"] = 7

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert (raised.value.path, raised.value.entry) == (RULES, "rule #2")


def test_medication_hours_may_start_at_zero_and_last_less_than_an_hour(kb_files: KnowledgeFiles):
    kb_files.add_rule(
        "first-half-hour",
        when={"medications": ["phenytoin"], "medication_hours": {"min": 0, "max": 0.5}},
    )

    rule = kb_files.load().rule("first-half-hour")

    assert rule.when.medication_hours is not None
    assert (rule.when.medication_hours.minimum, rule.when.medication_hours.maximum) == (0, 0.5)


@pytest.mark.parametrize(
    "windows", [[(0, 24), (24, None)], [(24, None), (0, 24)]], ids=["in order", "latest first"]
)
def test_phases_that_meet_at_an_hour_do_not_overlap_in_either_order(
    kb_files: KnowledgeFiles, windows: list[tuple[float, float | None]]
):
    kb_files.add_rule(
        "adjacent",
        drugs=["succinylcholine"],
        when=_BURN_WINDOW,
        phases=[_phase(start, end) for start, end in windows],
    )

    rule = kb_files.load().rule("adjacent")

    assert [(phase.from_hours, phase.to_hours) for phase in rule.phases] == windows
