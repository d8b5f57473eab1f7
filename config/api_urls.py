"""The REST API under /api/: v1 resources, the token endpoint, the OpenAPI schema and its docs page."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from core.token_views import TokenLogoutView, TokenView
from feedback.api import FeedbackViewSet
from improvement_plans.api import ActionItemViewSet, ImprovementPlanViewSet
from owners.api import OwnerViewSet, ProjectViewSet
from satisfaction.api import MetricRowsView
from surveys.api import (
    ImportJobViewSet,
    QuestionnaireViewSet,
    QuestionViewSet,
    ResponseViewSet,
    SurveySeriesViewSet,
    SurveyViewSet,
)

router = DefaultRouter()
router.register("projects", ProjectViewSet, basename="project")
router.register("owners", OwnerViewSet, basename="owner")
router.register("surveys", SurveyViewSet, basename="survey")
router.register("survey-series", SurveySeriesViewSet, basename="survey-series")
router.register("questionnaires", QuestionnaireViewSet, basename="questionnaire")
router.register("questions", QuestionViewSet, basename="question")
router.register("responses", ResponseViewSet, basename="response")
router.register("imports", ImportJobViewSet, basename="import")
router.register("feedback", FeedbackViewSet, basename="feedback")
router.register("plans", ImprovementPlanViewSet, basename="plan")
router.register("action-items", ActionItemViewSet, basename="action-item")

urlpatterns = [
    path("v1/auth/token/", TokenView.as_view(), name="api-token"),
    path("v1/auth/logout/", TokenLogoutView.as_view(), name="api-logout"),
    path("v1/metrics/", MetricRowsView.as_view(), name="api-metrics"),
    path("v1/", include((router.urls, "api"))),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
]
