"""The benchmark's audited baseline (periop.bench_views) exists only when a benchmark asks for
it: never in a default or production configuration."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse

from tests.integration.test_settings import PRODUCTION_ENVIRONMENT, run_manage

SHOW = "from django.urls import reverse; print(reverse('api-v1:bench-audited'))"


@pytest.mark.django_db
def test_the_audited_baseline_is_absent_by_default(pharmacist_client):
    with pytest.raises(NoReverseMatch):
        reverse("api-v1:bench-audited")
    response = pharmacist_client.post("/api/v1/bench/audited", {"drugs": []}, format="json")
    assert response.status_code == 404


def test_production_settings_do_not_mount_it():
    result = run_manage("shell", "-c", SHOW, environment=PRODUCTION_ENVIRONMENT)
    assert result.returncode != 0
    assert "NoReverseMatch" in result.stderr


def test_the_benchmark_setting_mounts_it():
    result = run_manage(
        "shell",
        "-c",
        SHOW,
        environment={**PRODUCTION_ENVIRONMENT, "PERIOP_BENCH_ENDPOINTS": "true"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "/api/v1/bench/audited"


def test_check_deploy_fails_while_the_benchmark_endpoints_are_mounted():
    result = run_manage(
        "check",
        "--deploy",
        environment={**PRODUCTION_ENVIRONMENT, "PERIOP_BENCH_ENDPOINTS": "true"},
    )

    assert result.returncode != 0
    assert "periop.E001" in result.stderr + result.stdout
