"""The review of a candidate knowledge-base release before activation.

The diff is taken rule by rule on the rules as written (each `[[rules]]` table of the TOML
files, as canonical JSON): a rule is added, removed or changed. The entries that alter what the
engine gives (conditions, drugs, groups, references, the guidance) and the tables of the growth
chart behind the implausible-weight warning (`growth:weight-for-age:<table>`) are items of the
diff like the rules. Every such item needs one sign-off of each kind (consultant anaesthetist,
clinical pharmacist) by two different knowledge-base reviewers, on exactly the content the
candidate gives it; activation is refused until then. Sign-offs and comments are append-only
and audited.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from periop.accounts.models import Profession, Role
from periop.accounts.permissions import user_has_role
from periop.accounts.services import profession_of
from periop.api import DomainError
from periop.audit.models import Action
from periop.audit.services import Actor, audit_event_append
from periop.drugs.engine.growth import GROWTH_FILE
from periop.drugs.engine.toml_checks import canonical_json
from periop.drugs.models import (
    KnowledgeBaseRelease,
    RuleComment,
    RuleSignOff,
    SignOffKind,
)
from periop.drugs.releases import CATEGORY_KNOWLEDGE_BASE, active_release

KINDS = tuple(SignOffKind)
AnyUser = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class RuleText:
    id: str
    file: str
    digest: str
    level: str
    summary: str
    table: dict[str, Any]


@dataclass
class RuleChange:
    """One rule that differs between the active release and the candidate."""

    rule_id: str
    change: str  # added | removed | changed
    before: RuleText | None
    after: RuleText | None
    sign_offs: list[RuleSignOff] = field(default_factory=list)
    comments: list[RuleComment] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """The content a sign-off covers: the candidate's rule, or the removed one."""
        text = self.after or self.before
        if text is None:
            raise ValueError(f"{self.rule_id}: a change needs a rule on one side.")
        return text.digest

    @property
    def level_before(self) -> str:
        return "" if self.before is None else self.before.level

    @property
    def level_after(self) -> str:
        return "" if self.after is None else self.after.level

    @property
    def level_changed(self) -> bool:
        return self.level_before != self.level_after

    @property
    def changed_keys(self) -> list[str]:
        """The keys whose value differs; for a growth chart's rows, the ages that differ."""
        if self.before is None or self.after is None:
            return []
        before, after = self.before.table, self.after.table
        keys = before.keys() | after.keys()
        changed = sorted(k for k in keys if before.get(k) != after.get(k))
        if self.rule_id.startswith(GROWTH_ITEM) and "rows" in changed:
            at = changed.index("rows")
            changed[at : at + 1] = _changed_rows(before.get("rows"), after.get("rows"))
        return changed

    @property
    def missing(self) -> list[SignOffKind]:
        signed = {sign_off.kind for sign_off in self.sign_offs}
        return [kind for kind in KINDS if kind not in signed]

    @property
    def signed(self) -> bool:
        return not self.missing


def _level(table: dict[str, Any]) -> str:
    if "level" in table:
        return str(table["level"])
    phases = table.get("phases") or []
    return "phases: " + ", ".join(str(phase.get("level", "?")) for phase in phases)


# Besides the rules, the entries whose change alters what the engine gives (a condition's
# receptor effect, a drug's class, a guidance text): each is reviewed as its own item, named
# "<kind>:<code>".
ENTRY_TABLES = (
    ("conditions.toml", "conditions", "code", "condition"),
    ("drugs.toml", "drugs", "code", "drug"),
    ("drugs.toml", "groups", "code", "group"),
    ("references.toml", "references", "id", "reference"),
)


# The growth chart's tables, each reviewed as its own item "growth:weight-for-age:<table>".
GROWTH_ITEM = "growth:weight-for-age:"
GROWTH_TABLES = ("source", "implausible", "boys", "girls")
# How many changed rows of a growth table the diff names before it counts the rest.
ROWS_NAMED = 12


def _rows_by_age(rows: object) -> dict[object, object]:
    if not isinstance(rows, list):
        return {}
    return {row[0]: row[1:] for row in rows if isinstance(row, list) and row}


