from django.urls import path

from surveys import views, wave_views

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
    path("waves/", wave_views.wave_list, name="waves"),
    path("waves/new/", wave_views.wave_create, name="wave_create"),
    path("waves/<slug:code>/", wave_views.wave_detail, name="wave"),
    path("waves/<slug:code>/edit/", wave_views.wave_edit, name="wave_edit"),
    path("waves/<slug:code>/close/", wave_views.wave_close, name="wave_close"),
    path("waves/<slug:code>/reopen/", wave_views.wave_reopen, name="wave_reopen"),
    path("waves/<slug:code>/response-rate/", wave_views.response_rate_panel, name="wave_rate_panel"),
    path("waves/<slug:code>/responses/", wave_views.wave_responses, name="wave_responses"),
    path("waves/<slug:code>/responses.xlsx", wave_views.wave_responses_xlsx, name="wave_responses_xlsx"),
    path("series/", wave_views.series_list, name="series"),
    path("questionnaires/", wave_views.questionnaire_list, name="questionnaires"),
    path("questionnaires/<int:pk>/", wave_views.questionnaire_edit, name="questionnaire"),
    path("questionnaires/<int:pk>/copy/", wave_views.questionnaire_new, name="questionnaire_copy"),
]
