from django.urls import path

from online import messaging_views, views

app_name = "online"

urlpatterns = [
    # Owners (public: the token is the key).
    path("o/<str:token>/", views.answer, name="answer"),
    path("o/<str:token>/thanks/", views.thanks, name="thanks"),
    path("o/<str:token>/stop/", messaging_views.stop, name="stop"),
    path("o/p/<str:token>/", messaging_views.project_link, name="project_link"),
    # Staff.
    path("online/waves/<slug:code>/invitations/", views.invitations, name="invitations"),
    path("online/waves/<slug:code>/invitations/revoke/", views.invitations_revoke_view, name="invitations_revoke"),
    path("online/waves/<slug:code>/invitations.<str:fmt>", views.invitations_download, name="invitations_download"),
    # Staff: invitations by SMS / e-mail, reminders, QR codes (online/messaging_views.py).
    path("online/waves/<slug:code>/messages/", messaging_views.messaging, name="messaging"),
    path("online/waves/<slug:code>/qr.pdf", messaging_views.qr_pdf, name="qr_pdf"),
    path("online/waves/<slug:code>/projects/<str:project_code>/poster.pdf", messaging_views.project_poster,
         name="project_poster"),
]
