from django.urls import path

from periop.drugs.apis import (
    CheckApi,
    KnowledgeBaseApi,
    ReleaseActivateApi,
    TuningsApi,
    TuningSignOffApi,
)

urlpatterns = [
    path("checks", CheckApi.as_view(), name="checks"),
    path("knowledge-base", KnowledgeBaseApi.as_view(), name="knowledge-base"),
    path(
        "knowledge-base/releases/<str:version>/activate",
        ReleaseActivateApi.as_view(),
        name="knowledge-base-release-activate",
    ),
    path("knowledge-base/tunings", TuningsApi.as_view(), name="knowledge-base-tunings"),
    path(
        "knowledge-base/tunings/<int:pk>/sign-off",
        TuningSignOffApi.as_view(),
        name="knowledge-base-tuning-sign-off",
    ),
]
