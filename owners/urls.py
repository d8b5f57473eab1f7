from django.urls import path

from owners import views

app_name = "owners"

urlpatterns = [
    path("", views.owner_list, name="list"),
    path("new/", views.owner_new, name="create"),
]
