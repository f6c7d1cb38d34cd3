"""Local tuning proposals and their sign-offs (the floors are `engine.tuning`'s).

A department administrator proposes; a consultant anaesthetist and a clinical pharmacist,
two different knowledge-base reviewers, sign off; from then on the tuning is in force for the
department (`department_tunings`). Every step is append-only and audited.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from periop.accounts.models import Department, Profession, Role
from periop.accounts.permissions import user_department_ids
from periop.accounts.services import profession_of
from periop.api import DomainError
from periop.audit.models import Action
from periop.audit.services import Actor, audit_event_append
from periop.drugs.engine import Level
from periop.drugs.engine.tuning import RAISE, Tuning, TuningRefused, tuning_check
from periop.drugs.models import LocalTuning, SignOffKind, TuningSignOff
from periop.drugs.registry import get_knowledge_base
from periop.drugs.releases import CATEGORY_KNOWLEDGE_BASE
from periop.drugs.reviews import is_reviewer
from periop.fixed_sql import prepared_cursor

RESOURCE = "knowledge-base-tuning"


def tuning_propose(
    *,
    user: Any,
    department: Department,
    rule_id: str,
    change: str,
    level: str = "",
    text: str = "",
    reason: str,
) -> LocalTuning:
    """A department administrator's proposal, refused (with the floor it would breach) when
    it would lower contraindicated, avoid or adjust."""
    if not getattr(user, "is_superuser", False) and department.pk not in user_department_ids(
        user, [Role.ADMIN]
    ):
        raise DomainError("Only the department's administrator proposes local tunings.")
    rule = next((rule for rule in get_knowledge_base().rules if rule.id == rule_id), None)
    if rule is None:
        raise DomainError(f"No rule '{rule_id}' in the active knowledge base.", field="rule")
    if not reason.strip():
        raise DomainError("Say why the department tunes this rule.", field="reason")
    target = None
    if change == RAISE:
        try:
            target = Level.from_code(level)
        except KeyError:
            raise DomainError(f"Unknown level '{level}'.", field="level") from None
    try:
        tuning_check(rule, change, target, text)
    except TuningRefused as error:
        raise DomainError(str(error), field="change") from error
    with transaction.atomic():
        tuning = LocalTuning.objects.create(
            department=department,
            rule_id=rule_id,
            change=change,
            level=target.code if target is not None else "",
            text=text.strip(),
            reason=reason.strip(),
            proposed_by=user,
            proposed_at=timezone.now(),
        )
        audit_event_append(
            actor=Actor.from_user(user),
            action=Action.CREATE,
            resource_type=RESOURCE,
            resource_id=tuning.pk,
            data_category=CATEGORY_KNOWLEDGE_BASE,
            department_id=department.pk,
            payload={
                "rule": rule_id,
                "change": change,
                "level": tuning.level,
                "text": tuning.text,
                "reason": tuning.reason,
            },
        )
    return tuning


def tuning_sign_off(*, user: Any, tuning: LocalTuning, comment: str = "") -> TuningSignOff:
    """A reviewer's sign-off, of the kind their profession gives, with an optional comment.
    Only a reviewer of the tuning's department signs: for anyone else the tuning does not
    exist (404), whichever door (page or API) the request came through."""
    if not is_reviewer(user):
        raise DomainError("Only a knowledge-base reviewer can sign off a tuning.")
    if not getattr(user, "is_superuser", False) and tuning.department_id not in (
        user_department_ids(user, [Role.KB_REVIEWER])
    ):
        raise Http404("No such tuning in your departments.")
    profession = profession_of(user)
    if profession not in Profession.values:
        raise DomainError("Your profile records no profession: you cannot sign off.")
    with transaction.atomic():
        signed = list(TuningSignOff.objects.select_for_update().filter(tuning=tuning))
        if any(sign_off.reviewer_id == user.pk for sign_off in signed):
            raise DomainError(
                "You have already signed off this tuning: the other sign-off "
                "must come from someone else."
            )
        if any(sign_off.kind == profession for sign_off in signed):
            raise DomainError(
                f"This tuning already has a {SignOffKind(profession).label.lower()}'s sign-off."
            )
        sign_off = TuningSignOff.objects.create(
            tuning=tuning,
            kind=profession,
            reviewer=user,
            signed_at=timezone.now(),
            comment=comment.strip(),
        )
        audit_event_append(
            actor=Actor.from_user(user),
            action=Action.SIGN,
            resource_type=RESOURCE,
            resource_id=tuning.pk,
            data_category=CATEGORY_KNOWLEDGE_BASE,
            department_id=tuning.department_id,
            payload={
                "rule": tuning.rule_id,
                "change": tuning.change,
                "kind": profession,
                "comment": sign_off.comment,
            },
        )
    return sign_off


def _in_force(rows: Iterable[TuningSignOff]) -> dict[str, list[Tuning]]:
    """The tunings whose sign-offs (with their tuning and people) are `rows`, kept when both
    kinds have signed, by rule."""
    by_tuning: dict[int, list[TuningSignOff]] = defaultdict(list)
    for sign_off in rows:
        by_tuning[sign_off.tuning_id].append(sign_off)
    tunings: dict[str, list[Tuning]] = defaultdict(list)
    for sign_offs in by_tuning.values():
        if {sign_off.kind for sign_off in sign_offs} != set(SignOffKind.values):
            continue
        proposal = sign_offs[0].tuning
        order = list(SignOffKind.values)
        sign_offs.sort(key=lambda sign_off: order.index(sign_off.kind))
        tunings[proposal.rule_id].append(
            Tuning(
                rule=proposal.rule_id,
                change=proposal.change,
                level=Level.from_code(proposal.level) if proposal.level else None,
                text=proposal.text,
                who=proposal.proposed_by.get_username(),
                when=proposal.proposed_at.isoformat(),
                why=proposal.reason,
                id=proposal.pk,
                signed_by=tuple(sign_off.reviewer.get_username() for sign_off in sign_offs),
                signed_at=max(sign_off.signed_at for sign_off in sign_offs).isoformat(),
            )
        )
    for rule_tunings in tunings.values():
        rule_tunings.sort(key=lambda tuning: (tuning.when, tuning.id or 0))
    return dict(tunings)


def _sign_offs() -> QuerySet[TuningSignOff]:
    return TuningSignOff.objects.select_related(
        "tuning", "tuning__proposed_by", "reviewer"
    ).order_by("tuning_id", "id")


def department_tunings(department_id: int | None) -> dict[str, list[Tuning]]:
    """The department's tunings in force (both sign-offs given), by rule: one query.

    Every check runs this, so it is one precompiled statement rather than an ORM query:
    building the ORM query cost more than the check's evaluation, and most departments have
    no tuning at all."""
    if department_id is None:
        return {}
    database = connections[router.db_for_read(TuningSignOff) or DEFAULT_DB_ALIAS]
    with prepared_cursor(database) as cursor:
        cursor.execute(_DEPARTMENT_SIGN_OFFS, [department_id])
        rows = cursor.fetchall()
    return _in_force(_sign_off_from_row(row) for row in rows) if rows else {}


def _table(model: Any) -> str:
    return str(model._meta.db_table)


_User = get_user_model()
_NAME = _User.USERNAME_FIELD
_SIGN_OFF, _TUNING, _PERSON = _table(TuningSignOff), _table(LocalTuning), _table(_User)
# The columns `_in_force` reads, in `_sign_offs()` order; built from model metadata only.
_DEPARTMENT_SIGN_OFFS = (
    f"SELECT s.tuning_id, s.kind, s.signed_at, reviewer.id, reviewer.{_NAME}, "  # noqa: S608
    f"t.rule_id, t.change, t.level, t.text, t.reason, t.proposed_at, proposer.id, "
    f"proposer.{_NAME} FROM {_SIGN_OFF} s JOIN {_TUNING} t ON t.id = s.tuning_id "
    f"JOIN {_PERSON} reviewer ON reviewer.id = s.reviewer_id "
    f"JOIN {_PERSON} proposer ON proposer.id = t.proposed_by_id "
    "WHERE t.department_id = %s ORDER BY s.tuning_id, s.id"
)


def _stored_time(value: Any) -> dt.datetime:
    """A stored date-time as the ORM gives it: aware, in UTC (SQLite keeps naive UTC)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)


