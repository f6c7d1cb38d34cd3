"""Personas and clients shared by every test kind."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from periop.accounts.models import ApiToken, Department, Role, api_token_digest
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory

# CI runs the date-sensitive tests again with the clock moved to awkward instants (a new year in
# New York, a summer-time month end, years ahead), so that no test depends on the real date.
MOVED_CLOCK = "PERIOP_TEST_CLOCK"
_CLOCK = pytest.StashKey[Any]()


def moved_clock() -> dt.datetime | None:
    """The instant the test clock starts at, from `PERIOP_TEST_CLOCK` (ISO 8601 with an
    offset), or None to run at the real clock."""
    value = os.environ.get(MOVED_CLOCK, "").strip()
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise pytest.UsageError(f"{MOVED_CLOCK} needs a UTC offset: {value!r}")
    return moment


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_replica: runs against a real streaming replica (skipped without one)"
    )
    moment = moved_clock()
    if moment is not None:
        # The clock keeps ticking from there, so durations and timeouts behave as usual.
        traveller = time_machine.travel(moment, tick=True)
        traveller.start()
        config.stash[_CLOCK] = traveller


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(_CLOCK, None)
    if traveller is not None:
        traveller.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test has its own id. schemathesis names each API operation's test
    (`test_x[GET /api/v1/...]`) but leaves them all the function's id; pytest-xdist hands tests
    out by id, so all but one operation would silently never run. Each such test gets the id
    its name gives, and a collection with a duplicate id is refused."""
    seen: set[str] = set()
    for item in items:
        parent, name, function = item.parent, item.name, getattr(item, "originalname", "")
        if (
            parent is not None
            and name.startswith(f"{function}[")
            and item.nodeid == f"{parent.nodeid}::{function}"
        ):
            label = name.removeprefix(f"{function}[").removesuffix("]")
            item._id = parent.id.child(function).with_params(label)  # type: ignore[attr-defined]
        if item.nodeid in seen:
            raise pytest.UsageError(f"Two tests share the id {item.nodeid}.")
        seen.add(item.nodeid)


def pytest_report_header(config: pytest.Config) -> str | None:
    moment = moved_clock()
    return f"clock moved to {moment.isoformat()} ({MOVED_CLOCK})" if moment else None


# Production hashes passwords with PBKDF2 at Django's full work factor (about half a second a
# password on two cores). Tests create and sign in users by the thousand and test no password's
# strength, so they hash with a fast algorithm; the account commands' tests still check that the
# password set is the one that signs in. Tests that start `manage.py` as a subprocess keep the
# production hashers.
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=FAST_PASSWORD_HASHERS):
        yield