def _changed_rows(before: object, after: object) -> list[str]:
    """The rows of a growth table that differ, by age: "rows at 12.5 months (changed)"."""
    old, new = _rows_by_age(before), _rows_by_age(after)
    changed = []
    for age in sorted(old.keys() | new.keys(), key=lambda age: float(str(age))):
        what = "added" if age not in old else "removed" if age not in new else "changed"
        if what != "changed" or old[age] != new[age]:
            changed.append(f"rows at {age} months ({what})")
    if not changed:
        return ["rows"]
    if len(changed) > ROWS_NAMED:
        return [*changed[:ROWS_NAMED], f"{len(changed) - ROWS_NAMED} more rows"]
    return changed


def _growth_summary(key: str, table: dict[str, Any]) -> str:
    if key in {"boys", "girls"}:
        rows = table.get("rows") or []
        return f"Weight-for-age L, M and S of the 2000 CDC growth charts, {key}: {len(rows)} rows"
    if key == "implausible":
        return (
            "Biologically implausible weight: modified weight-for-age z-score below "
            f"{table.get('below')} or above {table.get('above')}, under "
            f"{table.get('below_months')} months"
        )
    return str(table.get("citation", "[source] of the growth chart"))


def _text(item_id: str, file: str, table: dict[str, Any], level: str, summary: str) -> RuleText:
    content = canonical_json(table)
    return RuleText(
        id=item_id,
        file=file,
        digest="sha256:" + hashlib.sha256(content.encode()).hexdigest(),
        level=level,
        summary=summary,
        table=dict(table),
    )


def rule_texts(release: KnowledgeBaseRelease) -> dict[str, RuleText]:
    """Every rule of a stored release as written, by id, and every condition, drug, group,
    reference and the guidance, by "<kind>:<code>", and each table of the growth chart, by
    "growth:weight-for-age:<table>"."""
    texts = release.texts()
    items: dict[str, RuleText] = {}
    for name, text in sorted(texts.items()):
        if not name.startswith("rules/"):
            continue
        for table in tomllib.loads(text).get("rules", []):
            items[table["id"]] = _text(
                table["id"], name, table, _level(table), str(table.get("summary", ""))
            )
    for name, key, code, kind in ENTRY_TABLES:
        if name not in texts:
            continue
        for table in tomllib.loads(texts[name]).get(key, []):
            item_id = f"{kind}:{table[code]}"
            items[item_id] = _text(item_id, name, table, "", str(table.get("name", "")))
    if "release.toml" in texts:
        guidance = tomllib.loads(texts["release.toml"]).get("guidance", {})
        items["guidance"] = _text("guidance", "release.toml", guidance, "", "[guidance] texts")
    if GROWTH_FILE in texts:
        # A release stored before the growth chart was part of releases has none: against
        # such a release, every table of the chart is added and needs sign-off.
        growth = tomllib.loads(texts[GROWTH_FILE])
        for key in GROWTH_TABLES:
            if isinstance(growth.get(key), dict):
                item_id = GROWTH_ITEM + key
                table = growth[key]
                items[item_id] = _text(item_id, GROWTH_FILE, table, "", _growth_summary(key, table))
    return items


def release_diff(
    release: KnowledgeBaseRelease, active: KnowledgeBaseRelease | None
) -> list[RuleChange]:
    """The rules added, removed or changed in `release` against `active` (all of them added
    when nothing is active), each with its valid sign-offs and its comments."""
    after = rule_texts(release)
    before = {} if active is None else rule_texts(active)
    changes: list[RuleChange] = []
    for rule_id in sorted(after.keys() | before.keys()):
        old, new = before.get(rule_id), after.get(rule_id)
        if old is not None and new is not None and old.digest == new.digest:
            continue
        what = "added" if old is None else "removed" if new is None else "changed"
        changes.append(RuleChange(rule_id=rule_id, change=what, before=old, after=new))
    by_rule = {change.rule_id: change for change in changes}
    for sign_off in RuleSignOff.objects.filter(release=release).select_related("reviewer"):
        change = by_rule.get(sign_off.rule_id)
        if change is not None and sign_off.rule_digest == change.digest:
            change.sign_offs.append(sign_off)
    comments: dict[str, list[RuleComment]] = defaultdict(list)
    for comment in RuleComment.objects.filter(release=release).select_related("author"):
        comments[comment.rule_id].append(comment)
    for change in changes:
        change.comments = comments.get(change.rule_id, [])
    return changes


