"""Dashboards (/dashboards/): company overview, port dashboards, project score cards, each with its JSON."""

from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("data.json", views.overview_data, name="overview_data"),
    path("ports/<str:port>/", views.port_dashboard, name="port"),
    path("ports/<str:port>/data.json", views.port_data, name="port_data"),
    path("projects/", views.project_list, name="projects"),
    path("projects/<str:code>/", views.project_scorecard, name="project"),
    path("projects/<str:code>/data.json", views.project_data, name="project_data"),
    path("projects/<str:code>/scorecard.xlsx", views.project_xlsx, name="project_xlsx"),
]
