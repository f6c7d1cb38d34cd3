"""The active knowledge base, and every stored release by digest, compiled once per process.

At start-up the configured directory is loaded and validated (an invalid knowledge base stops
start-up with a message naming the file and the entry). A server then takes the active release
from the database (`start_up`, called by the WSGI/ASGI entry points): a deployment with no
release stored imports the configured directory and activates it. The active release is looked
up again every `KNOWLEDGE_BASE_RECHECK_SECONDS`, so every server of a group follows an
activation; the server that activates switches at once.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from periop.drugs.engine import KnowledgeBase, KnowledgeBaseError, load_knowledge_base
from periop.drugs.engine.loader import load_knowledge_base_texts

logger = logging.getLogger(__name__)

_active: KnowledgeBase | None = None
# Compiled releases by digest: a replay of an old assessment compiles its release once.
_compiled: dict[str, KnowledgeBase] = {}
# When to look up the active release in the database again (time.monotonic); None: never
# (before start-up, and in processes that never serve requests).
_recheck_at: float | None = None


class ReleaseUnavailable(LookupError):
    """No stored release (nor the configured directory) has this digest."""


def knowledge_base_directory() -> Path:
    return Path(settings.KNOWLEDGE_BASE_DIR)


def load_directory_knowledge_base() -> KnowledgeBase:
    """The validated knowledge base of the configured directory."""
    directory = knowledge_base_directory()
    if not directory.is_dir():
        raise ImproperlyConfigured(f"Knowledge base directory {directory} does not exist.")
    try:
        kb = load_knowledge_base(directory)
    except KnowledgeBaseError as error:
        raise ImproperlyConfigured(f"Invalid knowledge base: {error}") from error
    _compiled.setdefault(kb.digest, kb)
    return _compiled[kb.digest]


def load_active_knowledge_base() -> KnowledgeBase:
    """Loads (or reloads) the configured directory and makes it the active knowledge base."""
    global _active
    _active = load_directory_knowledge_base()
    return _active


def get_knowledge_base() -> KnowledgeBase:
    """The knowledge base every caution is evaluated against."""
    if _recheck_at is not None and time.monotonic() >= _recheck_at:
        _follow_database()
    if _active is None:
        return load_active_knowledge_base()
    return _active


def active_knowledge_base_version() -> str:
    return get_knowledge_base().version


def use(kb: KnowledgeBase) -> None:
    """Makes `kb` the active knowledge base of this process (after its activation commits)."""
    global _active
    _compiled.setdefault(kb.digest, kb)
    _active = kb


def use_compiled(kb: KnowledgeBase) -> None:
    """Keeps a compiled release (just imported and validated) for later look-ups."""
    _compiled.setdefault(kb.digest, kb)


def compile_release_texts(texts: dict[str, str], *, digest: str, label: str) -> KnowledgeBase:
    """The compiled release of stored texts, checked against the digest it was stored with."""
    if digest in _compiled:
        return _compiled[digest]
    try:
        kb = load_knowledge_base_texts(texts, label)
    except KnowledgeBaseError as error:
        raise ImproperlyConfigured(f"Invalid knowledge base: {error}") from error
    if kb.digest != digest:
        raise ImproperlyConfigured(
            f"Stored knowledge base {label} does not match its digest: stored {digest}, "
            f"content {kb.digest}."
        )
    _compiled[digest] = kb
    return kb


def knowledge_base_for_digest(digest: str) -> KnowledgeBase:
    """The release with this digest: compiled already, stored in the database, or the
    configured directory's. Raises ReleaseUnavailable."""
    if digest in _compiled:
        return _compiled[digest]
    from periop.drugs.models import KnowledgeBaseRelease

    release = KnowledgeBaseRelease.objects.filter(digest=digest).first()
    if release is not None:
        return compile_release_texts(
            release.texts(), digest=release.digest, label=f"release {release.version}"
        )
    if load_directory_knowledge_base().digest == digest:
        return _compiled[digest]
    raise ReleaseUnavailable(f"No stored knowledge-base release has the digest {digest}.")


def _follow_database() -> None:
    """Makes the database's active release this process's, and schedules the next look."""
    global _recheck_at
    from periop.drugs.models import KnowledgeBaseActivation

    _recheck_at = time.monotonic() + float(settings.KNOWLEDGE_BASE_RECHECK_SECONDS)
    try:
        activation = KnowledgeBaseActivation.objects.select_related("release").first()
    except DatabaseError:
        logger.warning("knowledge base: active release unreadable; keeping the current one")
        return
    if activation is None:
        return
    release = activation.release
    if _active is None or _active.digest != release.digest:
        use(
            compile_release_texts(
                release.texts(), digest=release.digest, label=f"release {release.version}"
            )
        )


def start_up() -> KnowledgeBase:
    """For a server process: stores and activates the configured directory when the database
    holds no release yet, then loads and validates the active release (an invalid one stops
    start-up) and follows later activations."""
    from periop.drugs.releases import release_bootstrap

    release_bootstrap()
    _follow_database()
    return get_knowledge_base()
