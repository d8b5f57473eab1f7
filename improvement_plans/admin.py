"""Django admin for plans: for the administrator to look and mend; the workflow itself runs through the pages."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from improvement_plans.models import ActionItem, ImprovementPlan, PlanComment, PlanTransition, ProgressNote


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    extra = 0
    fields = ["kind", "title", "measure_category", "responsible_department", "due_on", "status"]
    show_change_link = True


class PlanTransitionInline(admin.TabularInline):
    model = PlanTransition
    extra = 0
    fields = ["at", "action", "from_status", "to_status", "by", "comment"]
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = _("流转记录")

    def has_add_permission(self, request, obj=None):
        return False


class PlanCommentInline(admin.TabularInline):
    model = PlanComment
    extra = 0
    fields = ["created_at", "author", "text"]
    readonly_fields = ["created_at", "author"]


@admin.register(ImprovementPlan)
class ImprovementPlanAdmin(SimpleHistoryAdmin):
    list_display = ["year", "port", "status", "satisfaction_target", "loyalty_target", "submitted_by", "updated_at"]
    list_filter = ["year", "port", "status"]
    readonly_fields = ["status", "version", "submitted_by", "created_by", "created_at", "updated_at"]
    inlines = [ActionItemInline, PlanTransitionInline, PlanCommentInline]
    fieldsets = [
        (None, {"fields": ["year", "port", "status", "version"]}),
        (_("目标与方向"), {"fields": ["satisfaction_target", "loyalty_target", "directions", "feedback_summary"]}),
        (
            _("基线"),
            {
                "fields": [
                    "baseline_survey",
                    "baseline_satisfaction_rate",
                    "baseline_satisfaction_ci_low",
                    "baseline_satisfaction_ci_high",
                    "baseline_n",
                    "baseline_loyalty_rate",
                    "baseline_loyalty_ci_low",
                    "baseline_loyalty_ci_high",
                    "baseline_loyalty_base",
                ]
            },
        ),
        (_("记录"), {"fields": ["created_by", "submitted_by", "created_at", "updated_at"]}),
    ]


class ProgressNoteInline(admin.TabularInline):
    model = ProgressNote
    extra = 0
    fields = ["created_at", "author", "percent", "text"]


@admin.register(ActionItem)
class ActionItemAdmin(SimpleHistoryAdmin):
    list_display = ["title", "plan", "kind", "measure_category", "responsible_department", "due_on", "status"]
    list_filter = ["kind", "status", "measure_category", "plan__year"]
    search_fields = ["title", "description", "question_code"]
    list_select_related = ["plan", "responsible_department"]
    inlines = [ProgressNoteInline]


@admin.register(PlanTransition)
class PlanTransitionAdmin(admin.ModelAdmin):
    list_display = ["plan", "action", "from_status", "to_status", "by", "at"]
    list_filter = ["action"]
    list_select_related = ["plan", "by"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PlanComment)
class PlanCommentAdmin(admin.ModelAdmin):
    list_display = ["plan", "author", "created_at"]
    list_select_related = ["plan", "author"]
