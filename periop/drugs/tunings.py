"""Local tuning proposals and their sign-offs (the floors are `engine.tuning`'s).

A department administrator proposes; a consultant anaesthetist and a clinical pharmacist,
two different knowledge-base reviewers, sign off; from then on the tuning is in force for the
department (`department_tunings`). Every step is append-only and audited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from periop.accounts.models import Department, Membership, Profession, Role
from periop.accounts.permissions import (
    DepartmentRoles,
    department_ids_statement,
    department_roles,
)
from periop.accounts.services import profession_of
from periop.api import DomainError
from periop.audit.models import Action
from periop.audit.services import Actor, audit_event_append
from periop.drugs.engine import Level
from periop.drugs.engine.tuning import RAISE, Tuning, TuningRefused, tuning_check
from periop.drugs.models import LocalTuning, SignOffKind, TuningSignOff
from periop.drugs.registry import get_knowledge_base
from periop.drugs.releases import CATEGORY_KNOWLEDGE_BASE
from periop.fixed_sql import FixedColumns, per_vendor, prepared_cursor

RESOURCE = "knowledge-base-tuning"


def _roles(user: Any, known: DepartmentRoles | None) -> DepartmentRoles:
    """`known` (the roles the request's permission check read), else read now."""
    return department_roles(user) if known is None else known.of(user)


def tuning_propose(
    *,
    user: Any,
    department: Department,
    rule_id: str,
    change: str,
    level: str = "",
    text: str = "",
    reason: str,
    roles: DepartmentRoles | None = None,
) -> LocalTuning:
    """A department administrator's proposal, refused (with the floor it would breach) when
    it would lower contraindicated, avoid or adjust. `roles`: the user's, when the request
    has read them already."""
    if not _roles(user, roles).holds(department.pk, [Role.ADMIN]):
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


def tuning_sign_off(
    *,
    user: Any,
    tuning: LocalTuning,
    comment: str = "",
    roles: DepartmentRoles | None = None,
) -> TuningSignOff:
    """A reviewer's sign-off, of the kind their profession gives, with an optional comment.
    Only a reviewer of the tuning's department signs: for anyone else the tuning does not
    exist (404), whichever door (page or API) the request came through. `roles`: the user's,
    when the request has read them already."""
    held = _roles(user, roles)
    if not held.has_role([Role.KB_REVIEWER]):
        raise DomainError("Only a knowledge-base reviewer can sign off a tuning.")
    if not held.holds(tuning.department_id, [Role.KB_REVIEWER]):
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

    Every check runs this, so it is one fixed statement rather than an ORM query: building the
    ORM query cost more than the check's evaluation, and most departments have no tuning at
    all."""
    if department_id is None:
        return {}
    connection = connections[router.db_for_read(TuningSignOff) or DEFAULT_DB_ALIAS]
    with prepared_cursor(connection) as cursor:
        cursor.execute(_department_sign_offs(connection), [department_id])
        rows = cursor.fetchall()
    return tunings_from_rows(connection, rows)


_User = get_user_model()
# The columns `_in_force` reads (and the keys); the others are deferred, as by `.only()`.
_SIGN_OFF = FixedColumns(
    TuningSignOff, fields=("id", "tuning_id", "kind", "reviewer_id", "signed_at")
)
_TUNING = FixedColumns(
    LocalTuning,
    fields=("id", "rule_id", "change", "level", "text", "reason", "proposed_by_id", "proposed_at"),
)
_PERSON = FixedColumns(_User, fields=(_User._meta.pk.attname, _User.USERNAME_FIELD))


@per_vendor
def _department_sign_offs(connection: BaseDatabaseWrapper) -> str:
    """The department's sign-offs with their tunings and people, in `_sign_offs()` order;
    built from model metadata only, never from input."""
    quote = connection.ops.quote_name
    sign_off_id = quote(TuningSignOff._meta.pk.column)
    return (
        f"SELECT {_sign_off_columns(connection)} "  # noqa: S608
        f"FROM {_table(connection, TuningSignOff)} s "
        f"JOIN {_table(connection, LocalTuning)} t ON {_tuning_of_sign_off(connection)} "
        f"{_people_joins(connection, 'JOIN')} "
        f"WHERE t.{_column(connection, LocalTuning, 'department')} = %s "
        f"ORDER BY s.{_column(connection, TuningSignOff, 'tuning')}, s.{sign_off_id}"
    )


@per_vendor
def _departments_with_sign_offs(connection: BaseDatabaseWrapper, roles: int) -> str:
    """The departments in which a user holds one of `roles` roles, each with its tunings'
    sign-offs and people (none: a row of NULLs after the department), by department then in
    `_sign_offs()` order; built from model metadata only, never from input."""
    quote = connection.ops.quote_name
    # `user_department_ids`'s own statement (a user has one role in a department).
    departments = department_ids_statement(connection, roles)
    department = quote(Membership._meta.get_field("department").column)
    sign_offs, joins, order = department_sign_offs_joined(connection, f"d.{department}")
    return (
        f"SELECT d.{department}, {sign_offs} "  # noqa: S608
        f"FROM ({departments}) d {joins} ORDER BY d.{department}, {order}"
    )


def _table(connection: BaseDatabaseWrapper, model: Any) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _column(connection: BaseDatabaseWrapper, model: Any, name: str) -> str:
    return str(connection.ops.quote_name(model._meta.get_field(name).column))


def _sign_off_columns(connection: BaseDatabaseWrapper) -> str:
    """The SELECT list `_sign_off_from_row` reads: sign-off, tuning, reviewer, proposer."""
    return (
        f"{_SIGN_OFF.select_list(connection, 's')}, "
        f"{_TUNING.select_list(connection, 't')}, "
        f"{_PERSON.select_list(connection, 'reviewer')}, "
        f"{_PERSON.select_list(connection, 'proposer')}"
    )


def _tuning_of_sign_off(connection: BaseDatabaseWrapper) -> str:
    tuning_id = connection.ops.quote_name(LocalTuning._meta.pk.column)
    return f"t.{tuning_id} = s.{_column(connection, TuningSignOff, 'tuning')}"


def _people_joins(connection: BaseDatabaseWrapper, join: str) -> str:
    person_id = connection.ops.quote_name(_User._meta.pk.column)
    return (
        f"{join} {_table(connection, _User)} reviewer "
        f"ON reviewer.{person_id} = s.{_column(connection, TuningSignOff, 'reviewer')} "
        f"{join} {_table(connection, _User)} proposer "
        f"ON proposer.{person_id} = t.{_column(connection, LocalTuning, 'proposed_by')}"
    )


def tunings_by_department(user: Any, roles: Iterable[str]) -> dict[int, dict[str, list[Tuning]]]:
    """The departments in which `user` holds one of `roles`, each with its tunings in force
    (`department_tunings`'s answer), in one statement.

    A check needs both, the caller's departments to allow it and the chosen department's
    tunings to show it, one after the other; reading them together saves every check a round
    trip to the database. The departments are those of `user_department_ids`. A caller in
    several departments reads the tunings of each, of which a check shows one department's:
    tunings are few (each is a signed local deviation), so the rows stay few too."""
    wanted = [str(role) for role in roles]
    if not user.is_authenticated or not wanted:
        return {}
    connection = connections[router.db_for_read(Membership) or DEFAULT_DB_ALIAS]
    with prepared_cursor(connection) as cursor:
        cursor.execute(_departments_with_sign_offs(connection, len(wanted)), [user.pk, *wanted])
        rows = cursor.fetchall()
    by_department: dict[int, list[Sequence[Any]]] = defaultdict(list)
    for row in rows:
        by_department[int(row[0])].append(row[1:])
    return {
        department: tunings_from_rows(connection, found)
        for department, found in by_department.items()
    }


def department_sign_offs_joined(
    connection: BaseDatabaseWrapper, department: str
) -> tuple[str, str, str]:
    """What adds a department's tunings in force to another statement's row, which names the
    department by the SQL expression `department` (built from model metadata, never from
    input): the SELECT list `tunings_from_rows` reads, the LEFT JOINs, and the ORDER BY.
    The row comes once per sign-off, or once with NULLs when the department has none."""
    joins = (
        f"LEFT JOIN {_table(connection, LocalTuning)} t "
        f"ON t.{_column(connection, LocalTuning, 'department')} = {department} "
        f"LEFT JOIN {_table(connection, TuningSignOff)} s ON {_tuning_of_sign_off(connection)} "
        f"{_people_joins(connection, 'LEFT JOIN')}"
    )
    sign_off_id = connection.ops.quote_name(TuningSignOff._meta.pk.column)
    order = f"s.{_column(connection, TuningSignOff, 'tuning')}, s.{sign_off_id}"
    return _sign_off_columns(connection), joins, order


def tunings_from_rows(
    connection: BaseDatabaseWrapper, rows: Iterable[Sequence[Any]]
) -> dict[str, list[Tuning]]:
    """`department_tunings`'s answer from the rows of `department_sign_offs_joined`'s columns
    (each a slice of a row in that SELECT list's order)."""
    sign_off_id = _SIGN_OFF.attnames.index("id")
    # A department without tunings, or a tuning nobody has signed, joins to NULLs.
    found = [
        _sign_off_from_row(connection, tuple(row)) for row in rows if row[sign_off_id] is not None
    ]
    return _in_force(found) if found else {}


def _sign_off_from_row(connection: BaseDatabaseWrapper, row: tuple[Any, ...]) -> TuningSignOff:
    """A sign-off with its tuning and people, as `_sign_offs()` would load it."""
    tuning_at = len(_SIGN_OFF)
    reviewer_at = tuning_at + len(_TUNING)
    proposer_at = reviewer_at + len(_PERSON)
    sign_off = _SIGN_OFF.instance(connection, row[:tuning_at])
    tuning = _TUNING.instance(connection, row[tuning_at:reviewer_at])
    tuning.proposed_by = _PERSON.instance(connection, row[proposer_at:])
    sign_off.tuning = tuning
    sign_off.reviewer = _PERSON.instance(connection, row[reviewer_at:proposer_at])
    return sign_off


def tunings_by_id(ids: Iterable[int]) -> dict[str, list[Tuning]]:
    """The tunings an assessment's snapshot names, as they were applied (a tuning and its
    sign-offs never change once written), by rule: one query."""
    ids = list(ids)
    if not ids:
        return {}
    return _in_force(_sign_offs().filter(tuning_id__in=ids))


def tunings_visible(
    user: Any, *, ids: Iterable[int] | None = None, roles: DepartmentRoles | None = None
) -> list[LocalTuning]:
    """The tunings of the departments the user administers or reviews for, with their
    sign-offs, newest first. `roles`: the user's, when the request has read them already."""
    rows = LocalTuning.objects.select_related("proposed_by", "department").prefetch_related(
        Prefetch("sign_offs", queryset=TuningSignOff.objects.select_related("reviewer"))
    )
    held = _roles(user, roles)
    if not held.is_superuser:
        rows = rows.filter(department_id__in=held.department_ids([Role.ADMIN, Role.KB_REVIEWER]))
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return list(rows.order_by("-proposed_at", "-id"))


def tuning_in_force(tuning: LocalTuning) -> bool:
    return {sign_off.kind for sign_off in tuning.sign_offs.all()} == set(SignOffKind.values)