@pytest.fixture
def audit_lane(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ledger in four lanes; `audit_lane(n)` sends the next appends to lane n, as a
    connection holding that lane would."""
    from periop.audit import lanes

    settings.AUDIT_LANES = 4
    chosen = {"lane": 0}
    monkeypatch.setattr(lanes, "current_lane", lambda connection: chosen["lane"])

    def use(lane: int) -> None:
        chosen["lane"] = lane

    return use


@pytest.fixture(autouse=True)
def audit_checkpoint_file(tmp_path: Any, settings: Any) -> Any:
    """Every test writes ledger checkpoints into its own temporary file, never into the
    working tree, and starts with none; the automatic checkpoints are off (see below)."""
    path = tmp_path / "audit-checkpoints.jsonl"
    settings.AUDIT_CHECKPOINT_FILE = path
    # Tests run inside a transaction that never commits, so the ledger's automatic
    # checkpoints (written once an event commits) would never come and verification would
    # miss them: they are off, except in the tests of them (tests/db/test_audit_checkpoints.py).
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 0
    return path


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """Every test starts with an empty cache: counts such as the failed logins per address
    must not carry over from one test to the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def department(db: None) -> Department:
    return DepartmentFactory(code="main-theatres", name="Main theatres")


@pytest.fixture
def other_department(db: None) -> Department:
    return DepartmentFactory(code="day-surgery", name="Day surgery")


def _member(username: str, role: str, department: Department) -> Any:
    user = UserFactory(username=username)
    MembershipFactory(user=user, department=department, role=role)
    return user


@pytest.fixture
def anesthetist(department: Department) -> Any:
    return _member("dr-anesthetist", Role.ANESTHETIST, department)


def _reviewer(username: str, profession: str, department: Department) -> Any:
    from periop.accounts.services import profession_set

    user = _member(username, Role.KB_REVIEWER, department)
    profession_set(actor="tests", user=user, profession=profession)
    return user


@pytest.fixture
def consultant_reviewer(department: Department) -> Any:
    """A knowledge-base reviewer who signs off as a consultant anaesthetist."""
    return _reviewer("kb-consultant", "consultant-anaesthetist", department)


@pytest.fixture
def pharmacist_reviewer(department: Department) -> Any:
    """A knowledge-base reviewer who signs off as a clinical pharmacist."""
    return _reviewer("kb-pharmacist", "clinical-pharmacist", department)


@pytest.fixture
def pharmacist(department: Department) -> Any:
    return _member("pharmacist", Role.PHARMACIST, department)


@pytest.fixture
def auditor(department: Department) -> Any:
    return _member("auditor", Role.AUDITOR, department)


@pytest.fixture
def department_admin(department: Department) -> Any:
    return _member("department-admin", Role.ADMIN, department)


@pytest.fixture
def outsider(other_department: Department) -> Any:
    """An anesthetist of another department."""
    return _member("dr-outsider", Role.ANESTHETIST, other_department)


@pytest.fixture
def roleless_user(db: None) -> Any:
    return UserFactory(username="no-role")


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def api_token_for(user: Any) -> str:
    """A new API key for the user, stored hashed as `api_token_issue` stores it. Written in
    bulk, which sends no signals, so setting up a client appends nothing to the ledger (tests
    that count events count only what the request under test did)."""
    key = secrets.token_hex(20)
    ApiToken.objects.bulk_create(
        [ApiToken(user=user, prefix=key[:8], digest=api_token_digest(key))]
    )
    return key


def client_for(user: Any) -> APIClient:
    """An API client authenticated with the user's token, as a pharmacy system would be."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


@pytest.fixture
def pharmacist_client(pharmacist: Any) -> APIClient:
    return client_for(pharmacist)


@pytest.fixture
def anesthetist_client(anesthetist: Any) -> APIClient:
    return client_for(anesthetist)


@pytest.fixture
def auditor_client(auditor: Any) -> APIClient:
    return client_for(auditor)


# On a test that lifted the guards: pytest-django's database blocker, to put them back.
GUARDS_LIFTED = pytest.StashKey[Any]()


def _guard_modules() -> tuple[Any, ...]:
    """The modules of the append-only guards: the ledger, signed assessments, releases."""
    from periop.assessments import guards as assessment_guards
    from periop.audit import guards as audit_guards
    from periop.drugs import guards as drugs_guards

    return (audit_guards, assessment_guards, drugs_guards)


def _guards(change: str) -> None:
    """Installs or removes the append-only guards of the ledger and of signed assessments."""
    from django.db import connection

    for guards in _guard_modules():
        getattr(guards, change)(connection)


@pytest.fixture
def audit_guard_lifted(
    request: pytest.FixtureRequest, _django_db_helper: None, django_db_blocker: Any
) -> Iterator[None]:
    """For transactional tests (`transactional_db`, `live_server`, so every browser test, or
    `django_db(transaction=True)`): the append-only guards stay in place for the whole test,
    so what a test signs, prints or audits meets the same triggers as production. They are
    lifted only at teardown, so that the flush can empty the guarded tables: this fixture
    depends on pytest-django's database fixture, so it is torn down just before that flush,
    and the guards come back right after it (the hooks below). A test may list it anywhere.
    Production never runs this."""
    yield
    with django_db_blocker.unblock():
        _guards("remove")
    request.node.stash[GUARDS_LIFTED] = django_db_blocker


def _missing_guards() -> set[str]:
    """The append-only triggers expected on the test database but not installed there."""
    from django.db import connection

    return {
        trigger
        for guards in _guard_modules()
        for trigger in guards.expected_triggers(connection) - guards.installed_triggers(connection)
    }


def _guards_put_back(node: pytest.Item) -> None:
    """Puts the guards back, and fails the test's teardown unless every one is in place again:
    no later test in the process may run without them."""
    blocker = node.stash.get(GUARDS_LIFTED, None)
    if blocker is not None:
        del node.stash[GUARDS_LIFTED]
        with blocker.unblock():
            _guards("install")
            missing = _missing_guards()
        if missing:
            raise AssertionError(f"Guards not put back after the test: {sorted(missing)}")


def pytest_fixture_post_finalizer(fixturedef: Any, request: pytest.FixtureRequest) -> None:
    """Puts lifted guards back as soon as the test database is flushed or rolled back:
    pytest-django does that in this one fixture, however a test asks for the database."""
    if fixturedef.argname == "_django_db_helper":
        _guards_put_back(request.node)  # type: ignore[arg-type]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Should pytest-django's database fixture ever be renamed, puts the guards back after the
    whole teardown instead, unless that teardown has just destroyed the test database (after
    the session's last test)."""
    try:
        return (yield)
    finally:
        if nextitem is not None:
            _guards_put_back(item)


def audit_append_queries() -> int:
    """Statements one audit append costs: claim the next sequence, insert, move the head
    (PostgreSQL does the last two in one statement)."""
    from django.db import connection

    return 2 if connection.vendor == "postgresql" else 3


@pytest.fixture
def keep_test_connection():
    """For tests that call the WSGI application directly (schemathesis): Django closes the
    database connection around each request, which would end the test's transaction. Django's
    own test client disconnects the same handlers for the same reason."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


class _Unchanged:
    """What `nothing_changes` compares: every row of the clinical tables (so a row's version
    and content too) and the ledger's length and head."""

    @staticmethod
    def state(*, reads_allowed: bool) -> dict[str, Any]:
        from periop.assessments import models as clinical
        from periop.audit.models import AuditChainHead, AuditEvent

        tables = [
            clinical.Patient,
            clinical.PatientCondition,
            clinical.PatientMedication,
            clinical.PatientReceptorState,
            clinical.Assessment,
            clinical.Acknowledgement,
            clinical.AssessmentCaution,
            clinical.AssessmentConditionCode,
        ]
        state: dict[str, Any] = {
            model.__name__: list(model.objects.order_by("pk").values()) for model in tables
        }
        if reads_allowed:
            # A page that shows the form again with its errors shows the patient's data
            # again, and that disclosure is audited as a read; nothing else may be.
            state["ledger, other than reads"] = list(
                AuditEvent.objects.exclude(action__in=["read", "query"]).values_list(
                    "sequence", flat=True
                )
            )
        else:
            state["ledger length"] = AuditEvent.objects.count()
            state["ledger head"] = list(AuditChainHead.objects.values())
        return state


@contextmanager
def nothing_changes(*, reads_allowed: bool = False) -> Iterator[None]:
    """For refusals (400, 403, 404, 409, 412): the request changed no clinical row, no
    version, and appended nothing to the ledger. A status code alone would not show that.
    `reads_allowed`: for web forms shown again with their errors, which audit that read."""
    before = _Unchanged.state(reads_allowed=reads_allowed)
    yield
    after = _Unchanged.state(reads_allowed=reads_allowed)
    for name, rows in before.items():
        assert after[name] == rows, f"a refused request changed {name}"


# The read replica (periop.replica). Tests marked `real_replica` run against a streaming
# replica (`.ci/replica` starts one and sets DATABASE_REPLICA_URL); they need committed rows
# (`transaction=True`) and the `replica` alias among their databases.
REAL_REPLICA_MARK = "real_replica"
_DATABASE_FIXTURES = ("db", "transactional_db", "django_db_reset_sequences", "live_server")


@pytest.fixture(autouse=True)
def replica_follows_the_test_transaction(request: pytest.FixtureRequest) -> Iterator[None]:
    """With a replica configured, every test but those marked `real_replica` reads the
    replica alias through the primary's own connection: a test's rows are uncommitted (its
    transaction is rolled back at the end) and no other connection, replica or not, sees
    them. The test database must be set up first, so that pytest-django's guard against
    undeclared databases wraps the replica's connection, not the primary's."""
    from django.db import connections

    if "replica" not in connections.settings or request.node.get_closest_marker(REAL_REPLICA_MARK):
        yield
        return
    uses_database = request.node.get_closest_marker("django_db") or any(
        name in request.fixturenames for name in _DATABASE_FIXTURES
    )
    if uses_database:
        request.getfixturevalue("_django_db_helper")
    own = connections["replica"]
    connections["replica"] = connections["default"]
    try:
        yield
    finally:
        connections["replica"] = own


@pytest.fixture
def replica_mirror(db: None) -> Iterator[str]:
    """A `replica` alias for tests of the routing, when none is configured: a mirror of the
    test database (`TEST: {"MIRROR": "default"}`) served by the primary's connection. With a
    replica configured, that alias as the autouse fixture above arranged it."""
    from django.db import connections

    if "replica" in connections.settings:
        yield "replica"
        return
    connections.settings["replica"] = {
        **connections.settings["default"],
        "TEST": {**connections.settings["default"]["TEST"], "MIRROR": "default"},
    }
    connections["replica"] = connections["default"]
    try:
        yield "replica"
    finally:
        del connections["replica"]
        del connections.settings["replica"]


@pytest.fixture
def registry_restored() -> Iterator[None]:
    """Activating a knowledge-base release switches this process's knowledge base (a live
    server's too): put the configured one back."""
    from periop.drugs import registry

    active, recheck = registry._active, registry._recheck_at
    yield
    registry._active, registry._recheck_at = active, recheck
