"""Deployment checks of the service as a whole (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def no_benchmark_endpoints(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The benchmarks' audited baseline writes to the ledger for any authenticated caller and
    serves no clinical purpose: it must never be mounted in a deployment."""
    if not settings.BENCH_ENDPOINTS:
        return []
    return [
        Error(
            "PERIOP_BENCH_ENDPOINTS is on: the benchmark endpoints (/api/v1/bench/...) are "
            "mounted.",
            hint="Unset PERIOP_BENCH_ENDPOINTS; only bench/http_bench.py sets it, on a "
            "scratch database.",
            id="periop.E001",
        )
    ]