def _sign_off_from_row(row: tuple[Any, ...]) -> TuningSignOff:
    """An unsaved sign-off with its tuning and people, as `_sign_offs()` would load it."""
    (tuning_id, kind, signed_at, reviewer_id, reviewer, rule_id, change, level, text, reason,
     proposed_at, proposer_id, proposer) = row  # fmt: skip
    username = _User.USERNAME_FIELD
    tuning = LocalTuning(
        pk=tuning_id,
        rule_id=rule_id,
        change=change,
        level=level,
        text=text,
        reason=reason,
        proposed_at=_stored_time(proposed_at),
        proposed_by=_User(pk=proposer_id, **{username: proposer}),
    )
    return TuningSignOff(
        tuning=tuning,
        kind=kind,
        signed_at=_stored_time(signed_at),
        reviewer=_User(pk=reviewer_id, **{username: reviewer}),
    )


def tunings_by_id(ids: Iterable[int]) -> dict[str, list[Tuning]]:
    """The tunings an assessment's snapshot names, as they were applied (a tuning and its
    sign-offs never change once written), by rule: one query."""
    ids = list(ids)
    if not ids:
        return {}
    return _in_force(_sign_offs().filter(tuning_id__in=ids))


def tunings_visible(user: Any, *, ids: Iterable[int] | None = None) -> list[LocalTuning]:
    """The tunings of the departments the user administers or reviews for, with their
    sign-offs, newest first."""
    rows = LocalTuning.objects.select_related("proposed_by", "department").prefetch_related(
        Prefetch("sign_offs", queryset=TuningSignOff.objects.select_related("reviewer"))
    )
    if not getattr(user, "is_superuser", False):
        rows = rows.filter(
            department_id__in=user_department_ids(user, [Role.ADMIN, Role.KB_REVIEWER])
        )
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return list(rows.order_by("-proposed_at", "-id"))


def tuning_in_force(tuning: LocalTuning) -> bool:
    return {sign_off.kind for sign_off in tuning.sign_offs.all()} == set(SignOffKind.values)
