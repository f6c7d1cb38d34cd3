from django.urls import path

from periop.drugs.apis import CheckApi, KnowledgeBaseApi, ReleaseActivateApi

urlpatterns = [
    path("checks", CheckApi.as_view(), name="checks"),
    path("knowledge-base", KnowledgeBaseApi.as_view(), name="knowledge-base"),
    path(
        "knowledge-base/releases/<str:version>/activate",
        ReleaseActivateApi.as_view(),
        name="knowledge-base-release-activate",
    ),
]
