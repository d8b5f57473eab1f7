"""Plan pages under /plans/.

``plans:action_item_new`` (/plans/action-items/new/) accepts GET parameters from other pages:
``port`` (port code, '' = company plan: offers only that port's draft plans), ``item`` + ``survey`` (question code
and survey code: prefill the item and store the question's rate, n and driver importance), ``kind``
(improvement | research | pilot), ``title``, and ``plan`` (a plan id to preselect).
"""

from django.urls import path

from improvement_plans import views

app_name = "plans"

urlpatterns = [
    path("", views.plan_list, name="plan_list"),
    path("new/", views.plan_create, name="plan_new"),
    path("<int:pk>/", views.plan_detail, name="plan_detail"),
    path("<int:pk>/edit/", views.plan_edit, name="plan_edit"),
    path("<int:pk>/comments/", views.plan_comment, name="plan_comment"),
    path("<int:pk>/<str:action>/", views.plan_transition, name="plan_transition"),
    path("groups/", views.group_list, name="group_list"),
    path("groups/new/", views.group_edit, name="group_new"),
    path("groups/<int:pk>/", views.group_detail, name="group_detail"),
    path("groups/<int:pk>/edit/", views.group_edit, name="group_edit"),
    path("groups/<int:pk>/meetings/", views.group_meeting_add, name="group_meeting_add"),
    path("groups/meetings/<int:pk>/decisions/", views.group_decision_add, name="group_decision_add"),
    path("action-items/new/", views.action_item_new, name="action_item_new"),
    path("action-items/<int:pk>/", views.action_item_detail, name="action_item_detail"),
    path("action-items/<int:pk>/edit/", views.action_item_edit, name="action_item_edit"),
    path("action-items/<int:pk>/progress/", views.action_item_progress, name="action_item_progress"),
    path("action-items/<int:pk>/pilot/", views.action_item_pilot, name="action_item_pilot"),
    path("action-items/<int:pk>/promote/", views.action_item_promote, name="action_item_promote"),
]
