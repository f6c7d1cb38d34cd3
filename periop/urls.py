"""Root URLs: the health probe, the admin, version 1 of the API and the pre-op pages."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from periop.accounts.apis import MeApi
from periop.health.views import health

api_v1: list[URLPattern | URLResolver] = [
    path("", include("periop.drugs.urls")),
    path("", include("periop.audit.urls")),
    path("", include("periop.assessments.urls")),
    path("", include("periop.reports.api_urls")),
    path("me", MeApi.as_view(), name="me"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script from its own URL (`?script`), so the
    # page keeps the content security policy of every other page: no inline script.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-v1:schema", template_name="api_docs.html"
        ),
        name="docs",
    ),
]

if settings.BENCH_ENDPOINTS:
    # Benchmarks only (bench/http_bench.py); off unless PERIOP_BENCH_ENDPOINTS is true.
    from periop.bench_views import AuditedBaselineApi

    api_v1.append(path("bench/audited", AuditedBaselineApi.as_view(), name="bench-audited"))


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico where a page names no icon (a PDF, a JSON answer)."""
    return HttpResponseRedirect(static("periop/favicon.svg"))


urlpatterns = [
    path("health", health, name="health"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api-v1"))),
    path("reports/", include("periop.reports.urls")),
    path("", include("periop.interop.cds_hooks.urls")),
    path("fhir/", include("periop.interop.fhir.urls")),
    path("", include("periop.web.urls")),
]

# The 403 and 404 pages show the user's department in the header, like every other page.
handler403 = "periop.web.views.errors.permission_denied"
handler404 = "periop.web.views.errors.not_found"
handler500 = "periop.views.server_error"
