"""Load test: the mix of a working theatre suite, driven by locust against 127.0.0.1 only.

    python bench/load_test.py [--seconds 60] [--users 16]

`load_test.py` prepares a scratch PostgreSQL database (seeded with `seed_demo`), starts
gunicorn and runs this file headless and bounded in time. Each simulated user, with one
clinician's API token and the browser sessions of that clinician and of the department's
auditor, picks:
- 70 %: `POST /api/v1/checks` (the contract's example patient, five drugs);
- 20 %: an assessment page (`GET /assessments/<id>/`) of a random sample of the seeded
  assessments, signed and drafts, over the whole seeded period;
- 10 %: a report page (`GET /reports/departments/<id>/`, the department's month to date).
"""

from __future__ import annotations

import json
import os
import random
from typing import Any
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task

CHECK_BODY = {
    "at": "2026-11-22T08:00:00+00:00",
    "patient": {"age_years": 34, "weight_kg": 62},
    "conditions": [
        {
            "code": "myasthenia-gravis",
            "onset": "2024-05-01",
            "attributes": {"antibody": "achr", "distribution": "generalized"},
        },
        {
            "code": "stroke",
            "onset": "2026-11-12T14:00:00+00:00",
            "attributes": {"motor_deficit": True},
        },
    ],
    "medications": [{"code": "pyridostigmine", "started": "2024-05-03", "stopped": None}],
    "drugs": ["succinylcholine", "rocuronium", "sugammadex", "neostigmine", "gentamicin"],
}


def _credentials() -> dict[str, Any]:
    with open(os.environ["PERIOP_LOAD_CREDENTIALS"], encoding="utf-8") as file:
        loaded: dict[str, Any] = json.load(file)
        return loaded


@events.test_start.add_listener
def _only_local(environment: Any, **kwargs: Any) -> None:
    host = urlsplit(environment.host or "").hostname
    if host != "127.0.0.1":
        raise SystemExit(f"The load test runs against 127.0.0.1 only, not {host!r}.")


class TheatreSuite(HttpUser):
    wait_time = between(0.05, 0.2)

    def on_start(self) -> None:
        self.credentials = _credentials()
        self.body = json.dumps(CHECK_BODY)
        self.token = {"Authorization": f"Token {self.credentials['token']}"}
        self.clinician = {"sessionid": self.credentials["clinician_session"]}
        self.auditor = {"sessionid": self.credentials["auditor_session"]}
        # The first page of a session stores the user's department in it.
        self.client.get("/", cookies=self.clinician, name="first page")
        self.client.get("/reports/", cookies=self.auditor, name="first page")

    @task(70)
    def check(self) -> None:
        self.client.post(
            "/api/v1/checks",
            data=self.body,
            headers={**self.token, "Content-Type": "application/json"},
            name="POST /api/v1/checks",
        )

    @task(20)
    def assessment_page(self) -> None:
        assessment = random.choice(self.credentials["assessments"])
        self.client.get(
            f"/assessments/{assessment}/", cookies=self.clinician, name="GET /assessments/<id>/"
        )

    @task(10)
    def report_page(self) -> None:
        self.client.get(
            f"/reports/departments/{self.credentials['department']}/",
            cookies=self.auditor,
            name="GET /reports/departments/<id>/",
        )
