from django.urls import path

from surveys import views

app_name = "surveys"

urlpatterns = [
    path("entry/", views.entry, name="entry"),
    path("entry/owners/", views.owner_search, name="owner_search"),
    path("entry/stage/", views.stage_preview, name="stage_preview"),
    path("responses/<int:pk>/", views.response_edit, name="response_edit"),
    path("imports/", views.import_history, name="import_history"),
    path("imports/new/", views.import_responses, name="import_responses"),
    path("imports/owners/", views.owners_import, name="import_owners"),
    path("imports/template.xlsx", views.import_template, name="import_template"),
    path("imports/<int:pk>/", views.import_job, name="import_job"),
    path("imports/<int:pk>/progress/", views.import_job_progress, name="import_job_progress"),
    path("imports/<int:pk>/errors.xlsx", views.import_job_errors, name="import_job_errors"),
]
