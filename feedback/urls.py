"""URLs of the research bases, mounted at /feedback/."""

from django.urls import path

from feedback import views

app_name = "feedback"

urlpatterns = [
    path("", views.feedback_list_view, name="list"),
    path("new/", views.feedback_new_view, name="new"),
    path("owners/search/", views.feedback_owner_search_view, name="owner_search"),
    path("import/", views.feedback_import_view, name="import"),
    path("import/template.xlsx", views.feedback_import_template_view, name="import_template"),
    path("<int:pk>/", views.feedback_detail_view, name="detail"),
    path("<int:pk>/edit/", views.feedback_edit_view, name="edit"),
    path("ports/<str:port>/", views.feedback_port_view, name="port"),
    path("callbacks/", views.callback_due_view, name="callbacks"),
    path("callbacks/owners/<int:owner_id>/", views.callback_record_view, name="callback_record"),
    path("callbacks/owners/<int:owner_id>/phone/", views.callback_phone_view, name="callback_phone"),
    path("callbacks/rules/", views.callback_rules_view, name="callback_rules"),
    path("themes/<str:port>/", views.comment_themes_view, name="themes"),
    path("benchmarks/", views.benchmark_list_view, name="benchmarks"),
    path("benchmarks/new/", views.benchmark_new_view, name="benchmark_new"),
    path("benchmarks/import/", views.benchmark_import_view, name="benchmark_import"),
    path("benchmarks/<int:pk>/", views.benchmark_detail_view, name="benchmark_detail"),
]
