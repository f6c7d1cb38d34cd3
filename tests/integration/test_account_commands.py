import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from periop.accounts import services
from periop.accounts.models import Department, Membership

STRONG_PASSWORD = "a-long-and-unguessable-passphrase-17"


@pytest.mark.django_db
def test_create_department_creates_it(capsys):
    call_command(
        "create_department", "icu", "--name", "Intensive care", "--time-zone", "Europe/Oslo"
    )

    department = Department.objects.get(code="icu")
    assert department.name == "Intensive care"
    assert department.time_zone == "Europe/Oslo"
    assert "Created department icu" in capsys.readouterr().out


@pytest.mark.django_db
def test_create_department_rejects_an_unknown_time_zone():
    with pytest.raises(CommandError, match="time_zone: Unknown time zone 'Mars/Olympus'"):
        call_command("create_department", "icu", "--name", "ICU", "--time-zone", "Mars/Olympus")

    assert not Department.objects.exists()


@pytest.mark.django_db
def test_create_department_rejects_a_duplicate_code(department):
    with pytest.raises(CommandError, match="code: Department with this Code already exists"):
        call_command("create_department", department.code, "--name", "Again")


@pytest.mark.django_db
def test_create_user_takes_the_password_from_the_environment(monkeypatch, department, capsys):
    monkeypatch.setenv("PERIOP_USER_PASSWORD", STRONG_PASSWORD)

    call_command("create_user", "dr-who", "--role", "anesthetist", "--department", department.code)

    user = get_user_model().objects.get(username="dr-who")
    assert user.check_password(STRONG_PASSWORD)
    assert Membership.objects.get(user=user).role == "anesthetist"
    assert "Created user dr-who as anesthetist in main-theatres." in capsys.readouterr().out


@pytest.mark.django_db
def test_create_user_never_accepts_the_password_as_an_argument(department):
    with pytest.raises(CommandError, match="unrecognized arguments: --password"):
        call_command(
            "create_user",
            "dr-who",
            "--role",
            "anesthetist",
            "--department",
            department.code,
            "--password",
            STRONG_PASSWORD,
        )


@pytest.mark.django_db
def test_create_user_without_a_password_and_without_input_fails(monkeypatch, department):
    monkeypatch.delenv("PERIOP_USER_PASSWORD", raising=False)

    with pytest.raises(CommandError, match="No password: set PERIOP_USER_PASSWORD"):
        call_command(
            "create_user",
            "dr-who",
            "--role",
            "pharmacist",
            "--department",
            department.code,
            "--no-input",
        )


@pytest.mark.django_db
def test_create_user_prompts_twice_for_the_password(monkeypatch, department):
    monkeypatch.delenv("PERIOP_USER_PASSWORD", raising=False)
    answers = iter([STRONG_PASSWORD, STRONG_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    call_command("create_user", "dr-who", "--role", "auditor", "--department", department.code)

    assert get_user_model().objects.get(username="dr-who").check_password(STRONG_PASSWORD)


@pytest.mark.django_db
def test_create_user_rejects_a_weak_password(monkeypatch, department):
    monkeypatch.setenv("PERIOP_USER_PASSWORD", "password")

    with pytest.raises(CommandError, match="This password is too short"):
        call_command("create_user", "dr-who", "--role", "auditor", "--department", department.code)

    assert not get_user_model().objects.filter(username="dr-who").exists()


@pytest.mark.django_db
def test_create_user_rejects_an_unknown_department(monkeypatch):
    monkeypatch.setenv("PERIOP_USER_PASSWORD", STRONG_PASSWORD)

    with pytest.raises(CommandError, match="No department with code 'nowhere'"):
        call_command("create_user", "dr-who", "--role", "auditor", "--department", "nowhere")


@pytest.mark.django_db
def test_create_user_rejects_an_unknown_role(department):
    with pytest.raises(CommandError, match="invalid choice: 'surgeon'"):
        call_command("create_user", "dr-who", "--role", "surgeon", "--department", department.code)


@pytest.mark.django_db
def test_create_user_rejects_an_existing_username(monkeypatch, anesthetist, department):
    monkeypatch.setenv("PERIOP_USER_PASSWORD", STRONG_PASSWORD)

    with pytest.raises(CommandError, match="A user named 'dr-anesthetist' already exists"):
        call_command(
            "create_user", "dr-anesthetist", "--role", "auditor", "--department", department.code
        )


@pytest.mark.django_db
def test_create_user_can_issue_an_api_token_for_a_system(monkeypatch, department, capsys):
    monkeypatch.setenv("PERIOP_USER_PASSWORD", STRONG_PASSWORD)

    call_command(
        "create_user",
        "pharmacy-system",
        "--role",
        "pharmacist",
        "--department",
        department.code,
        "--api-token",
    )

    token = capsys.readouterr().out.split("API token (shown once): ")[1].strip()
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/me").json()["username"] == "pharmacy-system"


@pytest.mark.django_db
def test_demo_setup_creates_one_user_per_role_with_random_passwords(capsys):
    call_command("demo_setup")

    output = capsys.readouterr().out
    users = get_user_model().objects.filter(username__startswith="demo-")
    assert sorted(users.values_list("username", flat=True)) == [
        "demo-admin",
        "demo-anesthetist",
        "demo-auditor",
        "demo-kb-anaesthetist",
        "demo-kb-pharmacist",
        "demo-pharmacist",
    ]
    for user in users:
        line = next(line for line in output.splitlines() if line.strip().startswith(user.username))
        password = line.split()[-1]
        assert user.check_password(password)
        assert len(password) >= 20


@pytest.mark.django_db
def test_demo_setup_does_not_print_or_change_passwords_again(capsys):
    call_command("demo_setup")
    first = capsys.readouterr().out
    call_command("demo_setup")
    second = capsys.readouterr().out

    assert "shown once" in first
    assert "already exist" in second
    assert "demo-admin " not in second


def test_a_random_password_too_similar_to_the_username_is_drawn_again(monkeypatch):
    # A draw the similarity validator refuses for "demo-kb-anaesthetist" (seen in a real run).
    user = get_user_model()(username="demo-kb-anaesthetist")
    refused, accepted = "WeiKradEoB-KESsnPktq", "q7Zx-2LmPw9RtYv8NcJd"
    with pytest.raises(ValidationError, match="similar to the username"):
        validate_password(refused, user)
    draws = iter([refused, accepted])
    monkeypatch.setattr(services.secrets, "token_urlsafe", lambda length: next(draws))

    assert services.random_password(user) == accepted


def test_random_passwords_are_refused_loudly_when_no_draw_passes(monkeypatch):
    monkeypatch.setattr(services.secrets, "token_urlsafe", lambda length: "demo-kb-anaesthetist")

    with pytest.raises(RuntimeError, match="refused 100"):
        services.random_password(get_user_model()(username="demo-kb-anaesthetist"))