def unsigned_rules(changes: list[RuleChange]) -> list[str]:
    return [
        f"{change.rule_id} (needs a {' and a '.join(_kind_name(kind) for kind in change.missing)}"
        "'s sign-off)"
        for change in changes
        if not change.signed
    ]


def _kind_name(kind: SignOffKind) -> str:
    return str(kind.label).lower()


def activation_blockers(
    release: KnowledgeBaseRelease, active: KnowledgeBaseRelease | None
) -> list[str]:
    """Why `release` cannot replace `active` yet; empty when it can. The first release of a
    deployment (nothing active: `release_bootstrap`) has nothing to be compared with."""
    if active is None:
        return []
    unsigned = unsigned_rules(release_diff(release, active))
    if not unsigned:
        return []
    return [f"{len(unsigned)} new or changed rule(s) lack sign-off: {', '.join(unsigned)}"]


def is_reviewer(user: AnyUser) -> bool:
    return user_has_role(user, [Role.KB_REVIEWER])


def _change_for(release: KnowledgeBaseRelease, rule_id: str) -> RuleChange:
    for change in release_diff(release, active_release()):
        if change.rule_id == rule_id:
            return change
    raise DomainError(
        f"'{rule_id}' is not a rule or entry that is new, removed or changed in release "
        f"{release.version}.",
        field="rule",
    )


def rule_sign_off(*, user: Any, release: KnowledgeBaseRelease, rule_id: str) -> RuleSignOff:
    """Signs off one rule of a candidate release under the reviewer's profession."""
    if not is_reviewer(user):
        raise DomainError("Only a knowledge-base reviewer can sign off rules.", field="rule")
    profession = profession_of(user)
    if profession not in Profession.values:
        raise DomainError(
            "Your profile records no profession (consultant anaesthetist or clinical "
            "pharmacist): ask an administrator to record it before you sign off.",
            field="rule",
        )
    with transaction.atomic():
        change = _change_for(release, rule_id)
        if any(sign_off.reviewer_id == user.pk for sign_off in change.sign_offs):
            raise DomainError(
                f"You have already signed off {rule_id}: the other sign-off must come from "
                "someone else.",
                field="rule",
            )
        if any(sign_off.kind == profession for sign_off in change.sign_offs):
            raise DomainError(
                f"{rule_id} already has a {SignOffKind(profession).label.lower()}'s sign-off.",
                field="rule",
            )
        sign_off = RuleSignOff.objects.create(
            release=release,
            rule_id=rule_id,
            rule_digest=change.digest,
            kind=profession,
            reviewer=user,
            signed_at=timezone.now(),
        )
        audit_event_append(
            actor=Actor.from_user(user),
            action=Action.SIGN,
            resource_type="knowledge-base-rule",
            resource_id=rule_id,
            data_category=CATEGORY_KNOWLEDGE_BASE,
            payload={
                "release": {"version": release.version, "digest": release.digest},
                "rule": rule_id,
                "rule_digest": change.digest,
                "change": change.change,
                "kind": profession,
            },
        )
    return sign_off


def rule_comment(
    *, user: Any, release: KnowledgeBaseRelease, rule_id: str, text: str
) -> RuleComment:
    if not is_reviewer(user):
        raise DomainError("Only a knowledge-base reviewer can comment on rules.", field="text")
    text = text.strip()
    if not text:
        raise DomainError("Write the comment.", field="text")
    if len(text) > 4000:
        raise DomainError("Keep the comment under 4000 characters.", field="text")
    with transaction.atomic():
        _change_for(release, rule_id)
        comment = RuleComment.objects.create(
            release=release, rule_id=rule_id, author=user, text=text, created_at=timezone.now()
        )
        audit_event_append(
            actor=Actor.from_user(user),
            action=Action.CREATE,
            resource_type="knowledge-base-comment",
            resource_id=comment.pk,
            data_category=CATEGORY_KNOWLEDGE_BASE,
            payload={"release": release.version, "rule": rule_id, "text": text},
        )
    return comment
