"""The review of a candidate knowledge-base release before activation."""

from __future__ import annotations

from periop.drugs.models import KnowledgeBaseRelease


def activation_blockers(
    release: KnowledgeBaseRelease, active: KnowledgeBaseRelease | None
) -> list[str]:
    """Why `release` cannot replace `active` yet; empty when it can. The first release of a
    deployment (nothing active) has nothing to be compared with."""
    return []
