from django.urls import path

from periop.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.reports_index, name="index"),
    path("departments/<int:department_id>/", views.department_report_page, name="department"),
    path("departments/<int:department_id>/audit-log/", views.audit_log_page, name="audit-log"),
]
