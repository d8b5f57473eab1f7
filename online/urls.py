from django.urls import path

from online import views

app_name = "online"

urlpatterns = [
    # Owners (public: the token is the key).
    path("o/<str:token>/", views.answer, name="answer"),
    path("o/<str:token>/thanks/", views.thanks, name="thanks"),
    # Staff.
    path("online/waves/<slug:code>/invitations/", views.invitations, name="invitations"),
    path("online/waves/<slug:code>/invitations/revoke/", views.invitations_revoke_view, name="invitations_revoke"),
    path("online/waves/<slug:code>/invitations.<str:fmt>", views.invitations_download, name="invitations_download"),
]
