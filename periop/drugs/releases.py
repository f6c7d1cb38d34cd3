"""Knowledge-base releases: import (store as data), activation and the active release.

Every change goes through these functions, in one transaction with its audit event. The
review of a candidate release (sign-offs, comments, the activation gate) is
`periop.drugs.reviews`.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.db import connection, models, transaction
from django.utils import timezone

from periop.api import ConflictError, DomainError
from periop.audit.models import Action
from periop.audit.services import Actor, audit_event_append
from periop.drugs import registry
from periop.drugs.engine import KnowledgeBase, KnowledgeBaseError
from periop.drugs.engine.loader import load_knowledge_base_texts, read_release_files
from periop.drugs.models import KnowledgeBaseActivation, KnowledgeBaseRelease

CATEGORY_KNOWLEDGE_BASE = "knowledge-base"
RESOURCE_RELEASE = "knowledge-base-release"


def release_content(texts: dict[str, str]) -> str:
    return json.dumps(texts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def release_import(*, actor: Actor, directory: Path) -> tuple[KnowledgeBaseRelease, bool]:
    """Validates the knowledge base in `directory` and stores it as a release. The same
    content again returns the stored release (created False); another content under a stored
    version is refused."""
    try:
        texts = read_release_files(directory)
        kb = load_knowledge_base_texts(texts, directory.name)
    except KnowledgeBaseError as error:
        raise DomainError(f"Invalid knowledge base: {error}", field="path") from error
    with transaction.atomic():
        # Two imports of one content (an operator's and a starting server's) must not both
        # find it missing and both store it: one stores, the other then finds it stored.
        _lock_table(KnowledgeBaseRelease)
        existing = KnowledgeBaseRelease.objects.filter(digest=kb.digest).first()
        if existing is not None:
            return existing, False
        clash = KnowledgeBaseRelease.objects.filter(version=kb.version).first()
        if clash is not None:
            raise ConflictError(
                f"Release {kb.version} is already stored with other content ({clash.digest}); "
                f"this content is {kb.digest}. Give a changed knowledge base a new version "
                "in release.toml.",
                code="version_taken",
            )
        release = KnowledgeBaseRelease.objects.create(
            version=kb.version,
            digest=kb.digest,
            content=release_content(texts),
            released_on=kb.release.released_on,
            imported_at=timezone.now(),
            imported_by_id=actor.user_id,
            imported_by_name=actor.username,
        )
        audit_event_append(
            actor=actor,
            action=Action.CREATE,
            resource_type=RESOURCE_RELEASE,
            resource_id=release.pk,
            data_category=CATEGORY_KNOWLEDGE_BASE,
            payload={"version": kb.version, "digest": kb.digest, "rules": len(kb.rules)},
        )
    registry.use_compiled(kb)
    return release, True


def release_knowledge_base(release: KnowledgeBaseRelease) -> KnowledgeBase:
    """The compiled, validated content of a stored release."""
    return registry.compile_release_texts(
        release.texts(), digest=release.digest, label=f"release {release.version}"
    )


def active_release() -> KnowledgeBaseRelease | None:
    activation = KnowledgeBaseActivation.objects.select_related("release").first()
    return None if activation is None else activation.release


def release_get(version: str) -> KnowledgeBaseRelease:
    release = KnowledgeBaseRelease.objects.filter(version=version).first()
    if release is None:
        raise DomainError(
            f"No stored knowledge-base release has version '{version}'. Import it first "
            "(manage.py knowledge_base import --path DIR).",
            field="version",
        )
    return release


def release_activate(*, actor: Actor, release: KnowledgeBaseRelease) -> KnowledgeBaseActivation:
    """Makes `release` the active one, once its review allows (`periop.drugs.reviews`)."""
    from periop.drugs.reviews import activation_blockers

    kb = release_knowledge_base(release)
    with transaction.atomic():
        _lock_activations()
        current = KnowledgeBaseActivation.objects.select_related("release").first()
        if current is not None and current.release_id == release.pk:
            raise ConflictError(f"Release {release.version} is already active.", code="active")
        blockers = activation_blockers(release, None if current is None else current.release)
        if blockers:
            raise ConflictError(
                f"Release {release.version} cannot be activated: {'; '.join(blockers)}.",
                code="unsigned_rules",
            )
        activation = KnowledgeBaseActivation.objects.create(
            release=release,
            activated_at=timezone.now(),
            activated_by_id=actor.user_id,
            activated_by_name=actor.username,
        )
        audit_event_append(
            actor=actor,
            action=Action.UPDATE,
            resource_type=RESOURCE_RELEASE,
            resource_id=release.pk,
            data_category=CATEGORY_KNOWLEDGE_BASE,
            payload={
                "activated": {"version": release.version, "digest": release.digest},
                "replaced": None
                if current is None
                else {"version": current.release.version, "digest": current.release.digest},
            },
        )
        transaction.on_commit(lambda: registry.use(kb))
    return activation


def release_bootstrap() -> KnowledgeBaseRelease | None:
    """A deployment with no active release stores the configured directory and activates it
    (as the system); otherwise nothing changes. Returns the release it activated.

    Every server process runs this as it starts, several at once on a new deployment: one
    stores and activates the directory, in one transaction, while the others wait for it and
    then find the release active."""
    if KnowledgeBaseActivation.objects.exists():
        return None
    actor = Actor.system()
    with transaction.atomic():
        _lock_activations()
        if KnowledgeBaseActivation.objects.exists():
            return None
        release, _ = release_import(actor=actor, directory=registry.knowledge_base_directory())
        release_activate(actor=actor, release=release)
    return release


def _lock_activations() -> None:
    """One change of the active release at a time, until the transaction ends. A row lock on
    the current activation cannot order the first activation (there is no row yet), so the
    activations' table is locked: against other writers of it only, never against readers.
    On SQLite every writing transaction holds the database's lock from its start (settings:
    IMMEDIATE), which orders them already."""
    _lock_table(KnowledgeBaseActivation)


def _lock_table(model: type[models.Model]) -> None:
    """Locks `model`'s table against other writers (never readers) until the transaction
    ends, on PostgreSQL; SQLite's IMMEDIATE transactions already order writers."""
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
