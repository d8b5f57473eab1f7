"""URLs of the follow-up tickets, mounted at /followup/."""

from django.urls import path

from followup import views

app_name = "followup"

urlpatterns = [
    path("", views.ticket_list_view, name="list"),
    path("<int:pk>/", views.ticket_detail_view, name="detail"),
    path("<int:pk>/assign/", views.ticket_assign_view, name="assign"),
    path("<int:pk>/note/", views.ticket_note_view, name="note"),
    path("<int:pk>/status/", views.ticket_status_view, name="status"),
    path("<int:pk>/phone/", views.ticket_phone_view, name="phone"),
    path("settings/", views.settings_view, name="settings"),
    path("rules/new/", views.rule_edit_view, name="rule_new"),
    path("rules/<int:pk>/", views.rule_edit_view, name="rule_edit"),
]
