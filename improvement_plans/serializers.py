"""API shapes of improvement plans and action items. Validation only: writes go through the plan services."""

from rest_framework import serializers

from core import text_limits
from core.api import CodeRelatedField
from departments.models import Department
from departments.ports import PortCode
from improvement_plans.models import (
    ActionItem,
    ComparisonKind,
    ImprovementPlan,
    ItemKind,
    ItemStatus,
    MeasureCategory,
)

PORT_OR_COMPANY = [("", "公司总体"), *PortCode.choices]


class ImprovementPlanSerializer(serializers.ModelSerializer):
    port = serializers.ChoiceField(choices=PORT_OR_COMPANY, read_only=True, help_text="空 = 公司总体计划")
    baseline_survey = serializers.CharField(source="baseline_survey.code", read_only=True, allow_null=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    submitted_by = serializers.CharField(source="submitted_by.username", read_only=True, allow_null=True)

    class Meta:
        model = ImprovementPlan
        fields = [
            "id", "year", "port", "status", "satisfaction_target", "loyalty_target", "directions", "feedback_summary",
            "baseline_survey", "baseline_satisfaction_rate", "baseline_satisfaction_ci_low",
            "baseline_satisfaction_ci_high", "baseline_n", "baseline_loyalty_rate", "baseline_loyalty_ci_low",
            "baseline_loyalty_ci_high", "baseline_loyalty_base", "created_by", "submitted_by", "version",
            "created_at", "updated_at",
        ]
        read_only_fields = fields


class PlanCreateSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    port = serializers.ChoiceField(choices=PORT_OR_COMPANY, allow_blank=True, help_text="空 = 公司总体计划")
    satisfaction_target = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True, default=None)
    loyalty_target = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True, default=None)
    directions = serializers.CharField(max_length=text_limits.LONG_TEXT, required=False, allow_blank=True, default="")
    feedback_summary = serializers.CharField(
        max_length=text_limits.LONG_TEXT, required=False, allow_blank=True, default=""
    )


class PlanCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(
        max_length=text_limits.NOTE, required=False, allow_blank=True, default="", help_text="审批意见；退回时必填"
    )


class ActionItemSerializer(serializers.ModelSerializer):
    comparison_kind = serializers.ChoiceField(
        choices=ComparisonKind.choices, allow_blank=True, read_only=True, help_text="流程试点的对比方式；空 = 不是流程试点"
    )
    responsible_department = serializers.CharField(source="responsible_department.code", read_only=True, allow_null=True)
    source_survey = serializers.CharField(source="source_survey.code", read_only=True, allow_null=True)

    class Meta:
        model = ActionItem
        fields = [
            "id", "plan", "kind", "title", "description", "measure_category", "responsible_department",
            "responsible_person", "due_on", "status", "promoted_at", "question_code", "source_survey",
            "question_rate", "question_n", "question_importance", "pilot_scope", "old_process", "new_process",
            "cost_analysis", "comparison_kind", "pilot_satisfied", "pilot_n", "comparison_satisfied", "comparison_n",
            "no_promise_to_owners", "outcome", "outcome_reference", "created_at", "updated_at",
        ]
        read_only_fields = fields


class ActionItemCreateSerializer(serializers.Serializer):
    """A confirmed improvement item, research topic or process pilot added to a draft plan by its drafter; an
    improvement item or research topic added to an approved or in-progress plan by its drafter or management."""

    plan = serializers.PrimaryKeyRelatedField(queryset=ImprovementPlan.objects.none())
    kind = serializers.ChoiceField(choices=ItemKind.choices, default=ItemKind.IMPROVEMENT)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=text_limits.TEXT, required=False, allow_blank=True, default="")
    measure_category = serializers.ChoiceField(choices=MeasureCategory.choices)
    responsible_department = CodeRelatedField(
        slug_field="code", queryset=Department.objects.order_by("code"), required=False, allow_null=True, default=None
    )
    responsible_person = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    due_on = serializers.DateField(required=False, allow_null=True, default=None)

    def __init__(self, *args, plans=None, **kwargs):
        super().__init__(*args, **kwargs)
        if plans is not None:
            self.fields["plan"].queryset = plans


class ProgressSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=text_limits.NOTE, help_text="进展说明")
    percent = serializers.IntegerField(min_value=0, max_value=100)
    status = serializers.ChoiceField(choices=ItemStatus.choices, required=False, allow_null=True, default=None)
