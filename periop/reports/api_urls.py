from django.urls import path

from periop.reports.apis import DepartmentReportApi

urlpatterns = [
    path(
        "reports/departments/<int:department_id>",
        DepartmentReportApi.as_view(),
        name="department-report",
    ),
]
