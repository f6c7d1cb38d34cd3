"""Server processes starting together on a new database: each must start, and the configured
knowledge base must be stored and activated once.

Every server process runs `release_bootstrap` when it starts. With several workers started at
once on a database that holds no release yet, a worker that lost the race to store the release
used to stop with an IntegrityError ("Worker failed to boot"), and gunicorn shut the server down.
"""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from periop.audit.models import AuditEvent
from periop.audit.services import Actor
from periop.drugs import registry
from periop.drugs.models import KnowledgeBaseActivation, KnowledgeBaseRelease
from periop.drugs.releases import release_bootstrap, release_import

PROCESSES = 6


def all_at_once(works: list[Callable[[], object]]) -> tuple[list[object], list[BaseException]]:
    """Runs each of `works` in its own thread and connection, all released together; what
    they returned and what they raised."""
    start = threading.Barrier(len(works))
    results: list[object] = []
    failures: list[BaseException] = []

    def run(work: Callable[[], object]) -> None:
        try:
            start.wait(timeout=30)
            results.append(work())
        except BaseException as error:  # every failure is reported by the caller
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, failures


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_servers_starting_together_store_and_activate_the_knowledge_base_once(
    audit_guard_lifted, transactional_db, registry_restored
):
    assert not KnowledgeBaseActivation.objects.exists()

    results, failures = all_at_once([release_bootstrap] * PROCESSES)

    assert failures == []
    stored = [result for result in results if result is not None]
    assert len(stored) == 1, results  # one process stored it; the others found it active
    assert KnowledgeBaseRelease.objects.count() == 1
    assert KnowledgeBaseActivation.objects.count() == 1
    assert KnowledgeBaseActivation.objects.get().release == stored[0]
    events = AuditEvent.objects.filter(resource_type="knowledge-base-release")
    assert [event.action for event in events.order_by("sequence")] == ["create", "update"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_an_operators_import_during_the_first_start_stores_the_release_once(
    audit_guard_lifted, transactional_db, registry_restored
):
    # `manage.py knowledge_base import` of the configured directory while servers start: the
    # import used to find the release missing at the same moment as a server and then fail on
    # the unique version with an IntegrityError.
    assert not KnowledgeBaseRelease.objects.exists()

    def operator_import() -> bool:
        _, created = release_import(
            actor=Actor.system("manage.py"), directory=registry.knowledge_base_directory()
        )
        return created

    results, failures = all_at_once([release_bootstrap, operator_import] * (PROCESSES // 2))

    assert failures == []
    imports = [result for result in results if isinstance(result, bool)]
    assert len(imports) == PROCESSES // 2  # every operator's import finished
    assert KnowledgeBaseRelease.objects.count() == 1
    assert KnowledgeBaseActivation.objects.count() == 1
    creations = AuditEvent.objects.filter(resource_type="knowledge-base-release", action="create")
    assert creations.count() == 1
