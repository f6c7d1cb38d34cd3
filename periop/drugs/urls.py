from django.urls import path

from periop.drugs.apis import CheckApi, KnowledgeBaseApi

urlpatterns = [
    path("checks", CheckApi.as_view(), name="checks"),
    path("knowledge-base", KnowledgeBaseApi.as_view(), name="knowledge-base"),
]
