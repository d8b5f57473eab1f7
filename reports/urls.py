"""Report packs and score cards as PDF (/reports/)."""

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("pack.pdf", views.pack_pdf, name="pack"),
    path("projects/<str:code>/scorecard.pdf", views.project_scorecard_pdf, name="project_scorecard"),
]
