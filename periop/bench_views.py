"""Benchmark-only endpoints (`bench/http_bench.py`), mounted only when `BENCH_ENDPOINTS` is on
(`PERIOP_BENCH_ENDPOINTS=true`); never part of a deployment.

`POST /api/v1/bench/audited` is the audited baseline of the check: the same authentication,
the same read of the caller's checking departments (with their tunings in force, one
statement, as the check's permission reads them) and JSON parsing, then one audit append with
the same commit and a payload of the same shape, and a tiny answer. What a check costs beyond
it is the check's own code.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from periop.audit.models import Action
from periop.audit.services import Actor, audit_event_append
from periop.drugs.apis import CheckApi
from periop.drugs.services import input_digest


class AuditedBaselineApi(APIView):
    permission_classes = CheckApi.permission_classes
    check_department_ids: set[int]

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        department_ids = sorted(self.check_department_ids)
        audit_event_append(
            actor=Actor.from_request(request),
            action=Action.QUERY,
            resource_type="check",
            data_category="nmj-drug-check",
            department_id=department_ids[0] if len(department_ids) == 1 else None,
            data_time=timezone.now(),
            payload={
                "input_digest": input_digest(request.data),
                "knowledge_base": {"version": "bench", "digest": "bench"},
                "cautions": {drug: "none" for drug in request.data.get("drugs", [])},
            },
        )
        return Response({"ok": True})
