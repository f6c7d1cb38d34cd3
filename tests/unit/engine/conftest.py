"""Fixtures for the engine tests, which run without Django.

Run them with `python -m pytest -p no:django --confcutdir=tests/unit/engine tests/unit/engine`:
the cut keeps the Django personas of `tests/conftest.py` out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.engine.builders import KnowledgeFiles


@pytest.fixture
def kb_files(tmp_path: Path) -> KnowledgeFiles:
    """The synthetic knowledge base, to change and then load."""
    return KnowledgeFiles(tmp_path)
