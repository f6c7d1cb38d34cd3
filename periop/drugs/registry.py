"""The active knowledge base: loaded and validated once at start-up, then shared read-only.

An invalid knowledge base stops start-up with a message naming the file and the entry, so a
server never runs on rules it could not fully check.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from periop.drugs.engine import KnowledgeBase, KnowledgeBaseError, load_knowledge_base

_active: KnowledgeBase | None = None


def knowledge_base_directory() -> Path:
    return Path(settings.KNOWLEDGE_BASE_DIR)


def load_active_knowledge_base() -> KnowledgeBase:
    """Loads (or reloads) the configured knowledge base and makes it the active one."""
    global _active
    directory = knowledge_base_directory()
    if not directory.is_dir():
        raise ImproperlyConfigured(f"Knowledge base directory {directory} does not exist.")
    try:
        _active = load_knowledge_base(directory)
    except KnowledgeBaseError as error:
        raise ImproperlyConfigured(f"Invalid knowledge base: {error}") from error
    return _active


def get_knowledge_base() -> KnowledgeBase:
    """The knowledge base every caution is evaluated against."""
    if _active is None:
        return load_active_knowledge_base()
    return _active


def active_knowledge_base_version() -> str:
    return get_knowledge_base().version
