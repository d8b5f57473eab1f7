"""API endpoints of improvement plans and action items: scope from ``plans_visible_to``, writes via the services."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import IntegerFilter
from departments.permissions import HasRole
from improvement_plans.models import ActionItem, ImprovementPlan, ItemKind, ItemStatus, PlanStatus
from improvement_plans.selectors import plans_visible_to
from improvement_plans.serializers import (
    ActionItemCreateSerializer,
    ActionItemSerializer,
    ImprovementPlanSerializer,
    PlanCommentSerializer,
    PlanCreateSerializer,
    ProgressSerializer,
)
from improvement_plans.services import (
    action_item_create,
    action_item_progress_add,
    plan_approve,
    plan_create,
    plan_return,
    plan_submit,
)


class PlanFilter(django_filters.FilterSet):
    year = IntegerFilter(min_value=2000, max_value=2100)
    port = django_filters.CharFilter(help_text="端口编码；空 = 公司总体计划")
    status = django_filters.ChoiceFilter(choices=PlanStatus.choices)

    class Meta:
        model = ImprovementPlan
        fields = ["year", "port", "status"]


class ImprovementPlanViewSet(viewsets.ReadOnlyModelViewSet):
    """提升计划 (plans). Heads draft and submit their port's plan; management approves or returns it."""

    serializer_class = ImprovementPlanSerializer
    permission_classes = [HasRole]
    filterset_class = PlanFilter

    def get_queryset(self):
        return plans_visible_to(self.request.user).select_related(
            "baseline_survey", "created_by", "submitted_by"
        ).order_by("-year", "port", "id")

    @extend_schema(request=PlanCreateSerializer, responses={201: ImprovementPlanSerializer})
    def create(self, request, *args, **kwargs):
        serializer = PlanCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = plan_create(user=request.user, **serializer.validated_data)
        return Response(self.get_serializer(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ImprovementPlanSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        plan = plan_submit(plan=self.get_object(), user=request.user)
        return Response(self.get_serializer(plan).data)

    @extend_schema(request=PlanCommentSerializer, responses={200: ImprovementPlanSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        body = PlanCommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = plan_approve(plan=self.get_object(), user=request.user, comment=body.validated_data["comment"])
        return Response(self.get_serializer(plan).data)

    @extend_schema(request=PlanCommentSerializer, responses={200: ImprovementPlanSerializer})
    @action(detail=True, methods=["post"], url_path="return")
    def return_to_drafter(self, request, pk=None):
        body = PlanCommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = plan_return(plan=self.get_object(), user=request.user, comment=body.validated_data["comment"])
        return Response(self.get_serializer(plan).data)


class ActionItemFilter(django_filters.FilterSet):
    plan = IntegerFilter(field_name="plan_id")
    kind = django_filters.ChoiceFilter(choices=ItemKind.choices)
    status = django_filters.ChoiceFilter(choices=ItemStatus.choices)

    class Meta:
        model = ActionItem
        fields = ["plan", "kind", "status"]


class ActionItemViewSet(viewsets.ReadOnlyModelViewSet):
    """行动项 (action items) of the plans this user may see; the drafter adds them, the responsible heads report progress."""

    serializer_class = ActionItemSerializer
    permission_classes = [HasRole]
    filterset_class = ActionItemFilter

    def get_queryset(self):
        return (
            ActionItem.objects.filter(plan__in=plans_visible_to(self.request.user))
            .select_related("responsible_department", "source_survey")
            .order_by("plan_id", "kind", "id")
        )

    @extend_schema(request=ActionItemCreateSerializer, responses={201: ActionItemSerializer})
    def create(self, request, *args, **kwargs):
        body = ActionItemCreateSerializer(data=request.data, plans=plans_visible_to(request.user).order_by("id"))
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        item = action_item_create(plan=fields.pop("plan"), user=request.user, **fields)
        return Response(self.get_serializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProgressSerializer, responses={201: ActionItemSerializer})
    @action(detail=True, methods=["post"])
    def progress(self, request, pk=None):
        item = self.get_object()
        body = ProgressSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        action_item_progress_add(item=item, user=request.user, **body.validated_data)
        item.refresh_from_db()
        return Response(self.get_serializer(item).data, status=status.HTTP_201_CREATED)
